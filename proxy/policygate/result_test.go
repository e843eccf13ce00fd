package policygate

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy"
)

func resultRequest(result string) *proxy.Request {
	r := callRequest(`{"path":"/home/alice/x"}`)
	r.Phase, r.Result = proxy.PhaseResult, json.RawMessage(result)
	return r
}

func redactObligation(pointers ...any) policy.Obligation {
	return policy.Obligation{"type": "redact", "pointers": pointers, "rules": []any{"SEC-001"}}
}

func TestResultPhase(t *testing.T) {
	t.Parallel()
	const result = `{"content":[{"type":"text","text":"key AKIAZ3MQWERTYUIOP123"}]}`
	for _, tc := range []struct {
		name       string
		req        *proxy.Request
		d          policy.Decision
		allow      bool
		wantRedact []string
		wantRule   string
	}{
		{"clean result passes", resultRequest(result), policy.Decision{Allow: true, Enforced: true}, true, nil, ""},
		{"redaction named", resultRequest(result),
			policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{redactObligation("/content/0/text")}},
			true, []string{"/content/0/text"}, "SEC-001"},
		{"shadow mode does not redact", resultRequest(result),
			policy.Decision{Allow: true, Enforced: false, Obligations: []policy.Obligation{redactObligation("/content/0/text")}},
			true, nil, ""},
		{"redact without pointers fails closed", resultRequest(result),
			policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{redactObligation()}},
			false, nil, ReasonObligation},
		{"redact with a non-string pointer fails closed", resultRequest(result),
			policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{redactObligation(7)}},
			false, nil, ReasonObligation},
		{"a deny withholds the result", resultRequest(result),
			policy.Decision{Allow: false, Enforced: true, Reasons: []policy.Reason{{ID: "PI-001", Msg: "injected"}}},
			false, nil, "PI-001"},
		{"a result that is not JSON", resultRequest(`{"content":`), policy.Decision{Allow: true, Enforced: true}, false, nil, ReasonBadResult},
		{"redact in the call phase is ignored", callRequest(`{}`),
			policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{redactObligation()}},
			true, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng := &fakeEngine{d: tc.d}
			d := New(Options{Engine: eng}).Decide(context.Background(), tc.req)
			if d.Allow != tc.allow || !reflect.DeepEqual(d.Redact, tc.wantRedact) {
				t.Fatalf("decision %+v", d)
			}
			if tc.wantRule != "" && (len(d.Rules) == 0 || d.Rules[0] != tc.wantRule) {
				t.Fatalf("rules %v, want %s first", d.Rules, tc.wantRule)
			}
		})
	}
}

func TestResultInput(t *testing.T) {
	t.Parallel()
	eng := &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}
	var phases []string
	g := New(Options{Engine: eng, Facts: []FactFunc{func(c Call, facts map[string]any) {
		phases = append(phases, c.Phase)
		facts["strings"] = c.Args
	}}})
	g.Decide(context.Background(), resultRequest(`{"content":[{"type":"text","text":"hi"}],"isError":false}`))
	in := eng.inputs[0]
	if in["phase"] != "result" || in["args"] != nil || !reflect.DeepEqual(phases, []string{"result"}) {
		t.Fatalf("input %v, fact phases %v", in, phases)
	}
	res, _ := in["result"].(map[string]any)
	if res["isError"] != false || in["facts"].(map[string]any)["strings"] == nil {
		t.Fatalf("input.result = %v, facts = %v", in["result"], in["facts"])
	}
}
