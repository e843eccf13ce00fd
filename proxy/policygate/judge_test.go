package policygate

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/core/pathfact"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/core/ratelimit"
	"github.com/sovereign-stack/sovereign/core/textfact"
	"github.com/sovereign-stack/sovereign/policies"
	"github.com/sovereign-stack/sovereign/proxy/catalog"
)

// countingLimiter counts the tokens asked for.
type countingLimiter struct{ calls atomic.Int64 }

func (c *countingLimiter) Allow([]ratelimit.Rule) ratelimit.Result {
	c.calls.Add(1)
	return ratelimit.Result{Allowed: true}
}

// finder is a ToolFinder over fixed entries.
type finder map[string]catalog.Entry

func (f finder) FindTool(name string) (catalog.Entry, bool) { e, ok := f[name]; return e, ok }

// realGate is a gate over the default policy library with path and string
// facts, as cmd/sovereign builds it, roots = one temporary directory.
func realGate(t *testing.T, log Recorder, lim Limiter) (*Gate, string) {
	t.Helper()
	root := t.TempDir()
	pol, err := policy.New(context.Background(), policy.Options{Builtin: policies.FS, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	paths, err := pathfact.New(pathfact.Options{Home: root, Cwd: root, Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	texts := textfact.New(textfact.Options{})
	return New(Options{
		Engine: pol, Limiter: lim, Roots: paths.Roots(), Home: root, Audit: log, AuditKey: []byte("k"),
		Builtin: &EngineEffects{Server: "sovereign", Effects: map[string]string{"record_insight": EffectWrite, "compass_check": EffectRead}},
		Facts: []FactFunc{
			func(c Call, facts map[string]any) {
				facts["paths"] = pathfact.Values(paths.FactsFor(c.Args, nil))
			},
			func(c Call, facts map[string]any) {
				res := texts.AnalyzeFor(c.Args, nil)
				facts["strings"], facts["strings_omitted"], facts["strings_incomplete"] = res.Values(), res.Omitted, res.Incomplete
			},
		},
	}), root
}

var bob = engine.Caller{Session: "s-bob", Principal: "os_user:bob", Client: "claude"}

func codes(v engine.Verdict) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestJudgeWithTheDefaultPolicy(t *testing.T) {
	t.Parallel()
	log, lim := &fakeLog{}, &countingLimiter{}
	g, root := realGate(t, log, lim)
	j := g.Judge()
	ctx := context.Background()

	// A write outside the roots is denied with the path reason.
	v, err := j.Judge(ctx, engine.Proposal{Caller: bob, Upstream: "fs", Tool: "fs__write_file",
		Arguments: json.RawMessage(`{"path":"/etc/passwd","content":"x"}`), Rationale: "secret reason"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allow || v.DecisionID == "" || !strings.Contains(strings.Join(codes(v), ","), "PATH-002") || !v.Enforced || v.Mode != "enforce" || v.Revision == "" {
		t.Fatalf("write outside the roots: %+v", v)
	}
	if !strings.Contains(v.Reasons[0].Message, "outside the allowed roots") {
		t.Fatalf("reason %+v", v.Reasons)
	}
	// A read inside is allowed, and spends no rate-limit token although
	// the policy attaches its rate limits.
	inside := filepath.Join(root, "notes.txt")
	j.UseTools(finder{"fs__read_file": {Name: "fs__read_file", Server: "fs", Original: "read_file", Annotations: json.RawMessage(`{"readOnlyHint":true}`)}})
	args, _ := json.Marshal(map[string]string{"path": inside})
	v2, err := j.Judge(ctx, engine.Proposal{Caller: bob, Tool: "fs__read_file", Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	if !v2.Allow || len(v2.Reasons) != 0 || !strings.Contains(string(v2.Obligations), "rate_limit") {
		t.Fatalf("read inside the roots: %+v (obligations %s)", v2, v2.Obligations)
	}
	if n := lim.calls.Load(); n != 0 {
		t.Fatalf("govern checks spent %d rate-limit tokens", n)
	}
	// Both decisions are in the audit log, durable, as govern checks.
	if len(log.durable) != 2 || len(log.queued) != 0 {
		t.Fatalf("%d durable, %d queued records", len(log.durable), len(log.queued))
	}
	for i, id := range []string{v.DecisionID, v2.DecisionID} {
		l := line(t, log.durable[i])
		for _, w := range []string{`"decision_id":"` + id + `"`, `"phase":"govern"`, `"method":"tools/call"`, `"proposal":"tool"`, `"session":"s-bob"`, `"principal":{"id":"bob","kind":"os_user"}`} {
			if !strings.Contains(l, w) {
				t.Errorf("record %d lacks %s:\n%s", i, w, l)
			}
		}
		if strings.Contains(l, "secret reason") {
			t.Errorf("record %d shows the rationale:\n%s", i, l)
		}
	}
	if l := line(t, log.durable[0]); !strings.Contains(l, `"rationale_hmac"`) || !strings.Contains(l, `"allow":false`) {
		t.Errorf("first record: %s", l)
	}
	if l := line(t, log.durable[1]); !strings.Contains(l, `"effect":"read"`) || !strings.Contains(l, `"upstream_name":"read_file"`) {
		t.Errorf("the catalog's annotations did not reach the decision: %s", l)
	}
}

func TestJudgeDescribedAction(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	g, _ := realGate(t, log, nil)
	v, err := g.Judge().Judge(context.Background(), engine.Proposal{Caller: bob, Action: "rm -rf / --no-preserve-root"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Allow || !strings.Contains(strings.Join(codes(v), ","), "CMD-004") {
		t.Fatalf("destructive command: %+v", v)
	}
	l := line(t, log.durable[0])
	if !strings.Contains(l, `"name":"govern:action"`) || !strings.Contains(l, `"proposal":"action"`) {
		t.Fatalf("record %s", l)
	}
	v, err = g.Judge().Judge(context.Background(), engine.Proposal{Caller: bob, Action: "summarize the open threads"})
	if err != nil || !v.Allow {
		t.Fatalf("harmless action: %+v %v", v, err)
	}
}

func TestJudgeResolvesTools(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true, Mode: "enforce", Revision: "r1"}}
	g := New(Options{Engine: eng, Builtin: &EngineEffects{Server: "sovereign", Effects: map[string]string{"record_insight": EffectWrite}}})
	j := g.Judge()
	ctx := context.Background()
	tool := func(i int) map[string]any { m, _ := eng.inputs[i]["tool"].(map[string]any); return m }
	up := func(i int) any { m, _ := eng.inputs[i]["upstream"].(map[string]any); return m["name"] }

	// The engine's own tools are known by name.
	if _, err := j.Judge(ctx, engine.Proposal{Tool: "record_insight"}); err != nil {
		t.Fatal(err)
	}
	if up(0) != "sovereign" || tool(0)["effect"] != EffectWrite || tool(0)["effect_source"] != EffectFromEngine {
		t.Fatalf("input %v", eng.inputs[0])
	}
	// An upstream given: its prefix comes off the name.
	if _, err := j.Judge(ctx, engine.Proposal{Tool: "fs__delete", Upstream: "fs"}); err != nil {
		t.Fatal(err)
	}
	if up(1) != "fs" || tool(1)["upstream_name"] != "delete" || tool(1)["name"] != "fs__delete" {
		t.Fatalf("input %v", eng.inputs[1])
	}
	// Unknown without a catalog or an upstream, unknown in the catalog, and
	// the wrong upstream are the caller's errors, decided by no one.
	for _, tc := range []struct {
		name  string
		tools ToolFinder
		p     engine.Proposal
		cat   engine.Category
	}{
		{"no upstream", nil, engine.Proposal{Tool: "write_file"}, engine.CategoryValidation},
		{"not in the catalog", finder{}, engine.Proposal{Tool: "nope"}, engine.CategoryNotFound},
		{"another upstream", finder{"x": {Server: "a", Original: "x"}}, engine.Proposal{Tool: "x", Upstream: "b"}, engine.CategoryValidation},
	} {
		jj := g.Judge()
		if tc.tools != nil {
			jj.UseTools(tc.tools)
		}
		_, err := jj.Judge(ctx, tc.p)
		var ee *engine.Error
		if !errors.As(err, &ee) || ee.Category != tc.cat {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.cat)
		}
	}
	if len(eng.inputs) != 2 {
		t.Fatalf("the policy was asked %d times, want 2", len(eng.inputs))
	}
}

func TestJudgeUnboundShadowAndAuditFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := NewJudge().Judge(ctx, engine.Proposal{Action: "x"})
	var ee *engine.Error
	if !errors.As(err, &ee) || ee.Category != engine.CategoryUnavailable {
		t.Fatalf("unbound: %v", err)
	}
	// Shadow mode: the gate would let it through, and govern shows why the
	// policy would deny.
	shadow := policy.Decision{Allow: false, Enforced: false, Mode: "shadow", Revision: "r1", Reasons: []policy.Reason{{ID: "PATH-002", Msg: "outside"}}}
	j := NewJudge()
	j.Bind(New(Options{Engine: &fakeEngine{d: shadow}}))
	v, err := j.Judge(ctx, engine.Proposal{Tool: "t", Upstream: "u"})
	if err != nil || !v.Allow || v.Enforced || v.Mode != "shadow" || len(v.Reasons) != 1 || v.Reasons[0].Code != "PATH-002" {
		t.Fatalf("shadow: %+v %v", v, err)
	}
	// A log that cannot write turns the verdict into a deny.
	log := &fakeLog{fail: errors.New("disk full")}
	g := New(Options{Engine: &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}, Audit: log})
	v, err = g.Judge().Judge(ctx, engine.Proposal{Tool: "t", Upstream: "u"})
	if err != nil || v.Allow || len(v.Reasons) == 0 || v.Reasons[0].Code != ReasonAudit || len(log.queued) != 1 {
		t.Fatalf("audit failure: %+v %v (%d queued)", v, err, len(log.queued))
	}
	if l := line(t, log.queued[0]); !strings.Contains(l, `"phase":"govern"`) || !strings.Contains(l, `"gate_reason":"GATE-AUDIT"`) {
		t.Fatalf("queued record %s", l)
	}
}
