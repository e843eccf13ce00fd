package policygate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/core/ratelimit"
	"github.com/sovereign-stack/sovereign/proxy"
)

// Decider evaluates policy decisions; *policy.Engine is one.
type Decider interface {
	Decide(ctx context.Context, input map[string]any) policy.Decision
	// Revision identifies the policy that decides now (a digest of its
	// modules and data): equal inputs under one revision get equal
	// decisions, since policies are pure.
	Revision() string
}

// Limiter enforces rate limits; *ratelimit.Limiter is one.
type Limiter interface {
	Allow(rules []ratelimit.Rule) ratelimit.Result
}

// ToolEffects gives the effect class the configuration sets for a tool,
// which replaces the class derived from the tool's annotations.
type ToolEffects interface {
	// ToolEffect returns the effect configured for the tool that the
	// upstream named upstream calls tool, and false when none is set.
	ToolEffect(upstream, tool string) (effect string, ok bool)
}

// EngineEffects are the effect classes (read, write, destructive) of the
// tools of the upstream Server, the proxy's built-in engine, by the name
// the engine gives them.
type EngineEffects struct {
	Server  string
	Effects map[string]string
}

// Call is what a FactFunc is told about one request with arguments, or
// about one result.
type Call struct {
	// Phase is proxy.PhaseCall for arguments (a resource's URI counts as
	// one), proxy.PhaseList for a listed resource's URI, proxy.PhaseResult
	// for what an upstream answered (Args is then the decoded result).
	Phase string
	// Upstream is the name of the upstream the request goes to; empty when
	// the proxy answers it itself.
	Upstream string
	// Tool is the tool's name as its upstream knows it, for tools/call;
	// empty for other methods.
	Tool string
	// Args are the decoded arguments (numbers as json.Number).
	Args any
}

// FactFunc computes facts about a call's decoded arguments and puts them
// into input.facts (values must encode to JSON).
type FactFunc func(call Call, facts map[string]any)

// Reason ids the gate gives itself.
const (
	ReasonUnknownMethod = "GATE-METHOD"     // the method is not one the proxy knows
	ReasonBadArguments  = "GATE-ARGUMENTS"  // the arguments are not valid JSON
	ReasonBadResult     = "GATE-RESULT"     // the upstream's result is not valid JSON
	ReasonObligation    = "GATE-OBLIGATION" // an obligation could not be read
	ReasonApproval      = "GATE-APPROVAL"   // the policy requires an approval the proxy cannot get yet
	ReasonRateLimit     = "GATE-RATE"       // a rate limit is exhausted
	ReasonAudit         = "GATE-AUDIT"      // the audit log cannot record the decision
)

// Options configure a Gate.
type Options struct {
	Engine  Decider
	Limiter Limiter
	Roots   []string    // input.facts.roots
	Home    string      // input.facts.home, for "~/" prefixes in policy data
	Facts   []FactFunc  // fill input.facts, e.g. "paths", "strings"
	Tools   ToolEffects // configured effects of tools; nil: annotations only
	// Builtin declares the effects of the built-in engine's tools, which
	// replace their annotations (input.tool.effect_source "engine").
	Builtin *EngineEffects
	// Audit records every decision (but plumbing) and every outcome; nil:
	// nothing is recorded. AuditKey keys the redacted copies of arguments.
	Audit    Recorder
	AuditKey []byte
	Logger   hclog.Logger
}

// Gate decides client requests with the policy engine.
type Gate struct {
	opts Options
	log  hclog.Logger
	// visible caches list-phase decisions without facts (may the client
	// see this tool or prompt): mcp-go asks again on every call, and a
	// tools/list asks once per tool. Keyed by revision and input.
	visible *lru.Cache[string, policy.Decision]
}

// visibleCacheSize bounds the list-phase cache: a catalog's tools and
// prompts times the sessions that list them.
const visibleCacheSize = 8192

var _ proxy.Gate = (*Gate)(nil)

// New builds a gate.
func New(opts Options) *Gate {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	visible, _ := lru.New[string, policy.Decision](visibleCacheSize)
	return &Gate{opts: opts, log: opts.Logger, visible: visible}
}

// evaluate asks the engine, or the cache for a list-phase input without
// facts seen before under the same revision. Only decisions without
// obligations are cached (an obligation may have to be enforced each time).
func (g *Gate) evaluate(ctx context.Context, req *proxy.Request, input map[string]any, factless bool) policy.Decision {
	if req.Phase != proxy.PhaseList || !factless {
		return g.opts.Engine.Decide(ctx, input)
	}
	raw, err := json.Marshal(input)
	if err != nil {
		return g.opts.Engine.Decide(ctx, input)
	}
	key := g.opts.Engine.Revision() + "\x00" + string(raw)
	if d, ok := g.visible.Get(key); ok {
		return d
	}
	d := g.opts.Engine.Decide(ctx, input)
	if len(d.Obligations) == 0 && d.Revision == g.opts.Engine.Revision() {
		g.visible.Add(key, d)
	}
	return d
}

// Decide implements proxy.Gate. With an audit log, the decision is recorded
// before it is returned; an allowed call whose record cannot be made durable
// is denied (GATE-AUDIT).
func (g *Gate) Decide(ctx context.Context, req *proxy.Request) proxy.Decision {
	var ev evaluation
	start := time.Now()
	d := g.decide(ctx, req, &ev)
	if g.opts.Audit == nil || ev.plumbing {
		return d
	}
	return g.record(ctx, req, d, &ev, time.Since(start))
}

// evaluation is what decide saw, for the audit record.
type evaluation struct {
	plumbing bool             // allowed without the policy; not recorded
	subject  json.RawMessage  // the arguments (or result) the facts were computed over
	args     any              // subject decoded
	policy   *policy.Decision // the engine's decision, when it ran
	tool     map[string]any   // input.tool, when the request concerns a tool
	facts    map[string]any   // input.facts, once the input is built
}

func (g *Gate) decide(ctx context.Context, req *proxy.Request, ev *evaluation) proxy.Decision {
	id := proxy.NewDecisionID()
	switch mcpmsg.Classify(req.Method) {
	case mcpmsg.Unknown:
		return g.deny(req, id, "", nil, ReasonUnknownMethod, fmt.Sprintf("method %q is not known to the proxy", req.Method))
	case mcpmsg.Plumbing:
		ev.plumbing = true
		return proxy.Decision{Allow: true, ID: id}
	}
	input := baseInput(req, g.opts.Tools, g.opts.Builtin)
	ev.tool, _ = input["tool"].(map[string]any)
	facts := map[string]any{"roots": g.opts.Roots, "home": g.opts.Home}
	input["facts"], ev.facts = facts, facts
	if subject, key, ok := factSubject(req); ok {
		ev.subject = subject
		v, err := decodeArgs(subject)
		if err != nil {
			if req.Phase == proxy.PhaseResult {
				return g.deny(req, id, "", nil, ReasonBadResult, "the upstream's result is not valid JSON")
			}
			return g.deny(req, id, "", nil, ReasonBadArguments, "the arguments are not valid JSON")
		}
		input[key], ev.args = v, v
		call := Call{Phase: req.Phase, Upstream: req.Server, Args: v}
		if req.Method == mcpmsg.ToolsCall {
			call.Tool = req.Original
		}
		for _, f := range g.opts.Facts {
			f(call, facts)
		}
	}
	d := g.evaluate(ctx, req, input, ev.subject == nil)
	ev.policy = &d
	if !d.Allow {
		if !d.Enforced {
			g.log.Warn("shadow mode: would deny", "decision_id", id, "method", req.Method, "name", req.Name,
				"upstream", req.Server, "rules", d.RuleIDs(), "revision", d.Revision, "reason", d.Summary())
			return proxy.Decision{Allow: true, ID: id, Revision: d.Revision}
		}
		return g.deny(req, id, d.Revision, d.RuleIDs(), "", d.Summary())
	}
	return g.obligations(req, id, d)
}

// obligations enforces what an allowing decision asks for.
func (g *Gate) obligations(req *proxy.Request, id string, d policy.Decision) proxy.Decision {
	var rules []ratelimit.Rule
	var redact, redactRules []string
	for _, o := range d.Obligations {
		switch o.Type() {
		case policy.ObligationRequireApproval:
			reason, _ := o["reason"].(string)
			if reason == "" {
				reason = "the policy requires approval for this call"
			}
			if d.Enforced {
				return g.deny(req, id, d.Revision, nil, ReasonApproval, "approval required: "+reason+" (approvals are not available yet)")
			}
		case policy.ObligationRateLimit:
			r, err := ratelimit.ParseRule(o)
			if err != nil {
				return g.deny(req, id, d.Revision, nil, ReasonObligation, "the policy's rate limit is malformed: "+err.Error())
			}
			rules = append(rules, r)
		case policy.ObligationRedact:
			if req.Phase != proxy.PhaseResult {
				continue // only results are redacted
			}
			pointers, ok := stringList(o["pointers"])
			if !ok || len(pointers) == 0 {
				return g.deny(req, id, d.Revision, nil, ReasonObligation, "the policy's redact obligation has no list of JSON pointers")
			}
			ids, _ := stringList(o["rules"])
			if !d.Enforced {
				g.log.Warn("shadow mode: would redact", "decision_id", id, "method", req.Method, "name", req.Name,
					"upstream", req.Server, "pointers", pointers, "rules", ids, "revision", d.Revision)
				continue
			}
			redact = append(redact, pointers...)
			redactRules = append(redactRules, ids...)
		}
	}
	if len(rules) > 0 && d.Enforced && g.opts.Limiter != nil {
		if res := g.opts.Limiter.Allow(rules); !res.Allowed {
			dec := g.deny(req, id, d.Revision, nil, ReasonRateLimit,
				fmt.Sprintf("rate limit %s reached; retry in %s", res.Limited.String(), res.RetryAfter.Round(time.Millisecond)))
			dec.RetryAfter = res.RetryAfter
			return dec
		}
	}
	return proxy.Decision{Allow: true, ID: id, Revision: d.Revision, Redact: redact, Rules: redactRules}
}

// stringList reads a JSON array of strings.
func stringList(v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (g *Gate) deny(req *proxy.Request, id, revision string, rules []string, reasonID, reason string) proxy.Decision {
	if reasonID != "" {
		rules = append([]string{reasonID}, rules...)
	}
	if req.Phase != proxy.PhaseList {
		g.log.Info("denied", "decision_id", id, "method", req.Method, "name", req.Name, "upstream", req.Server,
			"session_id", req.SessionID, "rules", rules, "revision", revision, "reason", reason)
	}
	return proxy.Decision{Allow: false, ID: id, Reason: reason, Rules: rules, Revision: revision}
}
