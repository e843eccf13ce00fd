package textfact

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from what was produced (run go test -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// one returns the only fact for a bare string analysed under the argument
// name (none when name is "").
func one(t *testing.T, a *Analyzer, name, s string) Fact {
	t.Helper()
	var args any = s
	if name != "" {
		args = map[string]any{name: s}
	}
	fs := a.Facts(args)
	if len(fs) != 1 {
		t.Fatalf("got %d facts, want 1", len(fs))
	}
	return fs[0]
}

func hasSignal(f Fact, s string) bool { return slices.Contains(f.Signals, s) }

func hasVariant(f Fact, v string) bool { return slices.Contains(f.Variants, v) }
