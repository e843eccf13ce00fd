package pathfact

import (
	"strings"
	"testing"
)

func TestSensitiveDefaults(t *testing.T) {
	fx := newFixture(t, nil)
	for _, tc := range []struct {
		raw    string
		reason string
	}{
		// SSH.
		{"~/.ssh", "ssh keys and configuration"},
		{"~/.ssh/config", "ssh keys and configuration"},
		{"~/.ssh/authorized_keys", "ssh keys and configuration"},
		{"$B/root/proj/id_rsa", "ssh private keys"},
		{"$B/root/proj/id_rsa.pub", "ssh private keys"},
		{"$B/root/proj/id_dsa", "ssh private keys"},
		{"$B/root/proj/id_ecdsa", "ssh private keys"},
		{"$B/root/proj/id_ed25519_sk", "ssh private keys"},
		{"$B/root/proj/ID_RSA", "ssh private keys"},
		{"$B/root/proj/server.pem", "private keys and certificates"},
		{"$B/root/proj/tls/server.KEY", "private keys and certificates"},
		{"$B/root/proj/client.p12", "private keys and certificates"},
		// GPG.
		{"~/.gnupg/pubring.kbx", "gpg keys"},
		// Cloud credentials.
		{"~/.aws/credentials", "cloud credentials (aws)"},
		{"~/.config/gcloud/application_default_credentials.json", "cloud credentials (gcloud)"},
		{"~/.azure/accessTokens.json", "cloud credentials (azure)"},
		{"~/.kube/config", "cloud credentials (kubernetes)"},
		{"~/.docker/config.json", "cloud credentials (docker registries)"},
		// Shell history.
		{"~/.bash_history", "shell history"},
		{"~/.zsh_history", "shell history"},
		{"~/.history", "shell history"},
		{"~/.python_history", "shell history"},
		{"~/.node_repl_history", "shell history"},
		// .env files.
		{".env", "environment files"},
		{"sub/.env.production", "environment files"},
		{"/srv/app/.env", "environment files"},
		// System files.
		{"/etc/shadow", "system password hashes"},
		{"/etc/gshadow", "system password hashes"},
		{"/etc/sudoers", "sudo configuration"},
		{"/etc/sudoers.d/90-cloud-init-users", "sudo configuration"},
		// Credential files.
		{"~/.netrc", "credential files"},
		{"~/.git-credentials", "credential files"},
		{"~/.npmrc", "credential files"},
		{"~/.pypirc", "credential files"},
		// Password stores and browsers.
		{"~/.password-store/email/gmail.gpg", "password stores"},
		{"~/.mozilla/firefox/abc.default/logins.json", "browser profiles"},
		// Reached through the home directory's own link, or case.
		{"$B/homelink/.ssh/id_rsa", "ssh keys and configuration"},
		{"~/.SSH/known_hosts", "ssh keys and configuration"},
		// Not sensitive.
		{"~/.ssh-notes", ""},
		{"~/projects/ssh/notes.md", ""},
		{"~/.kube/cache/x", ""},
		{"~/.aws-backup/readme", ""},
		{".environment", ""},
		{"env", ""},
		{"/etc/passwd", ""},
		{"/etc/shadows", ""},
		{"$B/root/proj/keys.txt", ""},
		{"$B/root/proj/id.rsa", ""},
	} {
		f := fx.a.Analyze("", fx.p(tc.raw))
		if f.Error != "" {
			t.Errorf("%s: %s", tc.raw, f.Error)
			continue
		}
		if f.SensitiveReason != tc.reason || f.Sensitive != (tc.reason != "") {
			t.Errorf("%s (%s): sensitive %v %q, want %q", tc.raw, f.Canonical, f.Sensitive, f.SensitiveReason, tc.reason)
		}
	}
}

func TestSensitiveExtra(t *testing.T) {
	fx := newFixture(t, func(o *Options) {
		o.Sensitive = []string{"~/.config/sovereign/**", "/srv/keys/*.bin", "audit/**", "secret.*"}
	})
	for _, tc := range []struct {
		raw    string
		reason string
	}{
		{"~/.config/sovereign/config.yaml", "configured pattern ~/.config/sovereign/**"},
		{"~/.config/sovereign", "configured pattern ~/.config/sovereign/**"},
		{"/srv/keys/a.bin", "configured pattern /srv/keys/*.bin"},
		{"/srv/keys/sub/a.bin", ""},
		{"$B/root/proj/audit/2024.log", "configured pattern audit/**"},
		{"$B/root/proj/secret.txt", "configured pattern secret.*"},
		{"~/.ssh/id_rsa", "ssh keys and configuration"}, // defaults kept
	} {
		f := fx.a.Analyze("", fx.p(tc.raw))
		if f.SensitiveReason != tc.reason {
			t.Errorf("%s: sensitive %q, want %q", tc.raw, f.SensitiveReason, tc.reason)
		}
	}
}

func TestSensitiveLinkedPattern(t *testing.T) {
	fx := newFixture(t, nil)
	a, err := New(Options{
		Home:      fx.p("$B/home"),
		Cwd:       fx.p("$B/root/proj"),
		Roots:     []string{fx.p("$B/root")},
		Sensitive: []string{fx.p("$B/rootlink/proj/private/**")},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := a.Analyze("", "private/x")
	if !f.Sensitive || !strings.HasPrefix(f.SensitiveReason, "configured pattern ") {
		t.Errorf("a pattern given through a link misses the resolved path: %+v", f)
	}

	// A home directory given through a link: "~/" patterns match the
	// real directory too.
	b, err := New(Options{Home: fx.p("$B/homelink"), Cwd: fx.p("$B/root/proj")})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"~/.ssh/id_rsa", "$B/home/.ssh/id_rsa", "$B/homelink/.ssh/id_rsa"} {
		if f := b.Analyze("", fx.p(raw)); f.SensitiveReason != "ssh keys and configuration" {
			t.Errorf("%s with home through a link: %+v", raw, f)
		}
	}
}

func TestNoDefaultSensitive(t *testing.T) {
	fx := newFixture(t, func(o *Options) { o.NoDefaultSensitive = true })
	if f := fx.a.Analyze("", "~/.ssh/id_rsa"); f.Sensitive {
		t.Errorf("default pattern still applied: %+v", f)
	}
}

func TestSensitiveBadPatterns(t *testing.T) {
	for _, p := range []string{"", "  ", "~bob/.ssh/**", "/a/../b", "../x", "[", "/x/[a-", "a\x00b"} {
		_, err := New(Options{Home: "/home/u", Cwd: "/", Sensitive: []string{p}})
		if err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestMatchComponents(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"**/x", "x", true},
		{"**/x", "a/b/x", true},
		{"**/x", "a/b/x/y", false},
		{"a/**", "a", true},
		{"a/**", "a/b/c", true},
		{"a/**", "ab", false},
		{"a/**/c", "a/c", true},
		{"a/**/c", "a/b/b/c", true},
		{"a/**/c", "a/b/c/d", false},
		{"a/*/c", "a/b/c", true},
		{"a/*/c", "a/b/b/c", false},
		{"**/*.pem", "etc/ssl/x.pem", true},
		{"**/*.pem", "etc/ssl/x.pem.bak", false},
		{"**/**/x", "a/x", true},
		{"**", "", true},
		{"a", "", false},
		{"a/b", "a", false},
		{"**/.env.*", "p/.env.local", true},
		{"**/.env.*", "p/.env", false},
	} {
		pat, _ := patternComponents(tc.pat)
		var name []string
		if tc.name != "" {
			name = strings.Split(tc.name, "/")
		}
		if got := matchComponents(pat, name); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}

func TestDefaultSensitiveCopy(t *testing.T) {
	l := DefaultSensitive()
	l[0].Pattern = "changed"
	if DefaultSensitive()[0].Pattern == "changed" {
		t.Error("DefaultSensitive exposes the table")
	}
	for _, p := range l {
		if p.Reason == "" {
			t.Errorf("%s has no reason", p.Pattern)
		}
	}
}
