package policygate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy"
)

// Recorder writes audit records; *audit.Log is one.
type Recorder interface {
	// Append returns once the record is durable, or an error.
	Append(ctx context.Context, e audit.Entry) (uint64, error)
	// AppendAsync queues the record in order without waiting.
	AppendAsync(e audit.Entry)
}

var _ proxy.OutcomeRecorder = (*Gate)(nil)

// record writes the decision record of d. A call-phase allow must be durable
// before the proxy forwards the call: if it cannot be written the call is
// denied instead. Everything else (denials, list and result phases) is
// queued without waiting: nothing is forwarded on its account.
func (g *Gate) record(ctx context.Context, req *proxy.Request, d proxy.Decision, ev *evaluation, took time.Duration) proxy.Decision {
	e := audit.Entry{Kind: audit.KindDecision, Body: g.decisionBody(req, d, ev, took)}
	if !d.Allow || req.Phase != proxy.PhaseCall {
		g.opts.Audit.AppendAsync(e)
		return d
	}
	if _, err := g.opts.Audit.Append(ctx, e); err != nil {
		denied := g.deny(req, d.ID, d.Revision, nil, ReasonAudit,
			"the audit log cannot record this call, so it is not forwarded: "+err.Error())
		// Queued: the log holds it while it cannot write and writes it
		// when it can, so the id the client got is found in the log.
		g.opts.Audit.AppendAsync(audit.Entry{Kind: audit.KindDecision, Body: g.decisionBody(req, denied, ev, took)})
		return denied
	}
	return d
}

func (g *Gate) decisionBody(req *proxy.Request, d proxy.Decision, ev *evaluation, took time.Duration) map[string]any {
	b := map[string]any{
		"decision_id": d.ID,
		"phase":       req.Phase,
		"method":      req.Method,
		"session":     req.SessionID,
		"principal":   map[string]any{"kind": req.Principal.Kind, "id": req.Principal.ID},
		"client":      map[string]any{"name": req.Client.Name, "version": req.Client.Version},
		"allow":       d.Allow,
		"rules":       audit.RecordValue(append([]string{}, d.Rules...)),
		"revision":    d.Revision,
		"eval_us":     took.Microseconds(),
	}
	if req.Server != "" {
		b["upstream"] = req.Server
		b["transport"] = req.Transport
	}
	switch {
	case ev.tool != nil:
		b["tool"] = map[string]any{"name": req.Name, "upstream_name": req.Original, "effect": ev.tool["effect"], "effect_source": ev.tool["effect_source"],
			"annotations": audit.RecordValue(ev.tool["annotations"])}
	case req.URI != "":
		b["resource"] = map[string]any{"uri": req.URI, "upstream_uri": upstreamURI(req)}
	case req.Name != "":
		b["prompt"] = map[string]any{"name": req.Name, "upstream_name": req.Original}
	}
	if len(ev.subject) > 0 {
		b["args_digest"] = digest(ev.subject)
	}
	// What else the policy saw, for a replay against another policy
	// (sovereign audit replay): nothing that quotes an argument in clear
	// but the paths.
	if ev.facts != nil {
		b["call_count"] = req.CallCount
		b["facts"] = recordFacts(g.opts.AuditKey, ev.facts)
	}
	if len(d.Redact) > 0 {
		b["redact"] = audit.RecordValue(append([]string{}, d.Redact...))
	}
	if !d.Allow && len(d.Rules) > 0 && strings.HasPrefix(d.Rules[0], "GATE-") {
		b["gate_reason"] = d.Rules[0]
		b["reason_hmac"] = audit.HashValue(g.opts.AuditKey, d.Reason)
	}
	if pd := ev.policy; pd != nil {
		// A reason's message may quote an argument (a path, a URL), which
		// the log keeps only as a keyed digest, like the arguments.
		reasons := make([]any, 0, len(pd.Reasons))
		for _, r := range pd.Reasons {
			reasons = append(reasons, map[string]any{"id": r.ID, "msg_hmac": audit.HashValue(g.opts.AuditKey, r.Msg)})
		}
		obligations := make([]any, 0, len(pd.Obligations))
		redactArgs := false
		for _, o := range pd.Obligations {
			obligations = append(obligations, audit.RecordValue(map[string]any(o)))
			if o.Type() == policy.ObligationAudit && o["redacted_args"] == true {
				redactArgs = true
			}
		}
		b["policy_allow"] = pd.Allow
		b["enforced"] = pd.Enforced
		b["mode"] = pd.Mode
		b["reasons"] = audit.RecordValue(reasons)
		b["obligations"] = obligations
		if redactArgs && ev.args != nil && len(g.opts.AuditKey) > 0 {
			b["args_redacted"] = audit.Redacted(g.opts.AuditKey, ev.args)
		}
	}
	return b
}

// RecordOutcome implements proxy.OutcomeRecorder: the outcome is queued in
// order (it is written with the next group commit; the response does not
// wait for it).
func (g *Gate) RecordOutcome(_ context.Context, req *proxy.Request, d proxy.Decision, o proxy.Outcome) {
	if g.opts.Audit == nil {
		return
	}
	b := map[string]any{
		"decision_id": d.ID,
		"method":      req.Method,
		"status":      o.Status,
		"is_error":    o.IsError,
		"duration_us": o.Duration.Microseconds(),
	}
	if req.Server != "" {
		b["upstream"] = req.Server
	}
	if o.ResultDecision != "" {
		b["result_decision_id"] = o.ResultDecision
	}
	if len(o.Result) > 0 {
		b["result_digest"] = digest(o.Result)
	}
	g.opts.Audit.AppendAsync(audit.Entry{Kind: audit.KindOutcome, Body: b})
}

// digest is how arguments and results appear in the log: "sha256:" and the
// hex SHA-256 of the bytes as they were received.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
