package policygate

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/catalog"
)

// GovernActionTool is the pseudo tool a described action is judged as: a
// tools/call of "govern:action" (no upstream, no annotations, so the
// effect is unknown and the policy treats it as possibly writing) whose
// only argument is {"command": <the text>}, so that the command,
// injection and path rules read the text as they would read a command
// line. The name cannot be a real tool's (':' is not allowed in one).
const GovernActionTool = "govern:action"

// PhaseGovern marks, in the audit log, the decision records of govern
// checks: what the policy would decide about a proposed action. Nothing
// was forwarded on their account.
const PhaseGovern = "govern"

// ToolFinder finds a tool the clients see by its exposed name: the proxy's
// current catalog.
type ToolFinder interface {
	FindTool(name string) (catalog.Entry, bool)
}

// Judge is the engine.Judge of the built-in engine's govern tool: it
// decides a proposed tool call, or a described action, exactly as the gate
// would decide a call (same input, facts and policy), without consuming
// rate-limit tokens, and records the decision in the audit log with phase
// "govern". It can be made before the gate (the engine is built first) and
// bound to it later; until then it answers CategoryUnavailable.
type Judge struct {
	gate  atomic.Pointer[Gate]
	tools atomic.Pointer[toolFinderBox]
}

type toolFinderBox struct{ f ToolFinder }

var _ engine.Judge = (*Judge)(nil)

// NewJudge returns a Judge bound to no gate yet.
func NewJudge() *Judge { return &Judge{} }

// Judge returns a Judge bound to g.
func (g *Gate) Judge() *Judge {
	j := NewJudge()
	j.Bind(g)
	return j
}

// Bind makes g the gate that decides.
func (j *Judge) Bind(g *Gate) { j.gate.Store(g) }

// UseTools sets where proposed tools are looked up (the proxy's catalog).
// Without it a proposal names its upstream, or is one of the built-in
// engine's tools.
func (j *Judge) UseTools(f ToolFinder) { j.tools.Store(&toolFinderBox{f}) }

// Judge implements engine.Judge.
func (j *Judge) Judge(ctx context.Context, p engine.Proposal) (engine.Verdict, error) {
	g := j.gate.Load()
	if g == nil {
		return engine.Verdict{}, engine.Errorf(engine.CategoryUnavailable, "the policy gate is not ready yet")
	}
	req, err := j.request(g, p)
	if err != nil {
		return engine.Verdict{}, err
	}
	// The gate as it is, minus the rate limiter: a govern check must not
	// spend the budget of the call it asks about.
	probe := *g
	probe.opts.Limiter = nil
	probe.log = g.log.Named("govern")
	var ev evaluation
	start := time.Now()
	d := probe.decide(ctx, req, &ev)
	if g.opts.Audit != nil {
		d = g.recordGovern(ctx, req, d, &ev, p, time.Since(start))
	}
	return verdict(d, &ev), nil
}

// request builds the gate request of a proposal.
func (j *Judge) request(g *Gate, p engine.Proposal) (*proxy.Request, error) {
	kind, id, ok := strings.Cut(p.Caller.Principal, ":")
	if !ok {
		kind, id = "", p.Caller.Principal
	}
	req := &proxy.Request{
		Phase: proxy.PhaseCall, Method: mcpmsg.ToolsCall, SessionID: p.Caller.Session,
		Client: proxy.ClientInfo{Name: p.Caller.Client}, Principal: proxy.Principal{Kind: kind, ID: id},
	}
	if p.Tool == "" {
		args, err := json.Marshal(map[string]string{"command": p.Action})
		if err != nil {
			return nil, engine.FieldError("/target", "cannot be encoded: %v", err)
		}
		req.Name, req.Original, req.Arguments = GovernActionTool, GovernActionTool, args
		return req, nil
	}
	req.Name, req.Arguments = p.Tool, p.Arguments
	if len(req.Arguments) == 0 {
		req.Arguments = json.RawMessage(`{}`)
	}
	if box := j.tools.Load(); box != nil && box.f != nil {
		e, found := box.f.FindTool(p.Tool)
		if !found {
			return nil, &engine.Error{Category: engine.CategoryNotFound, Field: "/tool", Msg: "no upstream offers a tool named " + quote(p.Tool)}
		}
		if p.Upstream != "" && p.Upstream != e.Server {
			return nil, engine.FieldError("/upstream", "tool %s is offered by upstream %s, not %s", quote(p.Tool), quote(e.Server), quote(p.Upstream))
		}
		req.Server, req.Original, req.Annotations = e.Server, e.Original, e.Annotations
		return req, nil
	}
	switch {
	case p.Upstream != "":
		req.Server, req.Original = p.Upstream, strings.TrimPrefix(p.Tool, p.Upstream+catalog.Separator)
	case g.opts.Builtin != nil && g.opts.Builtin.Effects[p.Tool] != "":
		req.Server, req.Original = g.opts.Builtin.Server, p.Tool
	default:
		return nil, engine.FieldError("/upstream", "cannot tell which upstream offers %s: give upstream", quote(p.Tool))
	}
	return req, nil
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// recordGovern writes the decision record of a govern check (phase
// "govern", with the kind of proposal and a keyed digest of the
// rationale) and waits until it is durable: a verdict the log does not hold
// is not given. If it cannot be written the verdict is a GATE-AUDIT deny,
// queued like the gate's.
func (g *Gate) recordGovern(ctx context.Context, req *proxy.Request, d proxy.Decision, ev *evaluation, p engine.Proposal, took time.Duration) proxy.Decision {
	body := func(d proxy.Decision) map[string]any {
		b := g.decisionBody(req, d, ev, took)
		b["phase"] = PhaseGovern
		gv := map[string]any{"proposal": "tool"}
		if p.Tool == "" {
			gv["proposal"] = "action"
		}
		if p.Rationale != "" {
			gv["rationale_hmac"] = audit.HashValue(g.opts.AuditKey, p.Rationale)
		}
		b["govern"] = gv
		return b
	}
	if _, err := g.opts.Audit.Append(ctx, audit.Entry{Kind: audit.KindDecision, Body: body(d)}); err != nil {
		denied := g.deny(req, d.ID, d.Revision, nil, ReasonAudit, "the audit log cannot record this govern check: "+err.Error())
		g.opts.Audit.AppendAsync(audit.Entry{Kind: audit.KindDecision, Body: body(denied)})
		return denied
	}
	return d
}

// verdict is what govern returns: the gate's decision with the policy's
// reasons (also those of a shadow-mode deny, which the gate lets through),
// obligations, revision and mode.
func verdict(d proxy.Decision, ev *evaluation) engine.Verdict {
	v := engine.Verdict{Allow: d.Allow, DecisionID: d.ID, Revision: d.Revision, Enforced: true, Reasons: []engine.Reason{}}
	if !d.Allow && len(d.Rules) > 0 && strings.HasPrefix(d.Rules[0], "GATE-") {
		v.Reasons = append(v.Reasons, engine.Reason{Code: d.Rules[0], Message: d.Reason})
	}
	if pd := ev.policy; pd != nil {
		v.Mode, v.Enforced = pd.Mode, pd.Enforced
		if v.Revision == "" {
			v.Revision = pd.Revision
		}
		for _, r := range pd.Reasons {
			v.Reasons = append(v.Reasons, engine.Reason{Code: r.ID, Message: r.Msg})
		}
		if len(pd.Obligations) > 0 {
			if b, err := json.Marshal(pd.Obligations); err == nil {
				v.Obligations = b
			}
		}
	}
	return v
}
