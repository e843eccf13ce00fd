package pathfact

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewToolArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		selectors []string
		wantErr   string // fragment, or "" for success
	}{
		{"none", nil, ""},
		{"names and pointers", []string{"workdir", "Out_File", "/options/output", "/a~1b/~0c", "/"}, ""},
		{"empty name", []string{"ok", ""}, `selector "": an argument name must have`},
		{"separators only", []string{"_-. "}, "an argument name must have"},
		{"bad escape", []string{"/a~2"}, `selector "/a~2": in a JSON pointer "~" must be followed`},
		{"trailing tilde", []string{"/a~"}, `must be followed by "0" or "1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta, err := NewToolArgs(tc.selectors)
			if tc.wantErr == "" {
				if err != nil || ta == nil {
					t.Fatalf("NewToolArgs(%q) = %v, %v", tc.selectors, ta, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewToolArgs(%q) error = %v, want %q", tc.selectors, err, tc.wantErr)
			}
		})
	}
	if _, err := NewToolArgs([]string{""}); !errors.Is(err, errEmptyArg) {
		t.Errorf("empty selector: %v does not wrap errEmptyArg", err)
	}
}

func TestFactsForToolArgs(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil)
	for _, tc := range []struct {
		name      string
		selectors []string
		args      string
		want      []string // "pointer=raw"
	}{
		{"no selectors is Facts", nil,
			`{"workdir": "sub", "output": "out.txt", "note": "hello"}`,
			[]string{"/workdir=sub"}},
		{"a name makes any string a path", []string{"output"},
			`{"output": "out.txt", "note": "out.txt"}`,
			[]string{"/output=out.txt"}},
		{"names match like the built-in ones", []string{"out_file"},
			`{"OutFile": "a", "out-file": "b", "OUT.FILE": "c", "outfiles": "d"}`,
			[]string{"/OUT.FILE=c", "/OutFile=a", "/out-file=b"}},
		{"a name matches at any depth", []string{"target_name"},
			`{"opts": {"targetName": "x"}, "list": [{"target_name": "y"}]}`,
			[]string{"/list/0/target_name=y", "/opts/targetName=x"}},
		{"a name beats an ambiguous built-in", []string{"source"},
			`{"source": "wikipedia"}`,
			[]string{"/source=wikipedia"}},
		{"a pointer selects one place", []string{"/options/output"},
			`{"options": {"output": "o", "mode": "m"}, "output": "top"}`,
			[]string{"/options/output=o"}},
		{"a pointer to an array selects its strings", []string{"/inputs"},
			`{"inputs": ["a", ["b"], 3, {"k": "v"}]}`,
			[]string{"/inputs/0=a", "/inputs/1/0=b"}},
		{"a pointer to an element", []string{"/argv/1"},
			`{"argv": ["cp", "x", "y"]}`,
			[]string{"/argv/1=x"}},
		{"a pointer to an object walks its keys", []string{"/opts"},
			`{"opts": {"mode": "fast", "dir": "d"}}`,
			[]string{"/opts/dir=d"}},
		{"escaped pointer", []string{"/a~1b/~0c"},
			`{"a/b": {"~c": "x", "c": "y"}}`,
			[]string{"/a~1b/~0c=x"}},
		{"pointer to the empty key", []string{"/"},
			`{"": "x", "y": "z"}`,
			[]string{"/=x"}},
		{"numbers are not paths", []string{"count", "/n"},
			`{"count": 3, "n": true}`,
			nil},
		{"value rules still apply elsewhere", []string{"output"},
			`{"output": "o", "other": "/etc/passwd"}`,
			[]string{"/other=/etc/passwd", "/output=o"}},
		{"a pointer that is absent selects nothing", []string{"/missing"},
			`{"present": "x"}`,
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ta *ToolArgs
			if tc.selectors != nil {
				var err error
				if ta, err = NewToolArgs(tc.selectors); err != nil {
					t.Fatal(err)
				}
			}
			got := pointers(fx.a.FactsFor(decodeJSON(t, tc.args), ta))
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestFactsForKeepsFacts checks that a path selected by a ToolArgs is
// canonicalised like any other: the facts are those of Analyze.
func TestFactsForKeepsFacts(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, nil)
	ta, err := NewToolArgs([]string{"output"})
	if err != nil {
		t.Fatal(err)
	}
	facts := fx.a.FactsFor(map[string]any{"output": "../../outside/secret.txt"}, ta)
	if len(facts) != 1 {
		t.Fatalf("facts = %+v", facts)
	}
	want := fx.a.Analyze("/output", "../../outside/secret.txt")
	if facts[0] != want {
		t.Errorf("FactsFor gave %+v, Analyze %+v", facts[0], want)
	}
	if facts[0].WithinRoots || !facts[0].Traversal || facts[0].Canonical != fx.p("$B/outside/secret.txt") {
		t.Errorf("fact %+v: want a traversal outside the roots to $B/outside/secret.txt", facts[0])
	}
	// Without the selector a plain word under "output" is no path.
	if got := pointers(fx.a.Facts(map[string]any{"output": "report"})); len(got) != 0 {
		t.Errorf("without selectors a plain word under output is a path: %q", got)
	}
}
