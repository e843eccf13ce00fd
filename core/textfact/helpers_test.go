package textfact

import (
	"slices"
	"testing"
)

// golden compares got with testdata/name, or rewrites it under -update.

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
