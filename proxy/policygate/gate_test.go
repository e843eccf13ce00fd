package policygate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/core/ratelimit"
	"github.com/sovereign-stack/sovereign/proxy"
)

// fakeEngine answers with a fixed decision and records inputs.
type fakeEngine struct {
	d      policy.Decision
	inputs []map[string]any
}

func (f *fakeEngine) Decide(_ context.Context, in map[string]any) policy.Decision {
	f.inputs = append(f.inputs, in)
	return f.d
}

func (f *fakeEngine) Revision() string { return f.d.Revision }

func callRequest(args string) *proxy.Request {
	return &proxy.Request{
		Phase: proxy.PhaseCall, Method: "tools/call", SessionID: "s1", CallCount: 3,
		Principal: proxy.Principal{Kind: "os_user", ID: "alice"}, Client: proxy.ClientInfo{Name: "claude", Version: "1"},
		Server: "fs", Transport: "stdio", Name: "fs__write_file", Original: "write_file",
		Annotations: json.RawMessage(`{"readOnlyHint":false,"destructiveHint":true}`),
		Arguments:   json.RawMessage(args),
	}
}

func TestInputShape(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}
	g := New(Options{Engine: eng, Roots: []string{"/home/alice"}, Home: "/home/alice", Facts: []FactFunc{
		func(c Call, facts map[string]any) {
			facts["paths"] = []string{"saw " + c.Args.(map[string]any)["path"].(string)}
		},
	}})
	if d := g.Decide(context.Background(), callRequest(`{"path":"/home/alice/x","n":12345678901234567890}`)); !d.Allow || d.ID == "" {
		t.Fatalf("decision %+v", d)
	}
	in := eng.inputs[0]
	b, _ := json.Marshal(in)
	for _, want := range []string{
		`"v":1`, `"phase":"call"`, `"method":"tools/call"`, `"principal":{"claims":{},"id":"alice","kind":"os_user"}`,
		`"session":{"call_count":3,"id":"s1"}`, `"upstream":{"name":"fs","transport":"stdio"}`,
		`"effect":"destructive"`, `"effect_source":"annotations"`, `"upstream_name":"write_file"`, `"n":12345678901234567890`,
		`"facts":{"home":"/home/alice","paths":["saw /home/alice/x"],"roots":["/home/alice"]}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("input lacks %s:\n%s", want, b)
		}
	}
}

func TestEffect(t *testing.T) {
	t.Parallel()
	for ann, want := range map[string]string{
		``: EffectUnknown, `{}`: EffectUnknown, `{"title":"x"}`: EffectUnknown,
		`{"readOnlyHint":true}`:                          EffectRead,
		`{"readOnlyHint":true,"destructiveHint":true}`:   EffectRead,
		`{"destructiveHint":true}`:                       EffectDestructive,
		`{"readOnlyHint":false}`:                         EffectDestructive,
		`{"readOnlyHint":false,"destructiveHint":false}`: EffectWrite,
		`not json`: EffectUnknown,
	} {
		if got, _ := effect(json.RawMessage(ann)); got != want {
			t.Errorf("effect(%s) = %s, want %s", ann, got, want)
		}
	}
}

func TestDenials(t *testing.T) {
	t.Parallel()
	deny := policy.Decision{Allow: false, Enforced: true, Revision: "r1", Reasons: []policy.Reason{{ID: "PATH-001", Msg: "outside the roots"}}}
	tests := []struct {
		name      string
		req       *proxy.Request
		d         policy.Decision
		allow     bool
		wantRule  string
		wantCalls int
	}{
		{"unknown method denied before rego", &proxy.Request{Phase: proxy.PhaseCall, Method: "tasks/list"}, deny, false, ReasonUnknownMethod, 0},
		{"plumbing allowed without rego", &proxy.Request{Phase: proxy.PhaseCall, Method: "ping"}, deny, true, "", 0},
		{"bad arguments", callRequest(`{"path":`), deny, false, ReasonBadArguments, 0},
		{"policy deny", callRequest(`{}`), deny, false, "PATH-001", 1},
		{"shadow deny goes through", callRequest(`{}`), policy.Decision{Allow: false, Enforced: false, Reasons: deny.Reasons}, true, "", 1},
		{"approval required", callRequest(`{}`), policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{{"type": "require_approval", "reason": "deletes files"}}}, false, ReasonApproval, 1},
		{"malformed rate limit", callRequest(`{}`), policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{{"type": "rate_limit", "key": "k"}}}, false, ReasonObligation, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng := &fakeEngine{d: tc.d}
			d := New(Options{Engine: eng}).Decide(context.Background(), tc.req)
			if d.Allow != tc.allow || len(eng.inputs) != tc.wantCalls {
				t.Fatalf("decision %+v after %d engine calls", d, len(eng.inputs))
			}
			if !tc.allow && (len(d.Rules) == 0 || d.Rules[0] != tc.wantRule || d.Reason == "") {
				t.Fatalf("deny %+v, want rule %s first and a reason", d, tc.wantRule)
			}
		})
	}
}

func TestRateLimitObligation(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	lim, err := ratelimit.New(100, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{
		{"type": "rate_limit", "key": "fs:delete:alice", "limit": 2.0, "window": "1m"},
	}}}
	g := New(Options{Engine: eng, Limiter: lim})
	for i := 0; i < 2; i++ {
		if d := g.Decide(context.Background(), callRequest(`{}`)); !d.Allow {
			t.Fatalf("call %d denied: %+v", i+1, d)
		}
	}
	d := g.Decide(context.Background(), callRequest(`{}`))
	if d.Allow || d.Rules[0] != ReasonRateLimit || d.RetryAfter <= 0 || d.RetryAfter > time.Minute {
		t.Fatalf("third call: %+v", d)
	}
	now = now.Add(31 * time.Second) // one token back (2 per minute)
	if d := g.Decide(context.Background(), callRequest(`{}`)); !d.Allow {
		t.Fatalf("after the refill: %+v", d)
	}
}

func TestResourceURIBecomesAnArgument(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}
	var seen any
	g := New(Options{Engine: eng, Facts: []FactFunc{func(c Call, _ map[string]any) { seen = c.Args }}})
	g.Decide(context.Background(), &proxy.Request{Phase: proxy.PhaseCall, Method: "resources/read", Server: "fs", URI: "file:///etc/shadow"})
	args, _ := eng.inputs[0]["args"].(map[string]any)
	if args["uri"] != "file:///etc/shadow" || seen == nil {
		t.Fatalf("resources/read input args = %v (facts saw %v)", eng.inputs[0]["args"], seen)
	}
}

func TestListPhaseDecisionsAreCached(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true, Revision: "r1"}}
	g := New(Options{Engine: eng})
	list := func(name string) proxy.Decision {
		return g.Decide(context.Background(), &proxy.Request{Phase: proxy.PhaseList, Method: "tools/list", SessionID: "s",
			Server: "fs", Name: name, Original: strings.TrimPrefix(name, "fs__")})
	}
	list("fs__read")
	d := list("fs__read")
	if len(eng.inputs) != 1 || !d.Allow || d.ID == "" {
		t.Fatalf("the same list input was evaluated %d times (want 1); %+v", len(eng.inputs), d)
	}
	list("fs__write")
	eng.d.Revision = "r2" // a reload
	list("fs__read")
	if len(eng.inputs) != 3 {
		t.Fatalf("evaluations %d, want 3 (a new tool, then a new revision)", len(eng.inputs))
	}
	eng.d.Obligations = []policy.Obligation{{"type": "audit"}}
	list("fs__other")
	list("fs__other")
	if len(eng.inputs) != 5 {
		t.Fatalf("a decision with obligations was cached (%d evaluations)", len(eng.inputs))
	}
	g.Decide(context.Background(), callRequest(`{}`))
	g.Decide(context.Background(), callRequest(`{}`))
	if len(eng.inputs) != 7 {
		t.Fatalf("call-phase decisions were cached (%d evaluations)", len(eng.inputs))
	}
}
