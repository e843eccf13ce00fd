package pathfact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fixture is a small file system under a temporary directory $B:
//
//	$B/root/                      the only root
//	$B/root/proj/                 the working directory
//	$B/root/proj/file.txt
//	$B/root/proj/sub/
//	$B/root/proj/key-link       → ../../home/.ssh/id_rsa
//	$B/root/link-etc            → /etc
//	$B/root/link-out            → $B/outside
//	$B/root/rel-out             → ../outside
//	$B/root/rel-in              → proj
//	$B/root/deep                → $B/outside/a/b
//	$B/root/dangling            → $B/outside/nothing/x
//	$B/root/dangling-in         → newfile
//	$B/root/loop1 ↔ loop2
//	$B/root/ro/                   mode 0555, holding ro/file (0444)
//	$B/root-evil/x
//	$B/rootlink                 → root
//	$B/outside/secret.txt, $B/outside/a/b/
//	$B/home/.ssh/id_rsa, $B/home/.aws/credentials
//	$B/homelink                 → home
type fixture struct {
	base string
	a    *Analyzer
}

func newFixture(t testing.TB, mod func(*Options)) *fixture {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"root/proj/sub", "root/ro", "root-evil", "outside/a/b", "home/.ssh", "home/.aws"} {
		mustMkdir(t, filepath.Join(base, d))
	}
	for _, f := range []string{"root/proj/file.txt", "root/ro/file", "root-evil/x", "outside/secret.txt", "home/.ssh/id_rsa", "home/.aws/credentials"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"root/proj/key-link": "../../home/.ssh/id_rsa",
		"root/link-etc":      "/etc",
		"root/link-out":      filepath.Join(base, "outside"),
		"root/rel-out":       "../outside",
		"root/rel-in":        "proj",
		"root/deep":          filepath.Join(base, "outside/a/b"),
		"root/dangling":      filepath.Join(base, "outside/nothing/x"),
		"root/dangling-in":   "newfile",
		"root/loop1":         "loop2",
		"root/loop2":         "loop1",
		"rootlink":           "root",
		"homelink":           "home",
	} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(base, "root/ro/file"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(base, "root/ro"), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(filepath.Join(base, "root/ro"), 0o755) })

	opts := Options{
		Home:  filepath.Join(base, "home"),
		Cwd:   filepath.Join(base, "root/proj"),
		Roots: []string{filepath.Join(base, "root")},
	}
	if mod != nil {
		mod(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{base: base, a: a}
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// p replaces "$B" with the fixture's base directory.
func (fx *fixture) p(s string) string { return strings.ReplaceAll(s, "$B", fx.base) }

// sys is a system path with its links resolved (/etc is /private/etc on
// macOS).
func sys(t testing.TB, p string) string {
	t.Helper()
	dir, file := filepath.Split(p)
	r, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Skipf("%s: %v", dir, err)
	}
	return filepath.Join(r, file)
}

// flagsOf lists the boolean signals of f, in a fixed order.
func flagsOf(f Fact) string {
	var out []string
	for _, fl := range []struct {
		on   bool
		name string
	}{
		{f.Traversal, "traversal"},
		{f.Encoded, "encoded"},
		{f.NUL, "nul"},
		{f.Lookalike, "lookalike"},
		{f.WindowsForm, "windows"},
		{f.URI, "uri"},
		{f.IsSymlink, "symlink"},
	} {
		if fl.on {
			out = append(out, fl.name)
		}
	}
	return strings.Join(out, ",")
}

// golden compares got with testdata/name, or rewrites it under -update.

func isRoot() bool                           { return os.Geteuid() == 0 }
func chmod(p string, mode os.FileMode) error { return os.Chmod(p, mode) }
func isValidUTF8(s string) bool              { return utf8.ValidString(s) }
