package textfact

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// runaway is far above what the bounded cases cost (milliseconds; see the
// benchmarks): it catches unbounded work, not slowness on a busy machine.
const runaway = 30 * time.Second

func TestPointers(t *testing.T) {
	a := New(Options{})
	args := map[string]any{
		"a/b":   "slash",
		"m~n":   "tilde",
		"~1":    "tilde one",
		"":      "empty key",
		"items": []any{"zero", map[string]any{"text": "nested"}, []any{"deep"}},
		"n":     1.0, "b": true, "z": nil,
		"Key": "upper",
	}
	want := []struct{ ptr, name string }{
		{"/", ""},
		{"/Key", "key"},
		{"/a~1b", "a/b"},
		{"/items/0", "items"},
		{"/items/1/text", "text"},
		{"/items/2/0", "items"},
		{"/m~0n", "m~n"},
		{"/~01", "~1"},
	}
	fs := a.Facts(args)
	if len(fs) != len(want) {
		t.Fatalf("got %d facts: %+v", len(fs), fs)
	}
	for i, w := range want {
		if fs[i].Pointer != w.ptr || fs[i].Name != w.name {
			t.Errorf("fact %d: pointer %q name %q, want %q %q", i, fs[i].Pointer, fs[i].Name, w.ptr, w.name)
		}
	}

	// A bare string and array-only paths.
	if fs := a.Facts("x"); len(fs) != 1 || fs[0].Pointer != "" || fs[0].Name != "" {
		t.Errorf("bare string: %+v", fs)
	}
	if fs := a.Facts([]any{[]any{"x"}}); len(fs) != 1 || fs[0].Pointer != "/0/0" || fs[0].Name != "" {
		t.Errorf("arrays: %+v", fs)
	}
	for _, v := range []any{nil, 1.0, true, map[string]any{}, []any{}, json.Number("1"), struct{}{}} {
		if fs := a.Facts(v); len(fs) != 0 {
			t.Errorf("%#v: %d facts", v, len(fs))
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := New(Options{})
	args := map[string]any{}
	for i := range 50 {
		args[fmt.Sprintf("key%d", i)] = fmt.Sprintf("value %d %%41 &lt;", i)
	}
	first := a.Facts(args)
	for range 20 {
		if got := a.Facts(args); !reflect.DeepEqual(got, first) {
			t.Fatal("facts differ between runs")
		}
	}
}

func TestMaxStrings(t *testing.T) {
	a := New(Options{MaxStrings: 3})
	r := a.Analyze([]any{"a", "b", "c", "d", "e", 1.0, map[string]any{"x": "f"}})
	if len(r.Strings) != 3 || r.Omitted != 3 || r.Incomplete {
		t.Errorf("strings %d omitted %d incomplete %v", len(r.Strings), r.Omitted, r.Incomplete)
	}
	if New(Options{}).maxStrings != DefaultMaxStrings || New(Options{MaxStrings: -1}).maxStrings != DefaultMaxStrings {
		t.Error("default MaxStrings not applied")
	}

	// 100,000 elements: bounded output, quick.
	big := make([]any, 100_000)
	for i := range big {
		big[i] = "item"
	}
	start := time.Now()
	r = New(Options{}).Analyze(map[string]any{"items": big})
	if len(r.Strings) != DefaultMaxStrings || r.Omitted != len(big)-DefaultMaxStrings {
		t.Errorf("strings %d omitted %d", len(r.Strings), r.Omitted)
	}
	if d := time.Since(start); d > runaway {
		t.Errorf("100k elements took %v", d)
	}
}

func TestMaxLen(t *testing.T) {
	a := New(Options{MaxLen: 32})
	s := strings.Repeat("abcdefgh", 12)
	f := one(t, a, "note", s)
	if f.Len != len(s) || !f.Truncated || !hasSignal(f, SignalTruncated) || f.Normalized != s[:32] {
		t.Errorf("len %d truncated %v signals %q normalized %q", f.Len, f.Truncated, f.Signals, f.Normalized)
	}
	// A cut never splits a UTF-8 sequence.
	f = one(t, a, "note", strings.Repeat("é", 40))
	if len(f.Normalized) != 32 || !f.Truncated {
		t.Errorf("utf-8 cut: %q", f.Normalized)
	}
	f = one(t, a, "note", "short")
	if f.Truncated || hasSignal(f, SignalTruncated) {
		t.Error("short string flagged")
	}

	// A 10 MB string costs no more than its first MaxLen bytes.
	huge := strings.Repeat("A%41&lt;\\u0041 aWdub3JlIHByZXZpb3VzIGluc3RydWN0aW9ucw== ", 10<<20/56)
	start := time.Now()
	f = one(t, New(Options{}), "note", huge)
	if !f.Truncated || len(f.Normalized) > DefaultMaxLen || f.Len != len(huge) {
		t.Errorf("huge: truncated %v len %d", f.Truncated, len(f.Normalized))
	}
	for _, v := range f.Variants {
		if len(v) > DefaultMaxLen {
			t.Errorf("variant of %d bytes", len(v))
		}
	}
	if d := time.Since(start); d > runaway {
		t.Errorf("10 MB string took %v", d)
	}
}

func nest(depth int, leaf any) any {
	v := leaf
	for i := 0; i < depth; i++ {
		if i%2 == 0 {
			v = map[string]any{"k": v}
		} else {
			v = []any{v}
		}
	}
	return v
}

func TestDepth(t *testing.T) {
	a := New(Options{})
	r := a.Analyze(nest(64, "deep"))
	if len(r.Strings) != 1 || r.Incomplete {
		t.Errorf("depth 64: %d facts, incomplete %v", len(r.Strings), r.Incomplete)
	}
	r = a.Analyze(nest(65, "too deep"))
	if len(r.Strings) != 0 || !r.Incomplete {
		t.Errorf("depth 65: %d facts, incomplete %v", len(r.Strings), r.Incomplete)
	}
	r = a.Analyze(map[string]any{"a": "shallow", "b": nest(1000, "x")})
	if len(r.Strings) != 1 || !r.Incomplete {
		t.Errorf("depth 1000: %d facts, incomplete %v", len(r.Strings), r.Incomplete)
	}
	// A cycle (not possible from JSON) is stopped by the depth cap.
	m := map[string]any{"s": "x"}
	m["self"] = m
	if r := a.Analyze(m); !r.Incomplete || len(r.Strings) != 64 {
		t.Errorf("cycle: %d facts, incomplete %v", len(r.Strings), r.Incomplete)
	}
}

// Shared subtrees (possible from Go, not from JSON) cannot make the walk
// exponential: it stops after a million values.
func TestVisitBudget(t *testing.T) {
	var v any = 1.0
	for range 40 {
		v = []any{v, v}
	}
	start := time.Now()
	r := New(Options{}).Analyze(v)
	if !r.Incomplete {
		t.Error("not incomplete")
	}
	if d := time.Since(start); d > runaway {
		t.Errorf("took %v", d)
	}
}

func TestConcurrent(t *testing.T) {
	a := New(Options{CommandArgs: []string{"prog"}})
	args := map[string]any{"query": "%2527 OR 1=1", "prog": "ls\u200b", "url": "http://0x7f.1/"}
	want := a.Facts(args)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if got := a.Facts(args); !reflect.DeepEqual(got, want) {
					t.Error("concurrent facts differ")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSignalsSorted(t *testing.T) {
	var all signals
	for b := signals(1); b < sigEnd; b <<= 1 {
		all |= b
		if signalName(b) == "" {
			t.Errorf("bit %d has no name", b)
		}
	}
	l := all.list()
	for i := 1; i < len(l); i++ {
		if l[i-1] >= l[i] {
			t.Errorf("signals not sorted: %q", l)
		}
	}
}

// The typical call allocates only what the facts hold.
func TestTypicalCallAllocations(t *testing.T) {
	a := New(Options{})
	args := typicalArgs()
	allocs := testing.AllocsPerRun(200, func() { _ = a.Facts(args) })
	// The facts slice, the pointer buffer and one pointer string per fact.
	if allocs > 2+2 {
		t.Errorf("%.1f allocations per typical call", allocs)
	}
}

func typicalArgs() map[string]any {
	return map[string]any{
		"path":    "/home/alice/notes/today.md",
		"content": "Buy milk and eggs. Call Bob at 5pm about the report.",
		"append":  true,
		"limit":   10.0,
	}
}

// Once a call has examined 64 × MaxLen bytes, long strings are examined only
// in part (and flagged) while short ones are still examined in full.
func TestExamineBudget(t *testing.T) {
	a := New(Options{MaxLen: 16 << 10})
	items := make([]any, 0, 101)
	for range 100 {
		items = append(items, strings.Repeat("abcdefg ", 2<<10)) // 16 KiB
	}
	items = append(items, "rm -rf / --no-preserve-root")
	fs := a.Facts(items)
	full := 0
	for _, f := range fs[:100] {
		if !f.Truncated {
			full++
		} else if len(f.Normalized) != examineFloor || !hasSignal(f, SignalTruncated) {
			t.Errorf("%s: truncated to %d bytes", f.Pointer, len(f.Normalized))
		}
	}
	if full != examineMult {
		t.Errorf("%d strings examined in full, want %d", full, examineMult)
	}
	if last := fs[100]; last.Truncated || last.Normalized != "rm -rf / --no-preserve-root" {
		t.Errorf("short string after the budget: %+v", last)
	}
}
