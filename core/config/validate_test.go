package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// validConfig is a Config built in code that passes Validate.
func validConfig() Config {
	cfg := defaults(stdEnv())
	cfg.Servers["local"] = Server{Command: "srv", Transport: TransportStdio, Timeout: Duration(time.Minute)}
	cfg.Servers["remote"] = Server{URL: "https://h.example/mcp", Transport: TransportSSE, Timeout: Duration(time.Second)}
	return cfg
}

func TestValidateBuiltInCode(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default(): %v", err)
	}

	// The zero Config lacks every default.
	err := Config{}.Validate()
	ps := problemsOf(t, err)
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
		if p.Source != "" || p.Line != 0 {
			t.Errorf("a problem from Validate has a source or position: %#v", p)
		}
	}
	if got, want := strings.Join(paths, " "), "data_dir log_level limits.max_message_bytes policy.mode policy.timeout policy.builtin "+
		"audit.max_segment_bytes audit.max_segment_age audit.checkpoint_every audit.checkpoint_interval"; got != want {
		t.Errorf("zero Config: problems at %q, want %q\n%v", got, want, err)
	}

	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   []string // "path: message fragment", in order
	}{
		{"relative data dir", func(c *Config) { c.DataDir = "data" }, []string{"data_dir: must be an absolute path"}},
		{"transport missing", func(c *Config) {
			s := c.Servers["local"]
			s.Transport = ""
			c.Servers["local"] = s
		}, []string{"servers.local.transport: must be set"}},
		{"timeout missing", func(c *Config) {
			s := c.Servers["local"]
			s.Timeout = 0
			c.Servers["local"] = s
		}, []string{"servers.local.timeout: must be more than 0s"}},
		{"relative cwd", func(c *Config) {
			s := c.Servers["local"]
			s.Cwd = "work"
			c.Servers["local"] = s
		}, []string{"servers.local.cwd: must be an absolute path"}},
		{"NUL bytes", func(c *Config) {
			s := c.Servers["local"]
			s.Command = "a\x00"
			s.Args = []string{"ok", "b\x00"}
			s.Env = map[string]string{"K": "v\x00", "": "x"}
			c.Servers["local"] = s
		}, []string{
			"servers.local.command: must not contain a NUL",
			"servers.local.args[1]: must not contain a NUL",
			`servers.local.env."": an environment variable name must not be empty`,
			"servers.local.env.K: must not contain a NUL",
		}},
		{"problems in several servers, in name order", func(c *Config) {
			c.Servers["zz"] = Server{Transport: TransportStdio, Timeout: Duration(time.Second)}
			c.Servers["aa"] = Server{Command: "x", URL: "http://h/", Transport: TransportStdio, Timeout: Duration(time.Second)}
			c.LogLevel = "loud"
		}, []string{
			"log_level: must be one of",
			"servers.aa: command and url cannot both be set",
			"servers.zz: either command",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			tc.change(&cfg)
			ps := problemsOf(t, cfg.Validate())
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d: %v", len(ps), len(tc.want), ps)
			}
			for i, w := range tc.want {
				if !strings.Contains(ps[i].Error(), w) {
					t.Errorf("problem %d = %q, want %q", i, ps[i].Error(), w)
				}
			}
		})
	}
}

func TestListenAddress(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		want   string // fragment of the problem, or "" for none
	}{
		{"127.0.0.1:8080", false, ""},
		{"127.1.2.3:0", false, ""},
		{"localhost:65535", false, ""},
		{"LocalHost:1", false, ""},
		{"[::1]:8080", false, ""},
		{"[::ffff:127.0.0.1]:8080", false, ""},
		{"0.0.0.0:8080", false, "insecure_allow_remote"},
		{"[::]:8080", false, "insecure_allow_remote"},
		{":8080", false, "empty host listens on every interface"},
		{"10.0.0.1:8080", false, "not a loopback address"},
		{"localhost.example:8080", false, "not a loopback address"},
		{"0.0.0.0:8080", true, ""},
		{":8080", true, ""},
		{"example.com:443", true, ""},
		{"127.0.0.1", false, "must be host:port"},
		{"127.0.0.1:", false, "the port must be a number"},
		{"127.0.0.1:-1", false, "the port must be a number"},
		{"127.0.0.1:65536", false, "the port must be a number"},
		{"127.0.0.1:80:80", false, "must be host:port"},
		{"::1:8080", false, "must be host:port"},
		{"http://127.0.0.1:8080", false, "must be host:port"},
		{"my host:80", true, "is not a host name"},
	} {
		got := checkListenAddr(tc.addr, tc.remote)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%q (remote %v): %q, want %q", tc.addr, tc.remote, got, tc.want)
		}
	}
}

func TestOriginsAndHosts(t *testing.T) {
	for o, ok := range map[string]bool{
		"https://app.example":       true,
		"http://localhost:3000":     true,
		"http://[::1]:3000":         true,
		"vscode-webview://abc":      true,
		"https://app.example/":      false,
		"https://app.example/x":     false,
		"https://app.example?x=1":   false,
		"https://app.example#x":     false,
		"https://user@app.example":  false,
		"app.example":               false,
		"null":                      false,
		"*":                         false,
		"":                          false,
		"https://":                  false,
		" https://app.example":      false,
		"https://app.example:8443":  true,
		"HTTPS://app.example":       false,
		"https://app.example:8443/": false,
	} {
		if got := isOrigin(o); got != ok {
			t.Errorf("isOrigin(%q) = %v, want %v", o, got, ok)
		}
	}
	for h, ok := range map[string]bool{
		"sovereign.internal":      true,
		"sovereign.internal:8080": true,
		"[::1]:8080":              true,
		"10.0.0.1":                true,
		"":                        false,
		"*.example":               false,
		"http://x":                false,
		"x/y":                     false,
		"a b":                     false,
		"user@host":               false,
	} {
		if got := checkHostHeader(h) == ""; got != ok {
			t.Errorf("checkHostHeader(%q) accepted = %v, want %v", h, got, ok)
		}
	}
}

func TestEffectivePrefix(t *testing.T) {
	p := func(s string) *string { return &s }
	long := strings.Repeat("a", 40)
	for _, tc := range []struct {
		prefix *string
		name   string
		want   string
	}{
		{nil, "github", "github"},
		{nil, "brave_search", "brave-search"},
		{nil, "a__b", "a--b"},
		{nil, long, long[:32]},
		{nil, strings.Repeat("é", 20), strings.Repeat("é", 16)},
		{p(""), "github", ""},
		{p("gh"), "github", "gh"},
		{p("gh"), "brave_search", "gh"},
	} {
		got := Server{Prefix: tc.prefix}.EffectivePrefix(tc.name)
		if got != tc.want {
			t.Errorf("EffectivePrefix(%q) with prefix %v = %q, want %q", tc.name, tc.prefix, got, tc.want)
		}
	}
	// Every valid server name must give a valid prefix.
	for _, name := range []string{"a", "_", "-", "x_y-z", strings.Repeat("Z_", 32)} {
		if !serverName.MatchString(name) {
			t.Fatalf("%q is not a valid name", name)
		}
		if got := (Server{}).EffectivePrefix(name); !prefixPattern.MatchString(got) {
			t.Errorf("name %q derives prefix %q, which is not valid", name, got)
		}
	}
}

func TestProblemError(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{Source: "f.yaml", Line: 3, Column: 5, Path: "a.b", Message: "bad"}, "f.yaml:3:5: a.b: bad"},
		{Problem{Source: "f.yaml", Path: "a.b", Message: "bad"}, "f.yaml: a.b: bad"},
		{Problem{Line: 3, Column: 5, Message: "bad"}, "line 3, column 5: bad"},
		{Problem{Path: "a", Message: "bad"}, "a: bad"},
		{Problem{Message: "bad"}, "bad"},
	} {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestKeyPath(t *testing.T) {
	for _, tc := range []struct{ parent, key, want string }{
		{"", "servers", "servers"},
		{"servers", "my-srv_1", "servers.my-srv_1"},
		{"servers", "a.b", `servers."a.b"`},
		{"servers", "", `servers.""`},
		{"servers.x.env", "A B", `servers.x.env."A B"`},
	} {
		if got := keyPath(tc.parent, tc.key); got != tc.want {
			t.Errorf("keyPath(%q, %q) = %q, want %q", tc.parent, tc.key, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		key   string
		known []string
		want  string
	}{
		{"comand", serverKeys, "command"},
		{"Command", serverKeys, "command"},
		{"headerz", serverKeys, "headers"},
		{"autoApprove", serverKeys, ""},
		{"dataDir", configKeys, "data_dir"},
		{"data-dir", configKeys, "data_dir"},
		{"mcpServers", configKeys, "servers"},
		{"mcpServers", serverKeys, ""},
		{"foo", configKeys, ""},
		{"max_msg_bytes", limitsKeys, "max_message_bytes"},
		{"port", listenKeys, ""},
	} {
		if got := suggest(tc.key, tc.known); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
}

func TestAuditKeysOutsideTheLog(t *testing.T) {
	cfg := Default()
	cfg.DataDir = "/srv/sov"
	if got := cfg.AuditDir() + " " + cfg.AuditKeysDir(); got != "/srv/sov/audit /srv/sov/keys" {
		t.Fatalf("default dirs %s", got)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Audit.KeysDir = "/srv/sov/audit/keys"
	ps := problemsOf(t, cfg.Validate())
	if len(ps) != 1 || ps[0].Path != "audit.keys_dir" {
		t.Fatalf("problems %v", ps)
	}
	cfg.Audit.Enabled = false
	if err := cfg.Validate(); err != nil {
		t.Fatalf("disabled audit: %v", err)
	}
}

func TestAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		retention time.Duration
		ok        bool
	}{
		{0, true},
		{time.Hour, true},
		{30 * 24 * time.Hour, true},
		{30 * time.Minute, false},
		{-time.Hour, false},
	} {
		cfg := Default()
		cfg.DataDir = "/srv/sov"
		cfg.Audit.Retention = Duration(tc.retention)
		err := cfg.Validate()
		if tc.ok != (err == nil) {
			t.Errorf("retention %s: %v", tc.retention, err)
			continue
		}
		if !tc.ok {
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Path != "audit.retention" || !strings.Contains(ps[0].Message, "at least 1h") {
				t.Errorf("retention %s: problems %v", tc.retention, ps)
			}
		}
	}
}

func TestAuditAnchors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		anchors string // the YAML list
		want    []string
		problem string // a problem of audit.anchors[1], or ""
	}{
		{"directories are expanded", `["~/witness", "rel/dir", "/mnt/w"]`, []string{"/home/tester/witness", "/srv/cwd/rel/dir", "/mnt/w"}, ""},
		{"URLs stay as written", `["syslog:", "syslog+udp://logs.example:5514", "syslog+tcp://[::1]", "https://witness.example/cp?t=x"]`,
			[]string{"syslog:", "syslog+udp://logs.example:5514", "syslog+tcp://[::1]", "https://witness.example/cp?t=x"}, ""},
		{"unknown scheme", `["/mnt/w", "ftp://witness.example/cp"]`, nil, `unknown scheme "ftp:"`},
		{"file scheme", `["/mnt/w", "file:///mnt/w"]`, nil, `unknown scheme "file:"`},
		{"remote syslog without host", `["/mnt/w", "syslog+udp://:514"]`, nil, "has no host"},
		{"remote syslog with a path", `["/mnt/w", "syslog+tcp://logs.example/x"]`, nil, "only a host and a port"},
		{"local syslog with an address", `["/mnt/w", "syslog://logs.example"]`, nil, "takes nothing after it"},
		{"http without host", `["/mnt/w", "https:///cp"]`, nil, "has no host"},
		{"bad port", `["/mnt/w", "http://witness.example:0/"]`, nil, "from 1 to 65535"},
		{"empty", `["/mnt/w", ""]`, nil, "empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse([]byte("audit: {anchors: "+tc.anchors+"}\n"), "c.yaml", stdEnv())
			if tc.problem == "" {
				if err != nil || !slices.Equal(cfg.Audit.Anchors, tc.want) {
					t.Fatalf("anchors %q, %v; want %q", cfg.Audit.Anchors, err, tc.want)
				}
				return
			}
			ps := problemsOf(t, err)
			if len(ps) != 1 || ps[0].Path != "audit.anchors[1]" || !strings.Contains(ps[0].Message, tc.problem) || ps[0].Line != 1 {
				t.Fatalf("problems %v; want one of audit.anchors[1] with %q", ps, tc.problem)
			}
		})
	}
	// A Config built in code is validated the same way, and a directory
	// there must already be absolute.
	cfg := Default()
	cfg.DataDir = "/srv/sov"
	cfg.Audit.Anchors = []string{"/mnt/w", "relative", "gopher://x"}
	ps := problemsOf(t, cfg.Validate())
	if len(ps) != 2 || ps[0].Path != "audit.anchors[1]" || !strings.Contains(ps[0].Message, "absolute") || ps[1].Path != "audit.anchors[2]" {
		t.Fatalf("problems %v", ps)
	}
}
