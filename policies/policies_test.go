package policies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/sovereign-stack/sovereign/policies"
)

var parserOpts = ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1}

// library reads every .rego file of the embedded library (tests included).
func library(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := fs.Glob(policies.FS, "*.rego")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .rego files embedded (%v)", err)
	}
	out := make(map[string][]byte, len(files))
	for _, name := range files {
		src, err := fs.ReadFile(policies.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = src
	}
	return out
}

func parse(t *testing.T, files map[string][]byte) map[string]*ast.Module {
	t.Helper()
	mods := make(map[string]*ast.Module, len(files))
	for name, src := range files {
		m, err := ast.ParseModuleWithOpts(name, string(src), parserOpts)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		mods[name] = m
	}
	return mods
}

func defaultData(t *testing.T) map[string]any {
	t.Helper()
	raw, err := fs.ReadFile(policies.FS, "data.json")
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		t.Fatalf("data.json: %v", err)
	}
	return data
}

func inputSchema(t *testing.T) *ast.SchemaSet {
	t.Helper()
	raw, err := fs.ReadFile(policies.FS, "input.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatalf("input.schema.json: %v", err)
	}
	ss := ast.NewSchemaSet()
	ss.Put(ast.SchemaRootRef, schema)
	return ss
}

// compile compiles modules strictly, type-checking input against the schema.
func compile(t *testing.T, mods map[string]*ast.Module) *ast.Compiler {
	t.Helper()
	c := ast.NewCompiler().
		WithStrict(true).
		WithSchemas(inputSchema(t)).
		WithUseTypeCheckAnnotations(true).
		WithDefaultRegoVersion(ast.RegoV1)
	c.Compile(mods)
	return c
}

// TestRegoTests runs every Rego test of the library, as `opa test` does,
// with built-in errors raised as test errors.
func TestRegoTests(t *testing.T) {
	ctx := context.Background()
	store := inmem.NewFromObject(defaultData(t))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Abort(ctx, txn)

	ch, err := tester.NewRunner().
		SetStore(store).
		SetModules(parse(t, library(t))).
		SetDefaultRegoVersion(ast.RegoV1).
		RaiseBuiltinErrors(true).
		SetTimeout(2*time.Minute). // generous: the corpora are large and CI machines busy
		RunTests(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	var passed, failed int
	for r := range ch {
		name := r.Package + "." + r.Name
		switch {
		case r.Error != nil:
			failed++
			t.Errorf("%s (%s): error: %v", name, r.Location, r.Error)
		case r.Fail:
			failed++
			var cases []string
			for path, sr := range r.SubResults.Iter {
				if sr.Fail && len(sr.SubResults) == 0 {
					cases = append(cases, strings.Join(path, " / "))
				}
			}
			if len(cases) > 0 {
				t.Errorf("%s (%s): FAIL for %q", name, r.Location, cases)
			} else {
				t.Errorf("%s (%s): FAIL", name, r.Location)
			}
		case r.Skip:
		default:
			passed++
		}
	}
	if passed == 0 {
		t.Fatal("no Rego test ran")
	}
	t.Logf("%d Rego tests passed, %d failed", passed, failed)
}

// TestFormatted fails for a .rego file that `opa fmt` would change.
func TestFormatted(t *testing.T) {
	for name, src := range library(t) {
		want, err := format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1, ParserOptions: &parserOpts})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(want, src) {
			t.Errorf("%s is not formatted: run `go run github.com/open-policy-agent/opa@v1.22.3 fmt -w policies/`", name)
		}
	}
}

// TestCompilesStrictly compiles the library and its tests the way
// `opa check --strict --schema policies/input.schema.json policies/` does.
func TestCompilesStrictly(t *testing.T) {
	c := compile(t, parse(t, library(t)))
	for _, err := range c.Errors {
		t.Error(err)
	}
}

// TestSchemaCatchesMisspeltInput shows that the input schema turns a typo
// in an input reference into a compile error.
func TestSchemaCatchesMisspeltInput(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"input.tool.efect", `undefined ref: input.tool.efect`},
		{"input.facts.paths[_].within_root", `undefined ref: input.facts.paths[_].within_root`},
		{"input.principle.id", `undefined ref: input.principle.id`},
		{"input.facts.strings[_].url.loopbak", `undefined ref: input.facts.strings[_].url.loopbak`},
	}
	for _, tc := range tests {
		src := "package typo\n\nx if " + tc.ref + "\n"
		c := compile(t, map[string]*ast.Module{"typo.rego": ast.MustParseModuleWithOpts(src, parserOpts)})
		if len(c.Errors) == 0 || !strings.Contains(c.Errors.Error(), tc.want) {
			t.Errorf("%s: errors %v, want %q", tc.ref, c.Errors, tc.want)
		}
	}
	// The correct spelling compiles.
	c := compile(t, map[string]*ast.Module{"ok.rego": ast.MustParseModuleWithOpts("package ok\n\nx if input.tool.effect == \"read\"\n", parserOpts)})
	if len(c.Errors) > 0 {
		t.Errorf("correct reference rejected: %v", c.Errors)
	}
}

// TestDefaultPatternsCompile checks every pattern of data.json is a valid
// RE2 expression and that the set stays well under OPA's 100-entry regex
// cache.
func TestDefaultPatternsCompile(t *testing.T) {
	data := defaultData(t)
	inj := data["sovereign_config"].(map[string]any)["injection"].(map[string]any)
	n := 0
	for _, set := range []string{"sql", "command", "prompt", "secrets", "secret_assignments"} {
		for id, e := range inj[set].(map[string]any) {
			entry := e.(map[string]any)
			p, _ := entry["pattern"].(string)
			if _, err := regexp.Compile(p); err != nil {
				t.Errorf("%s %s: %v", set, id, err)
			}
			if kws, _ := entry["keywords"].([]any); len(kws) == 0 {
				t.Errorf("%s %s: no keywords (the pattern would run on every string)", set, id)
			}
			n++
		}
	}
	if n > 60 {
		t.Errorf("%d default patterns; keep them well under OPA's 100-entry regex cache", n)
	}
}
