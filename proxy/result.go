package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errRedact is returned when a redaction cannot be applied; the result is
// then withheld (fail closed).
var errRedact = errors.New("cannot redact")

// checkResult asks the gate about what an upstream answered to call (the
// result phase): the result passes unchanged, passes with strings redacted,
// or is withheld, in which case the returned decision denies.
func (p *Proxy) checkResult(ctx context.Context, call *Request, raw json.RawMessage) (json.RawMessage, Decision) {
	req := *call
	req.Phase, req.Result = PhaseResult, raw
	d := p.gate.Decide(ctx, &req)
	if !d.Allow || len(d.Redact) == 0 {
		return raw, d
	}
	out, err := redact(raw, d.Redact, fmt.Sprintf("[redacted by policy: decision %s]", d.ID))
	if err != nil {
		p.log.Warn("result withheld: redaction failed", "decision_id", d.ID, "method", call.Method, "upstream", call.Server, "error", err)
		return nil, Decision{Allow: false, ID: d.ID, Rules: d.Rules, Revision: d.Revision,
			Reason: fmt.Sprintf("the result must be redacted and could not be (%v), so it is withheld", err)}
	}
	p.log.Info("result redacted", "decision_id", d.ID, "method", call.Method, "name", call.Name, "upstream", call.Server,
		"pointers", d.Redact, "rules", d.Rules)
	return out, d
}

// redact replaces the strings at pointers (RFC 6901) in the JSON document raw
// with note; a "blob" field (base64 resource contents) gets note in base64.
// Every pointer must reach a string.
func redact(raw json.RawMessage, pointers []string, note string) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: the result is not JSON: %w", errRedact, err)
	}
	for _, ptr := range pointers {
		if err := replaceString(doc, ptr, note); err != nil {
			return nil, err
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRedact, err)
	}
	return out, nil
}

func replaceString(doc any, ptr, note string) error {
	if ptr == "" || ptr[0] != '/' {
		return fmt.Errorf("%w: %q is not a JSON pointer to a value inside the result", errRedact, ptr)
	}
	tokens := strings.Split(ptr[1:], "/")
	cur := doc
	for i, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		last := i == len(tokens)-1
		replacement := note
		if tok == "blob" {
			replacement = base64.StdEncoding.EncodeToString([]byte(note))
		}
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return fmt.Errorf("%w: %s does not exist in the result", errRedact, ptr)
			}
			if last {
				if _, isString := v.(string); !isString {
					return fmt.Errorf("%w: %s is not a string", errRedact, ptr)
				}
				c[tok] = replacement
				return nil
			}
			cur = v
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(c) || (len(tok) > 1 && tok[0] == '0') {
				return fmt.Errorf("%w: %s does not exist in the result", errRedact, ptr)
			}
			if last {
				if _, isString := c[n].(string); !isString {
					return fmt.Errorf("%w: %s is not a string", errRedact, ptr)
				}
				c[n] = note
				return nil
			}
			cur = c[n]
		default:
			return fmt.Errorf("%w: %s does not exist in the result", errRedact, ptr)
		}
	}
	return fmt.Errorf("%w: %s does not exist in the result", errRedact, ptr)
}
