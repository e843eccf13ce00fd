package engine

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fakeJudge answers with a fixed verdict and records proposals.
type fakeJudge struct {
	v         Verdict
	err       error
	proposals []Proposal
}

func (f *fakeJudge) Judge(_ context.Context, p Proposal) (Verdict, error) {
	f.proposals = append(f.proposals, p)
	return f.v, f.err
}

func judgeEngine(t *testing.T, j Judge) *Engine {
	t.Helper()
	e, _ := newEngine(t, func(o *Options) { o.Judge = j })
	return e
}

func TestGovernSchemaRejections(t *testing.T) {
	e := judgeEngine(t, &fakeJudge{})
	for _, tc := range []struct{ name, args, field string }{
		{"neither target nor tool", `{}`, "/target"},
		{"both", `{"target":"x","tool":"y"}`, "/tool"},
		{"arguments with a target", `{"target":"x","arguments":{}}`, "/arguments"},
		{"votes are gone", `{"target":"x","vote":"proceed"}`, "vote"},
		{"arguments not an object", `{"tool":"t","arguments":[1]}`, "/arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "govern", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

// B5: the original approved whatever was voted, reject included.
func TestGovernReturnsTheJudgesDeny(t *testing.T) {
	j := &fakeJudge{v: Verdict{Allow: false, DecisionID: "dec-1", Revision: "rev-abc", Mode: "enforce", Enforced: true,
		Reasons: []Reason{{Code: "PATH-002", Message: "path /etc/passwd (argument /path) is outside the allowed roots"}}}}
	e := judgeEngine(t, j)
	res := mustCall(t, e, alice, "govern", `{"tool":"fs__write_file","upstream":"fs","arguments":{"path":"/etc/passwd"},"rationale":"because"}`)
	var got governResult
	dataOf(t, res, &got)
	if got.Allow || got.DecisionID != "dec-1" || len(got.Reasons) != 1 || got.Reasons[0].Code != "PATH-002" || got.Proposal != "tool" {
		t.Fatalf("result %+v", got)
	}
	if !strings.HasPrefix(res.Text, "DENIED") || !strings.Contains(res.Text, "PATH-002") {
		t.Fatalf("text %q", res.Text)
	}
	p := j.proposals[0]
	if p.Tool != "fs__write_file" || p.Upstream != "fs" || string(p.Arguments) != `{"path":"/etc/passwd"}` || p.Caller != alice || p.Rationale != "because" {
		t.Fatalf("proposal %+v", p)
	}
	// A described target is judged as an action, with compass's advice.
	j.v = Verdict{Allow: true, DecisionID: "dec-2", Mode: "enforce", Enforced: true}
	res = mustCall(t, e, alice, "govern", `{"target":"git push -f origin main","stakes":"high"}`)
	dataOf(t, res, &got)
	if !got.Allow || got.Compass == nil || got.Compass.Classification != "PAUSE" || j.proposals[1].Action != "git push -f origin main" || j.proposals[1].Tool != "" {
		t.Fatalf("result %+v, proposal %+v", got, j.proposals[1])
	}
	if !strings.HasPrefix(res.Text, "ALLOWED") || !strings.Contains(res.Text, "approves nothing") {
		t.Fatalf("text %q", res.Text)
	}
}

func TestGovernWithoutJudgeIsUnavailable(t *testing.T) {
	e, _ := newEngine(t)
	_, err := call(t, e, alice, "govern", `{"target":"deploy"}`)
	wantError(t, err, CategoryUnavailable, "policy")
	j := &fakeJudge{err: errors.New("policy engine timeout")}
	e = judgeEngine(t, j)
	_, err = call(t, e, alice, "govern", `{"tool":"x"}`)
	wantError(t, err, CategoryUnavailable)
	// The Judge's own *Error (an unknown tool) passes through.
	j.err = FieldError("/tool", "no upstream offers a tool named x")
	_, err = call(t, e, alice, "govern", `{"tool":"x"}`)
	wantError(t, err, CategoryValidation, "/tool")
	if len(j.proposals) != 2 || string(j.proposals[0].Arguments) != "{}" {
		t.Fatalf("proposals %+v", j.proposals)
	}
}

func TestGovernToolsDeclared(t *testing.T) {
	e, _ := newEngine(t)
	want := map[string]struct {
		eff  Effect
		tier Tier
	}{
		"route": {EffectAppend, TierCore}, "derive": {EffectRead, TierAdvanced}, "scan_thresholds": {EffectRead, TierCore},
		"compass_check": {EffectRead, TierEssential}, "govern": {EffectRead, TierEssential},
	}
	for name, w := range want {
		tool, ok := e.Registry().Tool(name)
		if !ok || tool.Effect != w.eff || tool.Tier != w.tier {
			t.Errorf("%s: %+v", name, tool)
			continue
		}
		var s map[string]any
		if err := json.Unmarshal(tool.Schema, &s); err != nil || s["additionalProperties"] != false {
			t.Errorf("%s: schema %s", name, tool.Schema)
		}
	}
	if r, _ := e.Registry().Tool("route"); !r.Idempotent || r.Destructive {
		t.Errorf("route annotations %+v", r.Annotations())
	}
}
