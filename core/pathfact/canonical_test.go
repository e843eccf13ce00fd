package pathfact

import (
	"os"
	"strings"
	"testing"
)

// analyzeCase: raw (with $B for the fixture's base) and what Analyze must
// say. canonical "" with err set means an error fact. SYS: marks a system
// path to resolve first (see sys).
type analyzeCase struct {
	name      string
	raw       string
	canonical string
	within    bool
	flags     string
	sensitive string
	err       string
}

var analyzeCases = []analyzeCase{
	// Traversal in its forms.
	{name: "dotdot", raw: "../x", canonical: "$B/root/x", within: true, flags: "traversal"},
	{name: "dotdot out", raw: "../../outside/secret.txt", canonical: "$B/outside/secret.txt", flags: "traversal"},
	{name: "dotdot backslash", raw: `..\..\outside`, canonical: "$B/outside", flags: "traversal,windows"},
	{name: "encoded", raw: "%2e%2e%2f%2e%2e%2foutside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "encoded upper", raw: "%2E%2E%2F%2E%2E%2Foutside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "encoded dots only", raw: "%2e%2e/%2e%2e/outside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "encoded half", raw: ".%2e/.%2e/outside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "encoded slash", raw: "..%2f..%2foutside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "encoded backslash", raw: "..%5c..%5coutside", canonical: "$B/outside", flags: "traversal,encoded,windows"},
	{name: "double encoded", raw: "%252e%252e%252f%252e%252e%252foutside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "triple encoded", raw: "%25252e%25252e%25252f%25252e%25252e%25252foutside", canonical: "$B/outside", flags: "traversal,encoded"},
	{name: "quadruple encoded", raw: "%2525252e%2525252e%2525252foutside", err: ErrEncodedTooDeep.Error()},
	{name: "overlong utf8", raw: "..%c0%af..%c0%afetc", err: ErrInvalidUTF8.Error()},
	{name: "overlong utf8 3 bytes", raw: "..%e0%80%afetc", err: ErrInvalidUTF8.Error()},
	{name: "raw invalid utf8", raw: "a\xffb", err: ErrInvalidUTF8.Error()},
	{name: "encoded in name", raw: "a/%2e%2e/b", canonical: "$B/root/proj/b", within: true, flags: "traversal,encoded"},
	{name: "four dots", raw: "....//....//outside", canonical: "$B/root/proj/..../..../outside", within: true, flags: "traversal"},
	{name: "three dots", raw: ".../x", canonical: "$B/root/proj/.../x", within: true, flags: "traversal"},
	{name: "dot space dot", raw: ". ./x", canonical: "$B/root/proj/. ./x", within: true, flags: "traversal"},
	{name: "dot segments", raw: "$B/root/./proj/./file.txt", canonical: "$B/root/proj/file.txt", within: true},
	{name: "trailing dotdot in root", raw: "$B/root/proj/..", canonical: "$B/root", within: true, flags: "traversal"},
	{name: "trailing dotdot out", raw: "$B/root/..", canonical: "$B", flags: "traversal"},
	{name: "deep dotdot", raw: "sub/../../../outside", canonical: "$B/outside", flags: "traversal"},
	{name: "absolute outside", raw: "SYS:/etc/passwd", canonical: "SYS:/etc/passwd"},
	{name: "dotdot from root dir", raw: "/../../..$B/outside", canonical: "$B/outside", flags: "traversal"},
	{name: "blank padding", raw: "  ../../outside  ", canonical: "$B/outside", flags: "traversal"},

	// Sibling prefixes and the roots themselves.
	{name: "sibling prefix", raw: "$B/root-evil/x", canonical: "$B/root-evil/x"},
	{name: "sibling prefix via dotdot", raw: "../../root-evil/x", canonical: "$B/root-evil/x", flags: "traversal"},
	{name: "the root", raw: "$B/root", canonical: "$B/root", within: true},
	{name: "the root slash", raw: "$B/root/", canonical: "$B/root", within: true},
	{name: "the root's parent", raw: "$B", canonical: "$B"},
	{name: "root through a link", raw: "$B/rootlink/proj/file.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "symlink"},

	// Symbolic links.
	{name: "link to /etc", raw: "$B/root/link-etc/passwd", canonical: "SYS:/etc/passwd", flags: "symlink"},
	{name: "link in the middle", raw: "$B/root/link-out/secret.txt", canonical: "$B/outside/secret.txt", flags: "symlink"},
	{name: "relative link out", raw: "$B/root/rel-out/secret.txt", canonical: "$B/outside/secret.txt", flags: "symlink"},
	{name: "relative link in", raw: "$B/root/rel-in/file.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "symlink"},
	{name: "relative link in, relative path", raw: "../rel-in/sub/new.txt", canonical: "$B/root/proj/sub/new.txt", within: true, flags: "traversal,symlink"},
	{name: "dangling out", raw: "$B/root/dangling", canonical: "$B/outside/nothing/x", flags: "symlink"},
	{name: "dangling out below", raw: "$B/root/dangling/more", canonical: "$B/outside/nothing/x/more", flags: "symlink"},
	{name: "dangling in", raw: "$B/root/dangling-in", canonical: "$B/root/newfile", within: true, flags: "symlink"},
	{name: "loop", raw: "$B/root/loop1", err: ErrTooManyLinks.Error()},
	{name: "dotdot after link, physically out", raw: "$B/root/deep/../x", canonical: "$B/root/x", flags: "traversal,symlink"},
	{name: "dotdot after link, both in", raw: "$B/root/link-out/../root/proj/file.txt", canonical: "$B/root/root/proj/file.txt", within: true, flags: "traversal,symlink"},
	{name: "link to a key", raw: "key-link", canonical: "$B/home/.ssh/id_rsa", flags: "symlink", sensitive: "ssh keys and configuration"},

	// file:// URIs.
	{name: "uri", raw: "file://$B/root/proj/file.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "uri"},
	{name: "uri localhost", raw: "file://LocalHost$B/root/proj/file.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "uri"},
	{name: "uri one slash", raw: "file:$B/root/proj/file.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "uri"},
	{name: "uri upper case", raw: "FILE:///etc/passwd", canonical: "SYS:/etc/passwd", flags: "uri"},
	{name: "uri escape is not encoded", raw: "file:///etc/pass%77d", canonical: "SYS:/etc/passwd", flags: "uri"},
	{name: "uri space", raw: "file://$B/root/proj/a%20b", canonical: "$B/root/proj/a b", within: true, flags: "uri"},
	{name: "uri dotdot escape", raw: "file://$B/root/%2e%2e/outside", canonical: "$B/outside", flags: "traversal,uri"},
	{name: "uri double encoded", raw: "file://$B/root/%252e%252e/outside", canonical: "$B/outside", flags: "traversal,encoded,uri"},
	{name: "uri nul", raw: "file://$B/root/proj/a%00.txt", canonical: "$B/root/proj/a", within: true, flags: "nul,uri"},
	{name: "uri remote host", raw: "file://evil.example/etc/passwd", err: ErrURIHost.Error()},
	{name: "uri query", raw: "file://$B/root/x?y=1", err: ErrURIQuery.Error()},
	{name: "uri fragment", raw: "file://$B/root/x#y", err: ErrURIQuery.Error()},
	{name: "uri windows drive", raw: "file:///C:/Windows/win.ini", canonical: "/C:/Windows/win.ini", flags: "windows,uri"},
	{name: "encoded uri", raw: "file%3A%2F%2F%2Fetc%2Fpasswd", canonical: "SYS:/etc/passwd", flags: "encoded,uri"},
	{name: "padded uri", raw: " file:///etc/passwd", canonical: "SYS:/etc/passwd", flags: "uri"},
	{name: "encoded padded uri", raw: "%20file:///etc/passwd", canonical: "SYS:/etc/passwd", flags: "encoded,uri"},
	{name: "not a uri", raw: "file:x", canonical: "$B/root/proj/file:x", within: true},

	// ~ expansion.
	{name: "tilde", raw: "~", canonical: "$B/home"},
	{name: "tilde key", raw: "~/.ssh/id_rsa", canonical: "$B/home/.ssh/id_rsa", sensitive: "ssh keys and configuration"},
	{name: "tilde user", raw: "~root/x", err: ErrTildeUser.Error()},
	{name: "tilde backslash", raw: `~\.ssh\id_rsa`, canonical: "$B/home/.ssh/id_rsa", flags: "windows", sensitive: "ssh keys and configuration"},
	{name: "tilde encoded", raw: "%7e/.aws/credentials", canonical: "$B/home/.aws/credentials", flags: "encoded", sensitive: "cloud credentials (aws)"},
	{name: "tilde fullwidth", raw: "～/.aws/credentials", canonical: "$B/home/.aws/credentials", flags: "lookalike", sensitive: "cloud credentials (aws)"},
	{name: "tilde not first", raw: "a/~/b", canonical: "$B/root/proj/a/~/b", within: true},

	// Windows forms.
	{name: "drive", raw: `C:\Users\bob\.ssh\id_rsa`, canonical: "/C:/Users/bob/.ssh/id_rsa", flags: "windows", sensitive: "ssh keys and configuration"},
	{name: "drive slash", raw: "c:/Windows/System32", canonical: "/C:/Windows/System32", flags: "windows"},
	{name: "drive alone", raw: "C:", canonical: "/C:", flags: "windows"},
	{name: "drive dotdot", raw: `C:\..\..\etc`, canonical: "/C:/etc", flags: "traversal,windows"},
	{name: "unc", raw: `\\server\share\x`, canonical: "/UNC/server/share/x", flags: "windows"},
	{name: "device path", raw: `\\?\C:\x`, canonical: "/UNC/?/C:/x", flags: "windows"},
	{name: "backslash relative in", raw: `sub\..\file.txt`, canonical: "$B/root/proj/file.txt", within: true, flags: "traversal,windows"},
	{name: "backslash absolute", raw: `$B\outside`, canonical: "$B/outside", flags: "windows"},

	// NUL bytes.
	{name: "nul", raw: "file.txt\x00.png", canonical: "$B/root/proj/file.txt", within: true, flags: "nul"},
	{name: "nul only", raw: "\x00", canonical: "$B/root/proj", within: true, flags: "nul"},
	{name: "encoded nul", raw: "x%00/../../../../etc/passwd", canonical: "$B/root/proj/x", flags: "traversal,encoded,nul"},
	{name: "literal reading through a link", raw: "x%00/../../deep/../y", canonical: "$B/root/proj/x", flags: "traversal,encoded,nul,symlink"},
	{name: "nul hides dotdot", raw: "x\x00/../../../outside", canonical: "$B/root/proj/x", within: true, flags: "traversal,nul"},

	// Look-alikes.
	{name: "fullwidth solidus", raw: "／etc／passwd", canonical: "SYS:/etc/passwd", flags: "lookalike"},
	{name: "division slash", raw: "..∕..∕outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "fraction slash", raw: "..⁄..⁄outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "one dot leader", raw: "․․/․․/outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "two dot leader", raw: "‥/‥/outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "fullwidth dots", raw: "．．／．．／outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "set minus", raw: "..∖..∖outside", canonical: "$B/outside", flags: "traversal,lookalike,windows"},
	{name: "encoded fullwidth", raw: "%EF%BC%8Fetc%EF%BC%8Fpasswd", canonical: "SYS:/etc/passwd", flags: "encoded,lookalike"},
	{name: "fullwidth percent", raw: "％２ｅ％２ｅ／％２ｅ％２ｅ／outside", canonical: "$B/outside", flags: "traversal,encoded,lookalike"},
	{name: "zero width", raw: "file\u200b.txt", canonical: "$B/root/proj/file.txt", within: true, flags: "lookalike"},
	{name: "zero width dots", raw: ".\u200b./.\u200b./outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "bidi", raw: "\u202e../../outside", canonical: "$B/outside", flags: "traversal,lookalike"},
	{name: "decomposed", raw: "cafe\u0301", canonical: "$B/root/proj/café", within: true, flags: "lookalike"},
	{name: "composed", raw: "café", canonical: "$B/root/proj/café", within: true},
	{name: "fullwidth uri", raw: "ｆｉｌｅ:///etc/passwd", canonical: "SYS:/etc/passwd", flags: "lookalike,uri"},
	{name: "fullwidth drive", raw: "Ｃ：＼x", canonical: "/C:/x", flags: "lookalike,windows"},

	// Relative paths.
	{name: "relative", raw: "file.txt", canonical: "$B/root/proj/file.txt", within: true},
	{name: "empty", raw: "", canonical: "$B/root/proj", within: true},
	{name: "dot", raw: ".", canonical: "$B/root/proj", within: true},
	{name: "relative dir", raw: "sub/", canonical: "$B/root/proj/sub", within: true},
	{name: "dotenv", raw: ".env", canonical: "$B/root/proj/.env", within: true, sensitive: "environment files"},

	// Limits.
	{name: "too many components", raw: "/" + strings.Repeat("a/", 300), err: ErrTooManyParts.Error()},
	{name: "longer than PATH_MAX", raw: "/" + strings.Repeat("a", 5000), err: ErrPathMax.Error()},
	{name: "too long", raw: strings.Repeat("a", MaxRawBytes+1), err: ErrTooLong.Error()},
}

func TestAnalyze(t *testing.T) {
	fx := newFixture(t, nil)
	for _, tc := range analyzeCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := fx.p(tc.raw)
			if strings.HasPrefix(raw, "SYS:") {
				raw = raw[4:]
			}
			f := fx.a.Analyze("/p", raw)
			if f.Pointer != "/p" {
				t.Errorf("Pointer = %q", f.Pointer)
			}
			wantRaw := raw
			if len(raw) > MaxRawBytes {
				wantRaw = raw[:maxRawKept]
			}
			if f.Raw != wantRaw {
				t.Errorf("Raw = %q, want %q", f.Raw, wantRaw)
			}
			if f.Error != tc.err {
				t.Fatalf("Error = %q, want %q (fact %+v)", f.Error, tc.err, f)
			}
			if tc.err != "" {
				if f.Canonical != "" || f.WithinRoots || f.Root != "" || f.Exists || f.Writable {
					t.Errorf("error fact carries a canonical form: %+v", f)
				}
				return
			}
			want := fx.p(tc.canonical)
			if strings.HasPrefix(want, "SYS:") {
				want = sys(t, want[4:])
			}
			if f.Canonical != want {
				t.Errorf("Canonical = %q, want %q", f.Canonical, want)
			}
			if f.WithinRoots != tc.within {
				t.Errorf("WithinRoots = %v, want %v", f.WithinRoots, tc.within)
			}
			wantRoot := ""
			if tc.within {
				wantRoot = fx.p("$B/root")
			}
			if f.Root != wantRoot {
				t.Errorf("Root = %q, want %q", f.Root, wantRoot)
			}
			if got := flagsOf(f); got != tc.flags {
				t.Errorf("flags = %q, want %q", got, tc.flags)
			}
			if f.SensitiveReason != tc.sensitive || f.Sensitive != (tc.sensitive != "") {
				t.Errorf("Sensitive = %v %q, want %q", f.Sensitive, f.SensitiveReason, tc.sensitive)
			}
		})
	}
}

// TestAnalyzeExistsWritable checks the file system facts. access(2) grants
// root W_OK on anything on a writable file system, so the read-only cases
// expect "writable" when the tests run as root.
func TestAnalyzeExistsWritable(t *testing.T) {
	fx := newFixture(t, nil)
	root := isRoot()
	for _, tc := range []struct {
		raw      string
		exists   bool
		writable bool
	}{
		{raw: "$B/root/proj/file.txt", exists: true, writable: true},
		{raw: "$B/root/proj", exists: true, writable: true},
		{raw: "$B/root/proj/new.txt", exists: false, writable: true},
		{raw: "$B/root/proj/new/deeper/x", exists: false, writable: true},
		{raw: "$B/root/proj/file.txt/x", exists: false, writable: false},
		{raw: "$B/root/ro", exists: true, writable: root},
		{raw: "$B/root/ro/file", exists: true, writable: root},
		{raw: "$B/root/ro/new", exists: false, writable: root},
		{raw: "$B/root/dangling", exists: false, writable: true},
		{raw: "$B/root/dangling-in", exists: false, writable: true},
		{raw: "$B/root/rel-in/file.txt", exists: true, writable: true},
		{raw: `C:\x`, exists: false, writable: false},
	} {
		f := fx.a.Analyze("", fx.p(tc.raw))
		if f.Error != "" {
			t.Errorf("%s: %s", tc.raw, f.Error)
			continue
		}
		if f.Exists != tc.exists || f.Writable != tc.writable {
			t.Errorf("%s: exists %v writable %v, want %v %v", tc.raw, f.Exists, f.Writable, tc.exists, tc.writable)
		}
	}
}

func TestAnalyzeInspectError(t *testing.T) {
	if isRoot() {
		t.Skip("root can search a directory without the x bit")
	}
	fx := newFixture(t, nil)
	dir := fx.p("$B/root/closed")
	mustMkdir(t, dir+"/inner")
	if err := chmod(dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chmod(dir, 0o755) })
	f := fx.a.Analyze("", dir+"/inner/x")
	if !strings.HasPrefix(f.Error, ErrInspect.Error()+": ") || strings.Contains(f.Error, dir) {
		t.Errorf("Error = %q, want %q with the reason and without the path", f.Error, ErrInspect)
	}
}

func TestAnalyzeProcLinks(t *testing.T) {
	if _, err := os.Lstat("/proc/self/cwd"); err != nil {
		t.Skip("no /proc here")
	}
	fx := newFixture(t, func(o *Options) { o.Roots = []string{"/"} })
	for _, raw := range []string{"/proc/self/cwd/x", "/proc/self/root/etc/shadow", "/proc/thread-self/cwd", "/dev/fd/0", "/dev/stdin", "file:///proc/self/cwd"} {
		if _, err := os.Lstat(strings.TrimPrefix(raw, "file://")); err != nil && !strings.HasSuffix(raw, "/x") && !strings.HasSuffix(raw, "shadow") {
			continue
		}
		if f := fx.a.Analyze("", raw); f.Error != ErrProcLink.Error() {
			t.Errorf("%s: %+v", raw, f)
		}
	}
	if f := fx.a.Analyze("", "/proc/cpuinfo"); f.Error != "" || !f.WithinRoots {
		t.Errorf("/proc/cpuinfo: %+v", f)
	}
}

func TestKeptRaw(t *testing.T) {
	long := strings.Repeat("é", MaxRawBytes) // 2 bytes a rune
	f := newFixture(t, nil).a.Analyze("", "x"+long)
	if f.Error != ErrTooLong.Error() {
		t.Fatalf("Error = %q", f.Error)
	}
	if len(f.Raw) > maxRawKept || !strings.HasPrefix("x"+long, f.Raw) || len(f.Raw) < maxRawKept-4 {
		t.Errorf("Raw kept %d bytes", len(f.Raw))
	}
	if !isValidUTF8(f.Raw) {
		t.Errorf("Raw cut inside a rune")
	}
}

func TestFilterBypassForms(t *testing.T) {
	t.Parallel()
	a, err := New(Options{Home: "/home/u", Cwd: "/", Roots: []string{"/srv/root"}})
	if err != nil {
		t.Fatal(err)
	}
	if f := a.Analyze("/path", "/srv/root/..;/..;/etc/passwd"); !f.Traversal {
		t.Errorf("..; segments not flagged as traversal: %+v", f)
	}
	if f := a.Analyze("/path", "/srv/root/%u002e%u002e%u2215etc%u2215passwd"); f.Error != ErrUEncoding.Error() {
		t.Errorf("%%u escapes not refused: %+v", f)
	}
	if f := a.Analyze("/path", "/srv/root/100%used.txt"); f.Error != "" || !f.WithinRoots {
		t.Errorf("a plain %% in a file name was refused: %+v", f)
	}
}
