package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// writePolicy writes one module into a fresh directory and returns it.
func writePolicy(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	opts.NoBuiltin = opts.Builtin == nil
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const allowAll = `package sovereign
decision := {"allow": true, "reasons": [], "obligations": []}
`

func TestFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy string
		input  map[string]any
		wantID string
	}{
		{"undefined decision", "package sovereign\nother := 1\n", nil, ReasonUndefined},
		{"decision not an object", "package sovereign\ndecision := true\n", nil, ReasonMalformed},
		{"allow not a boolean", "package sovereign\ndecision := {\"allow\": \"yes\"}\n", nil, ReasonMalformed},
		{"reason without msg", "package sovereign\ndecision := {\"allow\": false, \"reasons\": [{\"id\": \"X\"}]}\n", nil, ReasonMalformed},
		{"allow with reasons", "package sovereign\ndecision := {\"allow\": true, \"reasons\": [{\"id\": \"X\", \"msg\": \"m\"}]}\n", nil, ReasonMalformed},
		{"deny without reason", "package sovereign\ndecision := {\"allow\": false}\n", nil, ReasonMalformed},
		{"unknown obligation", "package sovereign\ndecision := {\"allow\": true, \"obligations\": [{\"type\": \"launch_missiles\"}]}\n", nil, ReasonObligation},
		{"obligation not an object", "package sovereign\ndecision := {\"allow\": true, \"obligations\": [1]}\n", nil, ReasonMalformed},
		{"built-in error", "package sovereign\ndecision := {\"allow\": to_number(input.x) > 0}\n", map[string]any{"x": "not a number"}, ReasonEvalError},
		{"conflicting values", "package sovereign\ndecision := {\"allow\": true} if input.a\ndecision := {\"allow\": false} if input.b\n", map[string]any{"a": true, "b": true}, ReasonEvalError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t, Options{Paths: []string{writePolicy(t, map[string]string{"p.rego": tc.policy})}})
			d := e.Decide(context.Background(), tc.input)
			if d.Allow || len(d.Reasons) == 0 || d.Reasons[0].ID != tc.wantID {
				t.Fatalf("decision %+v, want a deny with reason %s", d, tc.wantID)
			}
		})
	}
}

func TestTimeoutDenies(t *testing.T) {
	t.Parallel()
	slow := "package sovereign\ndecision := {\"allow\": count([x | some x in numbers.range(1, 100000000)]) > 0}\n"
	e := newEngine(t, Options{Paths: []string{writePolicy(t, map[string]string{"p.rego": slow})}, Timeout: 5 * time.Millisecond})
	d := e.Decide(context.Background(), nil)
	if d.Allow || d.Reasons[0].ID != ReasonEvalError || !strings.Contains(d.Reasons[0].Msg, "did not finish") {
		t.Fatalf("decision %+v, want a timeout deny", d)
	}
}

func TestAllowAndObligations(t *testing.T) {
	t.Parallel()
	policy := `package sovereign
decision := {"allow": true, "reasons": [], "obligations": [{"type": "rate_limit", "key": input.k, "limit": 10, "window": "1m"}]}
`
	e := newEngine(t, Options{Paths: []string{writePolicy(t, map[string]string{"p.rego": policy})}})
	d := e.Decide(context.Background(), map[string]any{"k": "fs:delete"})
	if !d.Allow || !d.Enforced || d.Mode != ModeEnforce || d.Revision == "" {
		t.Fatalf("decision %+v", d)
	}
	if len(d.Obligations) != 1 || d.Obligations[0].Type() != ObligationRateLimit || d.Obligations[0]["limit"] != 10.0 || d.Obligations[0]["key"] != "fs:delete" {
		t.Fatalf("obligations %+v", d.Obligations)
	}
}

func TestCompileIsStrictAndPure(t *testing.T) {
	t.Parallel()
	for name, policy := range map[string]string{
		"syntax error": "package sovereign\ndecision := {\n",
		"unused local": "package sovereign\ndecision := {\"allow\": true} if { x := 1 }\n",
		"network":      "package sovereign\ndecision := {\"allow\": http.send({\"method\": \"get\", \"url\": \"http://x\"}).status_code == 200}\n",
		"clock":        "package sovereign\ndecision := {\"allow\": time.now_ns() > 0}\n",
		"v0 syntax":    "package sovereign\ndeny[msg] { msg := \"x\" }\n",
	} {
		dir := writePolicy(t, map[string]string{"p.rego": policy})
		_, err := New(context.Background(), Options{NoBuiltin: true, Paths: []string{dir}})
		if !errors.Is(err, ErrInvalidPolicy) {
			t.Errorf("%s: compiled (err %v), want ErrInvalidPolicy", name, err)
		}
	}
}

func TestReloadKeepsLastGoodAndChangesRevision(t *testing.T) {
	t.Parallel()
	dir := writePolicy(t, map[string]string{"p.rego": allowAll})
	var loads []string
	e := newEngine(t, Options{Paths: []string{dir}, OnLoad: func(rev, prev string, _ int) { loads = append(loads, prev+">"+rev) }})
	rev1 := e.Revision()
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package sovereign\ndecision := {"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(context.Background()); err == nil {
		t.Fatal("a broken policy reloaded")
	}
	if e.Revision() != rev1 || !e.Decide(context.Background(), nil).Allow {
		t.Fatal("a failed reload did not keep the last good revision")
	}
	deny := "package sovereign\ndecision := {\"allow\": false, \"reasons\": [{\"id\": \"T-1\", \"msg\": \"no\"}]}\n"
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(deny), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := e.Decide(context.Background(), nil)
	if e.Revision() == rev1 || d.Allow || d.Reasons[0].ID != "T-1" || d.Revision != e.Revision() {
		t.Fatalf("after reload: revision %s (was %s), decision %+v", e.Revision(), rev1, d)
	}
	if err := e.Reload(context.Background()); err != nil { // unchanged: no new load
		t.Fatal(err)
	}
	if want := []string{">" + rev1, rev1 + ">" + e.Revision()}; !slices.Equal(loads, want) {
		t.Fatalf("OnLoad saw %v, want %v (the failed reload and the unchanged one are not loads)", loads, want)
	}
}

func TestDataFilesMergeOverBuiltinAndChangeRevision(t *testing.T) {
	t.Parallel()
	builtin := fstest.MapFS{
		"main.rego":      {Data: []byte("package sovereign\ndecision := {\"allow\": data.sovereign_config.open, \"reasons\": [{\"id\": \"D-1\", \"msg\": data.sovereign_config.why} | not data.sovereign_config.open]}\n")},
		"main_test.rego": {Data: []byte("package broken {")}, // tests are not loaded by the engine
		"data.json":      {Data: []byte(`{"sovereign_config": {"open": true, "why": "closed by default data"}}`)},
	}
	e, err := New(context.Background(), Options{Builtin: builtin})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Decide(context.Background(), nil).Allow {
		t.Fatal("builtin data not applied")
	}
	override := filepath.Join(t.TempDir(), "override.yaml")
	if err := os.WriteFile(override, []byte("sovereign_config:\n  open: false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e2, err := New(context.Background(), Options{Builtin: builtin, DataFiles: []string{override}})
	if err != nil {
		t.Fatal(err)
	}
	d := e2.Decide(context.Background(), nil)
	if d.Allow || d.Reasons[0].Msg != "closed by default data" {
		t.Fatalf("override not merged key by key: %+v", d)
	}
	if e.Revision() == e2.Revision() {
		t.Fatal("different data, same revision")
	}
}

func TestShadowModeRecordsTheRealDecision(t *testing.T) {
	t.Parallel()
	deny := "package sovereign\ndecision := {\"allow\": false, \"reasons\": [{\"id\": \"T-1\", \"msg\": \"no\"}]}\n"
	e := newEngine(t, Options{Paths: []string{writePolicy(t, map[string]string{"p.rego": deny})}, Mode: ModeShadow})
	d := e.Decide(context.Background(), nil)
	if d.Allow || d.Enforced || d.Mode != ModeShadow {
		t.Fatalf("shadow decision %+v: the deny must be kept, marked not enforced", d)
	}
}

func TestWatchReloadsOnChange(t *testing.T) {
	t.Parallel()
	dir := writePolicy(t, map[string]string{"p.rego": allowAll})
	e := newEngine(t, Options{Paths: []string{dir}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Watch(ctx) }()
	rev := e.Revision()
	time.Sleep(100 * time.Millisecond) // let the watcher start
	deny := "package sovereign\ndecision := {\"allow\": false, \"reasons\": [{\"id\": \"W-1\", \"msg\": \"changed\"}]}\n"
	if err := os.WriteFile(filepath.Join(dir, "p.rego"), []byte(deny), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.Revision() == rev {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not reload after the policy file changed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := e.Decide(context.Background(), nil); d.Allow || d.Reasons[0].ID != "W-1" {
		t.Fatalf("after the watched reload: %+v", d)
	}
	cancel()
	<-done
}
