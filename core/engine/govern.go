package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sovereign-stack/sovereign/core/engine/compass"
)

// governResult is govern's structured result: the Judge's verdict, and
// compass's advice on a described target.
type governResult struct {
	Verdict
	Proposal string          `json:"proposal"` // "tool" or "action"
	Tool     string          `json:"tool,omitempty"`
	Compass  *compass.Result `json:"compass,omitempty"`
}

func (e *Engine) govern(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Target    string          `json:"target"`
		Tool      string          `json:"tool"`
		Upstream  string          `json:"upstream"`
		Arguments json.RawMessage `json:"arguments"`
		Rationale string          `json:"rationale"`
		Stakes    string          `json:"stakes"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Target == "" && in.Tool == "":
		return nil, FieldError("/target", "give target (a described action) or tool (a proposed tool call)")
	case in.Target != "" && in.Tool != "":
		return nil, FieldError("/tool", "give either target or tool, not both")
	case in.Target != "" && (in.Upstream != "" || len(in.Arguments) > 0):
		return nil, FieldError("/arguments", "upstream and arguments belong to a proposed tool call, not to a target")
	}
	if e.opts.Judge == nil {
		return nil, Errorf(CategoryUnavailable, "govern has no policy to ask: this engine runs without Sovereign's policy gate, so nothing can be approved")
	}
	p := Proposal{Caller: c.Caller, Rationale: in.Rationale}
	out := governResult{Proposal: "action"}
	if in.Tool != "" {
		args := in.Arguments
		if len(args) == 0 {
			args = json.RawMessage(`{}`)
		}
		p.Tool, p.Upstream, p.Arguments = in.Tool, in.Upstream, args
		out.Proposal, out.Tool = "tool", in.Tool
	} else {
		p.Action = in.Target
		r := compass.Check(in.Target, "", compass.Stakes(in.Stakes))
		out.Compass = &r
	}
	v, err := e.opts.Judge.Judge(ctx, p)
	if err != nil {
		var ee *Error
		switch {
		case errors.As(err, &ee):
			return nil, ee
		case ctx.Err() != nil:
			return nil, AsError(ctx.Err())
		}
		return nil, &Error{Category: CategoryUnavailable, Msg: "the policy could not decide", Err: err}
	}
	if v.Reasons == nil {
		v.Reasons = []Reason{}
	}
	out.Verdict = v
	return &Result{Text: governText(out), Data: out}, nil
}

func governText(r governResult) string {
	var b strings.Builder
	what := "the described action"
	if r.Proposal == "tool" {
		what = "a call of " + r.Tool
	}
	verdict := "ALLOWED"
	if !r.Allow {
		verdict = "DENIED"
	}
	fmt.Fprintf(&b, "%s: the policy (revision %s, mode %s) would decide %s so (decision %s).", verdict, governRevision(r.Revision), r.Mode, what, r.DecisionID)
	if !r.Enforced && r.Mode != "" {
		b.WriteString(" The policy is not enforced (shadow mode): a deny is only logged.")
	}
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "\n- %s: %s", reason.Code, reason.Message)
	}
	if len(r.Obligations) > 0 && string(r.Obligations) != "null" && string(r.Obligations) != "[]" {
		fmt.Fprintf(&b, "\nObligations: %s", r.Obligations)
	}
	if r.Compass != nil {
		fmt.Fprintf(&b, "\nCompass: %s", compassText(*r.Compass))
	}
	b.WriteString("\nThis approves nothing: the real call is decided again when it is made.")
	return b.String()
}

// governRevision abbreviates a policy revision digest.
func governRevision(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	if rev == "" {
		return "unknown"
	}
	return rev
}
