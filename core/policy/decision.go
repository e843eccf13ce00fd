package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Reason explains one rule that denied.
type Reason struct {
	ID  string `json:"id"`
	Msg string `json:"msg"`
}

// Obligation is something the proxy must do for an allowed call; Type is
// one of the known types, the rest is the policy's object as decoded JSON.
type Obligation map[string]any

// Type returns the obligation's type.
func (o Obligation) Type() string { s, _ := o["type"].(string); return s }

// Known obligation types. Any other type denies (fail closed).
const (
	ObligationRateLimit       = "rate_limit"
	ObligationRequireApproval = "require_approval"
	ObligationRedact          = "redact"
	ObligationAudit           = "audit" // how the decision is recorded: {"redacted_args": true} keeps an HMAC-redacted copy
)

var knownObligations = map[string]bool{ObligationRateLimit: true, ObligationRequireApproval: true, ObligationRedact: true, ObligationAudit: true}

// Reason ids the engine itself gives when it fails closed.
const (
	ReasonEvalError      = "POLICY-EVAL"       // evaluation or built-in error, timeout
	ReasonUndefined      = "POLICY-UNDEFINED"  // the query had no result
	ReasonMalformed      = "POLICY-MALFORMED"  // the result is not a valid decision object
	ReasonObligation     = "POLICY-OBLIGATION" // an obligation the proxy does not know
	ReasonNoPolicyLoaded = "POLICY-NONE"       // no revision is loaded
)

// Decision is the engine's answer for one input.
type Decision struct {
	Allow       bool          `json:"allow"`
	Reasons     []Reason      `json:"reasons"`
	Obligations []Obligation  `json:"obligations"`
	Revision    string        `json:"revision"`
	Mode        string        `json:"mode"`
	Enforced    bool          `json:"enforced"` // false in shadow mode: the call goes through whatever Allow says
	Duration    time.Duration `json:"duration"`
}

// RuleIDs lists the ids of the rules that denied, sorted and unique.
func (d Decision) RuleIDs() []string {
	seen := map[string]bool{}
	var ids []string
	for _, r := range d.Reasons {
		if !seen[r.ID] {
			seen[r.ID] = true
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// Summary is a short reason for the client: the first reason's message.
func (d Decision) Summary() string {
	if len(d.Reasons) == 0 {
		return ""
	}
	if len(d.Reasons) == 1 {
		return d.Reasons[0].Msg
	}
	return fmt.Sprintf("%s (and %d more)", d.Reasons[0].Msg, len(d.Reasons)-1)
}

func failClosed(id, format string, args ...any) Decision {
	return Decision{Allow: false, Reasons: []Reason{{ID: id, Msg: fmt.Sprintf(format, args...)}}}
}

// parseDecision validates the policy's result. Anything but a well-formed
// decision object denies.
func parseDecision(v any) Decision {
	obj, ok := v.(map[string]any)
	if !ok {
		return failClosed(ReasonMalformed, "policy decision is not an object")
	}
	allow, ok := obj["allow"].(bool)
	if !ok {
		return failClosed(ReasonMalformed, "policy decision has no boolean \"allow\"")
	}
	var d Decision
	d.Allow = allow
	if raw, present := obj["reasons"]; present {
		list, ok := raw.([]any)
		if !ok {
			return failClosed(ReasonMalformed, "policy decision \"reasons\" is not an array")
		}
		for _, item := range list {
			r, ok := item.(map[string]any)
			id, _ := r["id"].(string)
			msg, _ := r["msg"].(string)
			if !ok || id == "" || msg == "" {
				return failClosed(ReasonMalformed, "policy decision has a reason without string \"id\" and \"msg\"")
			}
			d.Reasons = append(d.Reasons, Reason{ID: id, Msg: msg})
		}
	}
	if raw, present := obj["obligations"]; present {
		list, ok := raw.([]any)
		if !ok {
			return failClosed(ReasonMalformed, "policy decision \"obligations\" is not an array")
		}
		for _, item := range list {
			o, ok := item.(map[string]any)
			if !ok {
				return failClosed(ReasonMalformed, "policy decision has an obligation that is not an object")
			}
			ob := Obligation(normalizeNumbers(o).(map[string]any))
			if !knownObligations[ob.Type()] {
				return failClosed(ReasonObligation, "policy asked for obligation type %q, which this proxy does not know", ob.Type())
			}
			d.Obligations = append(d.Obligations, ob)
		}
	}
	if d.Allow && len(d.Reasons) > 0 {
		return failClosed(ReasonMalformed, "policy decision allows and gives deny reasons at once")
	}
	if !d.Allow && len(d.Reasons) == 0 {
		d.Reasons = []Reason{{ID: ReasonMalformed, Msg: "policy denied without a reason"}}
	}
	return d
}

// normalizeNumbers turns json.Number values (how OPA hands numbers to Go)
// into float64, so obligations read like ordinary decoded JSON.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return f
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalizeNumbers(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalizeNumbers(x)
		}
		return out
	}
	return v
}
