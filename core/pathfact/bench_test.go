package pathfact

import (
	"testing"
)

// A typical write_file call: one path and some prose.
func BenchmarkFactsTypical(b *testing.B) {
	fx := newFixture(b, nil)
	args := decodeJSON(b, fx.p(`{"path": "$B/root/proj/file.txt", "content": "# Notes\nSome prose, and/or a list:\n- one\n- two\n", "options": {"dryRun": false}}`))
	b.ReportAllocs()
	for b.Loop() {
		_ = fx.a.Facts(args)
	}
}

// read_multiple_files with three paths (one relative, one missing).
func BenchmarkFactsThreePaths(b *testing.B) {
	fx := newFixture(b, nil)
	args := decodeJSON(b, fx.p(`{"paths": ["$B/root/proj/file.txt", "sub/notes.md", "$B/root/proj/sub/missing/x.txt"]}`))
	b.ReportAllocs()
	for b.Loop() {
		_ = fx.a.Facts(args)
	}
}

// Arguments without paths: the cost of deciding that nothing is a path.
func BenchmarkFactsNoPaths(b *testing.B) {
	fx := newFixture(b, nil)
	args := decodeJSON(b, `{"query": "SELECT * FROM users WHERE id = 1", "limit": 10, "note": "see https://example.com/a/b and/or c", "tags": ["x", "y", "z"]}`)
	b.ReportAllocs()
	for b.Loop() {
		_ = fx.a.Facts(args)
	}
}

func BenchmarkAnalyze(b *testing.B) {
	fx := newFixture(b, nil)
	for _, bc := range []struct{ name, raw string }{
		{"existing", "$B/root/proj/file.txt"},
		{"relative-missing", "sub/new/file.md"},
		{"symlink-escape", "$B/root/link-out/secret.txt"},
		{"traversal", "../../outside/secret.txt"},
		{"hostile", "%252e%252e%252f..∕／etc／passwd\x00.png"},
		{"windows", `C:\Users\bob\.ssh\id_rsa`},
	} {
		raw := fx.p(bc.raw)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = fx.a.Analyze("/path", raw)
			}
		})
	}
}

func BenchmarkSensitive(b *testing.B) {
	fx := newFixture(b, nil)
	paths := []string{fx.p("$B/root/proj/src/components/button/index.tsx")}
	b.ReportAllocs()
	for b.Loop() {
		_ = fx.a.sensitiveReason(paths)
	}
}

// The work done without the file system: both readings of a path, without
// resolving them. The rest of Analyze's time is lstat, readlink and
// access, one call per component.
func BenchmarkInterpretations(b *testing.B) {
	fx := newFixture(b, nil)
	for _, bc := range []struct{ name, raw string }{
		{"plain", "$B/root/proj/file.txt"},
		{"hostile", "%252e%252e%252f..∕／etc／passwd\x00.png"},
	} {
		raw := fx.p(bc.raw)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var f Fact
				s, _ := cutNUL(raw)
				full, _ := fx.a.fullInterpretation(&f, s)
				_, _ = fx.a.literalInterpretation(&f, s)
				_ = fx.a.sensitiveReason([]string{full.clean})
			}
		})
	}
}
