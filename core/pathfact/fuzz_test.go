package pathfact

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// watchdog crashes the fuzz worker when a call hangs, so that the fuzzer
// records the input. Call the returned function when done.
func watchdog(what string, input any) func() {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic(fmt.Sprintf("%s has not returned after 10s on %q", what, input))
		}
	}()
	return func() { close(done) }
}

// checkFact checks what must hold for every Fact, whatever the input.
func checkFact(t *testing.T, a *Analyzer, f Fact) {
	t.Helper()
	if f.Error == ErrInternal.Error() {
		t.Fatalf("internal error (a recovered panic) for %q", f.Raw)
	}
	if f.Error != "" {
		if f.Canonical != "" || f.WithinRoots || f.Root != "" || f.Exists || f.Writable {
			t.Fatalf("error fact with a canonical form: %+v", f)
		}
		return
	}
	if !path.IsAbs(f.Canonical) || path.Clean(f.Canonical) != f.Canonical {
		t.Fatalf("Canonical %q of %q is not absolute and clean", f.Canonical, f.Raw)
	}
	if f.WithinRoots {
		if f.Root == "" || !within(f.Canonical, f.Root) || !slices.Contains(a.roots, f.Root) {
			t.Fatalf("within roots, but Canonical %q is not under Root %q", f.Canonical, f.Root)
		}
	} else if f.Root != "" {
		t.Fatalf("Root %q set outside the roots", f.Root)
	}
	if f.Sensitive != (f.SensitiveReason != "") {
		t.Fatalf("Sensitive %v with reason %q", f.Sensitive, f.SensitiveReason)
	}
	if f.WindowsForm && strings.HasPrefix(f.Canonical, "/C:") && f.WithinRoots {
		t.Fatalf("a Windows path within the roots: %+v", f)
	}
}

// literalOracle reads raw as a plain unix tool would, with the standard
// library's own EvalSymlinks on the longest existing prefix: an
// implementation independent of resolve.
func literalOracle(a *Analyzer, raw string) string {
	p, _, _ := strings.Cut(raw, "\x00")
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = a.home + p[1:]
	}
	if !strings.HasPrefix(p, "/") {
		p = a.cwd + "/" + p
	}
	p = filepath.Clean(p)
	rest := ""
	for {
		r, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(r, rest)
		}
		if !errors.Is(err, fs.ErrNotExist) && !strings.Contains(err.Error(), "not a directory") {
			return "" // unknown: no claim
		}
		if p == "/" {
			return filepath.Join("/", rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = filepath.Dir(p)
	}
}

func FuzzAnalyze(f *testing.F) {
	fx := newFixture(f, nil)
	for _, tc := range analyzeCases {
		if len(tc.raw) < 1024 {
			f.Add(strings.TrimPrefix(fx.p(tc.raw), "SYS:"))
		}
	}
	for _, s := range []string{"~", "~/", "file://", "file:", `\\`, "C:", "%", "%%", "%2", "%zz", "/..", "\x00", "．", "﷽", "ﬁle"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		defer watchdog("Analyze", raw)()
		a := fx.a
		got := a.Analyze("/x", raw)
		checkFact(t, a, got)
		if len(raw) <= MaxRawBytes && got.Raw != raw {
			t.Fatalf("Raw %q, want %q", got.Raw, raw)
		}
		if again := a.Analyze("/x", raw); !reflect.DeepEqual(got, again) {
			t.Fatalf("not deterministic:\n%+v\n%+v", got, again)
		}
		if got.Error == "" && got.WithinRoots && isValidUTF8(raw) && len(raw) < maxPathBytes {
			if o := literalOracle(a, raw); o != "" && a.rootOf(o) == "" {
				t.Fatalf("%q is within the roots (canonical %q), but read literally it is %q", raw, got.Canonical, o)
			}
		}
		if utf8.ValidString(raw) {
			n := normalise(raw)
			if normalise(n) != n {
				t.Fatalf("normalise is not idempotent on %q", raw)
			}
		}
	})
}

// lookup resolves an RFC 6901 pointer in decoded JSON.
func lookup(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	if ptr[0] != '/' {
		return nil, false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[tok]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || strconv.Itoa(i) != tok {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// before reports whether pointer p comes before q in Facts' order: keys in
// byte order, indices numerically, depth first.
func before(v any, p, q string) bool {
	tp, tq := strings.Split(p, "/"), strings.Split(q, "/")
	for i := 1; ; i++ {
		switch {
		case i >= len(tp):
			return i < len(tq)
		case i >= len(tq):
			return false
		case tp[i] == tq[i]:
			v, _ = lookup(v, "/"+tp[i])
			continue
		}
		unesc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~") }
		if _, isArray := v.([]any); isArray {
			x, _ := strconv.Atoi(tp[i])
			y, _ := strconv.Atoi(tq[i])
			return x < y
		}
		return unesc(tp[i]) < unesc(tq[i])
	}
}

func FuzzFacts(f *testing.F) {
	fx := newFixture(f, nil)
	for _, s := range []string{
		`{"path": "a", "paths": ["../b", "/etc/passwd"], "note": "and/or"}`,
		`{"a/b": {"~c": "/etc/x"}}`,
		`["/a", ["~/b", {"dir": "c"}]]`,
		`"/etc/passwd"`,
		`{"files": [["a"], {"x": "y"}], "x": "a/%2e%2e/b"}`,
		`{"uri": "file:///etc", "w": "C:\\x", "u": "\\\\srv\\s", "f": "／etc"}`,
		`{"":{"":{"":[[[["/"]]]]}}}`,
		`null`, `1`, `[]`, `{}`,
	} {
		f.Add([]byte(fx.p(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog("Facts", data)()
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		a := fx.a
		facts := a.Facts(v)
		if facts == nil || len(facts) > MaxPaths+1 {
			t.Fatalf("%d facts", len(facts))
		}
		if again := a.Facts(v); !reflect.DeepEqual(facts, again) {
			t.Fatal("not deterministic")
		}
		for i, fact := range facts {
			checkFact(t, a, fact)
			target, ok := lookup(v, fact.Pointer)
			if !ok {
				t.Fatalf("pointer %q does not resolve", fact.Pointer)
			}
			if s, isString := target.(string); isString && len(s) <= MaxRawBytes && fact.Raw != s {
				t.Fatalf("pointer %q holds %q, fact says %q", fact.Pointer, s, fact.Raw)
			}
			if fact.Error == "" {
				if _, isString := target.(string); !isString {
					t.Fatalf("pointer %q is not a string", fact.Pointer)
				}
			}
			if i > 0 && before(v, fact.Pointer, facts[i-1].Pointer) {
				t.Fatalf("out of order: %q after %q", fact.Pointer, facts[i-1].Pointer)
			}
		}
		// A tool's selectors only add paths (unless the cap cuts the walk).
		more := a.FactsFor(v, fuzzToolArgs)
		if capped(more) {
			return
		}
		for _, fact := range facts {
			if !slices.Contains(more, fact) {
				t.Fatalf("the fact at %q is lost with selectors", fact.Pointer)
			}
		}
	})
}

// fuzzToolArgs are the selectors FuzzFacts adds.
var fuzzToolArgs = func() *ToolArgs {
	t, err := NewToolArgs([]string{"x", "note", "/", "/a/0", "/a~1b/~0c"})
	if err != nil {
		panic(err)
	}
	return t
}()

// capped reports whether the walk stopped at a cap.
func capped(facts []Fact) bool {
	return slices.ContainsFunc(facts, func(f Fact) bool {
		return f.Error == ErrTooManyPaths.Error() || f.Error == ErrTooLarge.Error()
	})
}
