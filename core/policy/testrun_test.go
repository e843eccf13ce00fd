package policy

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"
)

// A small library with its own test and fixture, and a user package whose
// rule changes what the library's test expects.
var testLibrary = fstest.MapFS{
	"lib.rego":           {Data: []byte("package lib\n\nlimit := data.cfg.limit\n\nlist := data.cfg.list\n")},
	"lib_test.rego":      {Data: []byte("package lib_test\n\nimport data.lib\n\ntest_default_limit if lib.limit == 10\n\nfixture := {\"x\": 1}\n")},
	"data.json":          {Data: []byte(`{"cfg": {"limit": 10, "list": ["a", "b"]}}`)},
	"fixtures_test.rego": {Data: []byte("package fx\n\nanswer := 42\n")},
}

func TestRunTests(t *testing.T) {
	user := writePolicy(t, map[string]string{
		"user_test.rego": "package user_test\n\nimport data.lib\nimport data.fx\n\n" +
			"test_limit_from_the_data_file if lib.limit == 3\n\n" +
			"test_list_replaced if lib.list == [\"c\"]\n\n" +
			"test_fixture_available if fx.answer == 42\n",
	})
	data := writePolicy(t, map[string]string{"override.yaml": "cfg:\n  limit: 3\n  list: [c]\n"}) + "/override.yaml"
	for _, tc := range []struct {
		name         string
		opts         TestOptions
		pass, fail   int
		wantInOutput string
	}{
		{"library alone runs its tests", TestOptions{}, 1, 0, "PASS: 1/1"},
		{"user tests only, data merged like the proxy merges it", TestOptions{Paths: []string{user}, DataFiles: []string{data}}, 3, 0, "PASS: 3/3"},
		{"--library adds the library's tests (which the override breaks)", TestOptions{Paths: []string{user}, DataFiles: []string{data}, LibraryTests: true}, 3, 1, "FAIL: 1/4"},
		{"--run filters", TestOptions{Paths: []string{user}, DataFiles: []string{data}, Run: "test_list"}, 1, 0, "PASS: 1/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.opts.Builtin, tc.opts.Out = testLibrary, &out
			sum, err := RunTests(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Passed != tc.pass || sum.Failed+sum.Errored != tc.fail || !strings.Contains(out.String(), tc.wantInOutput) {
				t.Fatalf("summary %+v\n%s", sum, out.String())
			}
		})
	}
}
