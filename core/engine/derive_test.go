package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestDeriveSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	many := make([]string, maxDerivePaths+1)
	for i := range many {
		many[i] = "a=b"
	}
	b, _ := json.Marshal(map[string]any{"paths": many})
	for _, tc := range []struct{ name, args, field string }{
		{"no paths", `{}`, "paths"},
		{"not strings", `{"paths":[1]}`, "/paths/0"},
		{"frequency above 1", `{"paths":[],"min_frequency":2}`, "/min_frequency"},
		{"too many paths", string(b), "/paths"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "derive", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

func TestDeriveFindsKeys(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "derive", `{"paths":[
		"/data/outcome=success/tool=search/1.json",
		"/data/outcome=failure/tool=search/2.json",
		"/data/outcome=success/tool=math/3.json",
		"/data/outcome=success/rare=x/4.json",
		"plain/path/5.json"]}`)
	var got derivedSchema
	dataOf(t, res, &got)
	if !got.Derived || got.Stats.PathCount != 5 {
		t.Fatalf("derived %+v", got)
	}
	out := got.Structure["outcome"]
	if out.Level != 2 || strings.Join(out.Values, ",") != "failure,success" || out.Pattern != "outcome={value}" {
		t.Fatalf("outcome = %+v", out)
	}
	if got.Structure["tool"].Level != 3 || got.Stats.UniqueKeys != 3 {
		t.Fatalf("structure %+v", got.Structure)
	}
	res = mustCall(t, e, alice, "derive", `{"min_frequency":0.5,"paths":["a=1/b=1","a=1/b=2","a=1/b=3"]}`)
	dataOf(t, res, &got)
	if _, ok := got.Structure["b"]; ok || got.Stats.UniqueKeys != 1 {
		t.Fatalf("keys below min_frequency kept: %+v", got.Structure)
	}
}

func TestDeriveProgressAndCancellation(t *testing.T) {
	paths := make([]string, 3500)
	for i := range paths {
		paths[i] = fmt.Sprintf("k=%d/v=x", i%7)
	}
	var calls int
	_, err := deriveSchema(context.Background(), paths, 0.1, func(done, total float64, _ string) {
		calls++
		if total != 3500 || done > total {
			t.Errorf("progress %v/%v", done, total)
		}
	})
	if err != nil || calls != 4 {
		t.Fatalf("err %v, %d progress calls (want 3 during, 1 at the end)", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = deriveSchema(ctx, paths, 0.1, func(float64, float64, string) {})
	if AsError(err).Category != CategoryCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}
