package policygate

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy"
)

// What a decision record keeps of input.facts (docs/audit-format.md): the
// path facts in clear but for the raw value, the string facts without their
// text. Facts of other keys (a FactFunc this file does not know) are not
// recorded: they might hold argument text.

// recordFacts is input.facts as a decision record holds it. key keys the
// HMAC digests that replace the text of path and string arguments.
func recordFacts(key []byte, facts map[string]any) map[string]any {
	out := make(map[string]any, len(facts))
	for k, v := range facts {
		switch k {
		case "roots", "home", "strings_omitted", "strings_incomplete":
			out[k] = audit.RecordValue(v)
		case "paths":
			out[k] = recordEach(v, func(m map[string]any) map[string]any { return recordPathFact(key, m) })
		case "strings":
			out[k] = recordEach(v, func(m map[string]any) map[string]any { return recordStringFact(key, m) })
		}
	}
	return out
}

// recordEach converts the facts of a list (elements that are not objects
// are dropped).
func recordEach(v any, f func(map[string]any) map[string]any) []any {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case []map[string]any:
		for _, m := range x {
			list = append(list, m)
		}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, f(m))
		}
	}
	return out
}

// recordPathFact keeps a path fact but for its raw value, which becomes
// raw_hmac: the canonical path and its flags are what a reviewer asks about
// ("which file was written?"), and are recorded in clear.
func recordPathFact(key []byte, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k == "raw" {
			if s, ok := v.(string); ok {
				out["raw_hmac"] = audit.HashValue(key, s)
			}
			continue
		}
		out[k] = audit.RecordValue(v)
	}
	return out
}

// stringFactText are the keys of a string fact that hold argument text:
// recorded as HMAC digests (key + "_hmac"), never in clear.
var stringFactText = map[string]bool{"normalized": true, "variants": true}

// urlFactText are the keys of a URL fact that hold argument text.
var urlFactText = map[string]bool{"host": true, "ip": true}

// recordStringFact keeps what a string fact says about the string (its
// pointer, argument name, length, kind, signals, URL flags) and replaces
// its text (normalized, variants, URL host and IP) by HMAC digests.
func recordStringFact(key []byte, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case stringFactText[k] && v != "":
			out[k+"_hmac"] = hashText(key, v)
		case k == "url":
			u, ok := v.(map[string]any)
			if !ok {
				continue
			}
			ru := make(map[string]any, len(u))
			for uk, uv := range u {
				if urlFactText[uk] {
					ru[uk+"_hmac"] = hashText(key, uv)
					continue
				}
				ru[uk] = audit.RecordValue(uv)
			}
			out[k] = ru
		default:
			out[k] = audit.RecordValue(v)
		}
	}
	return out
}

// hashText replaces a string, or each string of a list, by its keyed digest.
func hashText(key []byte, v any) any {
	switch x := v.(type) {
	case string:
		return audit.HashValue(key, x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = audit.HashValue(key, s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = hashText(key, e)
		}
		return out
	}
	return audit.Redacted(key, v)
}

// ErrNotReplayable is returned by ReplayInput for a decision record the
// policy cannot be asked about again.
var ErrNotReplayable = errors.New("not replayable")

// What a replayed input lacks compared to the one the policy saw. Rules that
// depend on it may decide otherwise on replay.
const (
	LimitArguments = "arguments not recorded: rules on argument values cannot be replayed"
	LimitRedacted  = "arguments recorded redacted: rules on argument values see HMAC digests"
	LimitResult    = "result not recorded: rules on result values cannot be replayed"
	LimitStrings   = "string text not recorded: rules matching string content or URL hosts cannot be replayed"
)

// PhaseGovern is in judge.go; a govern check is judged as a call.

// ReplayInput rebuilds, from a decision record's fields (as audit.Record
// decodes them: numbers as json.Number), the policy input its decision was
// made on, as far as the record keeps it, and lists what it lacks (the
// Limit constants). Records the policy did not decide (the proxy denied
// before asking it) and records written before the replay fields existed
// are ErrNotReplayable.
func ReplayInput(rec map[string]any) (map[string]any, []string, error) {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	obj := func(m map[string]any, k string) map[string]any { o, _ := m[k].(map[string]any); return o }
	if _, ok := rec["policy_allow"].(bool); !ok {
		if g := str(rec, "gate_reason"); g != "" {
			return nil, nil, fmt.Errorf("%w: the proxy decided without the policy (%s)", ErrNotReplayable, g)
		}
		return nil, nil, fmt.Errorf("%w: the record holds no policy decision", ErrNotReplayable)
	}
	facts := obj(rec, "facts")
	if facts == nil {
		return nil, nil, fmt.Errorf("%w: the record predates the replay fields (no facts)", ErrNotReplayable)
	}
	phase := str(rec, "phase")
	switch phase {
	case proxy.PhaseCall, proxy.PhaseList, proxy.PhaseResult:
	case PhaseGovern:
		phase = proxy.PhaseCall // a govern check is the call it asks about
	default:
		return nil, nil, fmt.Errorf("%w: unknown phase %q", ErrNotReplayable, phase)
	}
	principal, client := obj(rec, "principal"), obj(rec, "client")
	var callCount any = json.Number("0")
	if n, ok := rec["call_count"]; ok {
		callCount = n
	}
	in := map[string]any{
		"v":         InputVersion,
		"phase":     phase,
		"method":    str(rec, "method"),
		"principal": map[string]any{"kind": str(principal, "kind"), "id": str(principal, "id"), "claims": map[string]any{}},
		"client":    map[string]any{"name": str(client, "name"), "version": str(client, "version")},
		"session":   map[string]any{"id": str(rec, "session"), "call_count": callCount},
	}
	if up := str(rec, "upstream"); up != "" {
		in["upstream"] = map[string]any{"name": up, "transport": str(rec, "transport")}
	}
	if t := obj(rec, "tool"); t != nil {
		ann := obj(t, "annotations")
		if ann == nil {
			ann = map[string]any{}
		}
		in["tool"] = map[string]any{"name": str(t, "name"), "upstream_name": str(t, "upstream_name"), "annotations": ann,
			"effect": str(t, "effect"), "effect_source": str(t, "effect_source")}
	}
	if p := obj(rec, "prompt"); p != nil && (in["method"] == mcpmsg.PromptsGet || in["method"] == mcpmsg.PromptsList) {
		in["prompt"] = map[string]any{"name": str(p, "name"), "upstream_name": str(p, "upstream_name")}
	}
	var uriArg json.RawMessage
	if r := obj(rec, "resource"); r != nil {
		in["resource"] = map[string]any{"uri": str(r, "uri"), "upstream_uri": str(r, "upstream_uri")}
		uriArg = uriArgs(str(r, "upstream_uri"))
	}
	var limits []string
	replayFacts, textMissing := replayedFacts(facts)
	in["facts"] = replayFacts
	if textMissing {
		limits = append(limits, LimitStrings)
	}
	if d := str(rec, "args_digest"); d != "" {
		key := "args"
		if phase == proxy.PhaseResult {
			key = "result"
		}
		switch {
		case rec["args_redacted"] != nil:
			in[key] = rec["args_redacted"]
			limits = append(limits, LimitRedacted)
		case d == digest([]byte("{}")):
			in[key] = map[string]any{} // nothing was hidden: the digest says so
		case uriArg != nil && d == digest(uriArg):
			in[key] = map[string]any{"uri": str(obj(rec, "resource"), "upstream_uri")}
		case key == "result":
			limits = append(limits, LimitResult)
		default:
			limits = append(limits, LimitArguments)
		}
	}
	sort.Strings(limits)
	return in, limits, nil
}

// replayedFacts is input.facts from a record's facts: the path facts as
// recorded (raw_hmac dropped), the string facts without their digests. It
// reports whether some string text (or URL host) was left out.
func replayedFacts(rec map[string]any) (map[string]any, bool) {
	out := make(map[string]any, len(rec))
	missing := false
	for k, v := range rec {
		switch k {
		case "paths":
			out[k] = replayEach(v, func(m map[string]any) map[string]any {
				delete(m, "raw_hmac")
				return m
			})
		case "strings":
			out[k] = replayEach(v, func(m map[string]any) map[string]any {
				for tk := range stringFactText {
					if _, ok := m[tk+"_hmac"]; ok {
						missing = true
						delete(m, tk+"_hmac")
					}
				}
				if u, ok := m["url"].(map[string]any); ok {
					for tk := range urlFactText {
						if _, ok := u[tk+"_hmac"]; ok {
							missing = true
							delete(u, tk+"_hmac")
						}
					}
				}
				return m
			})
		default:
			out[k] = v
		}
	}
	return out, missing
}

// replayEach applies f to a copy of each object of a list.
func replayEach(v any, f func(map[string]any) map[string]any) []any {
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		c := make(map[string]any, len(m))
		for k, x := range m {
			if u, ok := x.(map[string]any); ok {
				cu := make(map[string]any, len(u))
				for uk, ux := range u {
					cu[uk] = ux
				}
				x = cu
			}
			c[k] = x
		}
		out = append(out, f(c))
	}
	return out
}
