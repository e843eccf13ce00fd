package textfact

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNewToolArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		bindings map[string][]string
		wantErr  string // fragment, or "" for success
	}{
		{"none", nil, ""},
		{"every kind", map[string][]string{KindCommand: {"script", "/opts/run"}, KindSQL: {"q"}, KindURL: {"hook"}, KindText: {"query"}}, ""},
		{"unknown kind", map[string][]string{"shell": {"x"}}, `unknown kind "shell"`},
		{"empty name", map[string][]string{KindCommand: {""}}, `selector "": an argument name must have`},
		{"separators only", map[string][]string{KindSQL: {"__"}}, "an argument name must have"},
		{"bad pointer", map[string][]string{KindSQL: {"/a~x"}}, `selector "/a~x": in a JSON pointer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ta, err := NewToolArgs(tc.bindings)
			if tc.wantErr == "" {
				if err != nil || ta == nil {
					t.Fatalf("NewToolArgs = %v, %v", ta, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewToolArgs error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	if _, err := NewToolArgs(map[string][]string{KindCommand: {" "}}); !errors.Is(err, errEmptyArg) {
		t.Errorf("blank selector: %v does not wrap errEmptyArg", err)
	}
}

func TestAnalyzeForToolArgs(t *testing.T) {
	t.Parallel()
	a := New(Options{URLArgs: []string{"target"}})
	for _, tc := range []struct {
		name     string
		bindings map[string][]string
		args     string
		want     map[string]string // pointer → kind; strings not listed must be absent
	}{
		{"no bindings is Analyze", nil,
			`{"script": "ls", "q": "SELECT 1", "body": "hi"}`,
			map[string]string{"/script": KindCommand, "/q": KindText, "/body": KindText}},
		{"a name binds a kind", map[string][]string{KindSQL: {"q"}, KindCommand: {"program"}},
			`{"q": "SELECT 1", "Program": "ls", "body": "hi"}`,
			map[string]string{"/q": KindSQL, "/Program": KindCommand, "/body": KindText}},
		{"names compare like Options", map[string][]string{KindCommand: {"run_line"}},
			`{"RunLine": "a", "run-line": "b", "runlines": "c"}`,
			map[string]string{"/RunLine": KindCommand, "/run-line": KindCommand, "/runlines": KindText}},
		{"a binding beats Options and the defaults", map[string][]string{KindText: {"command"}, KindSQL: {"target"}},
			`{"command": "rm -rf /", "target": "x"}`,
			map[string]string{"/command": KindText, "/target": KindSQL}},
		{"a pointer binds one place", map[string][]string{KindCommand: {"/options/body"}},
			`{"options": {"body": "id"}, "body": "id"}`,
			map[string]string{"/options/body": KindCommand, "/body": KindText}},
		{"a pointer beats a name", map[string][]string{KindSQL: {"/step/run"}, KindCommand: {"run"}},
			`{"run": "a", "step": {"run": "b"}}`,
			map[string]string{"/run": KindCommand, "/step/run": KindSQL}},
		{"a pointer to an array element", map[string][]string{KindCommand: {"/parts/2"}},
			`{"parts": ["sh", "-c", "id; rm x"]}`,
			map[string]string{"/parts/0": KindText, "/parts/1": KindText, "/parts/2": KindCommand}},
		{"under a bound object the kind is inherited", map[string][]string{KindCommand: {"/job"}},
			`{"job": {"steps": ["make", {"x": "y"}], "webhook": "https://h.example/"}}`,
			map[string]string{"/job/steps/0": KindCommand, "/job/steps/1/x": KindCommand, "/job/webhook": KindURL}},
		{"a pointer to a bound array", map[string][]string{KindSQL: {"/batch"}},
			`{"batch": ["SELECT 1", "SELECT 2"]}`,
			map[string]string{"/batch/0": KindSQL, "/batch/1": KindSQL}},
		{"the most specific kind wins", map[string][]string{KindURL: {"x"}, KindSQL: {"x", "/y"}, KindCommand: {"/y"}},
			`{"x": "a", "y": "b"}`,
			map[string]string{"/x": KindSQL, "/y": KindCommand}},
		{"an escaped pointer", map[string][]string{KindSQL: {"/a~1b/~0c"}},
			`{"a/b": {"~c": "SELECT 1", "c": "x"}}`,
			map[string]string{"/a~1b/~0c": KindSQL, "/a~1b/c": KindText}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ta *ToolArgs
			if tc.bindings != nil {
				var err error
				if ta, err = NewToolArgs(tc.bindings); err != nil {
					t.Fatal(err)
				}
			}
			var args any
			if err := json.Unmarshal([]byte(tc.args), &args); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range a.AnalyzeFor(args, ta).Strings {
				got[f.Pointer] = f.Kind
			}
			if len(got) != len(tc.want) {
				t.Errorf("got kinds %v, want %v", got, tc.want)
			}
			for ptr, kind := range tc.want {
				if got[ptr] != kind {
					t.Errorf("%s: kind %q, want %q", ptr, got[ptr], kind)
				}
			}
		})
	}
}

// TestAnalyzeForBoundURL checks that a string bound to kind url gets its URL
// fact even when it does not read as one, as under a default URL name.
func TestAnalyzeForBoundURL(t *testing.T) {
	t.Parallel()
	ta, err := NewToolArgs(map[string][]string{KindURL: {"dest"}})
	if err != nil {
		t.Fatal(err)
	}
	r := New(Options{}).AnalyzeFor(map[string]any{"dest": "169.254.169.254/latest"}, ta)
	if len(r.Strings) != 1 || r.Strings[0].Kind != KindURL || r.Strings[0].URL == nil || !r.Strings[0].URL.Metadata {
		t.Fatalf("facts %+v: want kind url with a metadata URL fact", r.Strings)
	}
}
