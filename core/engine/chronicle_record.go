package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// receiptArg is a receipt as the caller gives it (the schema refuses other
// keys, so a caller cannot forge the stamp).
type receiptArg struct {
	Kind   string `json:"kind"`
	Ref    string `json:"ref"`
	SHA256 string `json:"sha256,omitempty"`
	Note   string `json:"note,omitempty"`
}

// receiptStamp is what the engine found when the insight was written.
type receiptStamp struct {
	// Status: verified (archive re-hashed and matching), cites (an
	// existing insight), attested (cmd, url, human: recorded, not checked).
	Status string `json:"status"`
	At     string `json:"at"`
	// Resolved is the full id an archive or claim ref resolved to.
	Resolved string `json:"resolved,omitempty"`
}

// storedReceipt is a receipt with its stamp.
type storedReceipt struct {
	receiptArg
	Checked receiptStamp `json:"checked_at_write"`
}

// Receipt stamps.
const (
	stampVerified = "verified"
	stampCites    = "cites"
	stampAttested = "attested"
)

type recordInsightArgs struct {
	Domain             string       `json:"domain"`
	Content            string       `json:"content"`
	Intensity          *float64     `json:"intensity"`
	Layer              string       `json:"layer"`
	Confidence         *float64     `json:"confidence"`
	Vantage            string       `json:"vantage"`
	VerifiedBy         []receiptArg `json:"verified_by"`
	Supersedes         []string     `json:"supersedes"`
	CarryForward       string       `json:"carry_forward_summary"`
	ObservedEmotion    []string     `json:"observed_emotion"`
	EmotionalIntensity *float64     `json:"emotional_intensity"`
	EmotionSource      string       `json:"emotion_source"`
	EmotionNote        string       `json:"emotion_note"`
}

// recordedInsight is record_insight's data: the record and what it
// superseded.
type recordedInsight struct {
	insightRecord
	Supersedes []string `json:"supersedes,omitempty"`
}

// input checks the arguments that need more than the schema and returns
// the insight to store.
func (a *recordInsightArgs) input() (insightInput, error) {
	domain, err := normalizeDomain("/domain", a.Domain)
	if err != nil {
		return insightInput{}, err
	}
	if strings.TrimSpace(a.Content) == "" {
		return insightInput{}, FieldError("/content", "content is only whitespace")
	}
	in := insightInput{Domain: domain, Content: a.Content, Layer: a.Layer, Intensity: 0.5, Vantage: a.Vantage}
	if in.Layer == "" {
		in.Layer = LayerHypothesis
	}
	if a.Intensity != nil {
		in.Intensity = *a.Intensity
	}
	if a.Confidence != nil {
		if in.Layer != LayerHypothesis {
			return insightInput{}, FieldError("/confidence", "confidence applies to hypotheses only, not to layer %s", in.Layer)
		}
		in.Confidence = a.Confidence
	}
	switch {
	case len(a.Supersedes) > 0 && strings.TrimSpace(a.CarryForward) == "":
		return insightInput{}, FieldError("/carry_forward_summary", "superseding needs a carry_forward_summary: what of the old insights still holds")
	case len(a.Supersedes) == 0 && a.CarryForward != "":
		return insightInput{}, FieldError("/carry_forward_summary", "carry_forward_summary is only for an insight that supersedes others")
	}
	extra := map[string]any{}
	if len(a.ObservedEmotion) > 0 {
		extra["observed_emotion"] = a.ObservedEmotion
	}
	if a.EmotionalIntensity != nil {
		extra["emotional_intensity"] = *a.EmotionalIntensity
	}
	if a.EmotionSource != "" {
		extra["emotion_source"] = a.EmotionSource
	}
	if a.EmotionNote != "" {
		extra["emotion_note"] = a.EmotionNote
	}
	if len(extra) > 0 {
		in.Extra = extra
	}
	for i, r := range a.VerifiedBy {
		if r.Kind == "file" {
			return insightInput{}, FieldError(fmt.Sprintf("/verified_by/%d/kind", i),
				"file receipts are not accepted: re-hashing a host path on request lets any caller learn whether a file exists and what it holds; "+
					"archive the content with archive_exchange and cite it as an archive receipt")
		}
		if strings.TrimSpace(r.Ref) == "" {
			return insightInput{}, FieldError(fmt.Sprintf("/verified_by/%d/ref", i), "ref is only whitespace")
		}
	}
	return in, nil
}

func (e *Engine) recordInsight(ctx context.Context, c *Call) (*Result, error) {
	var a recordInsightArgs
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	in, err := a.input()
	if err != nil {
		return nil, err
	}
	var (
		out      recordedInsight
		receipts []storedReceipt
	)
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		at := e.ts()
		receipts, err = stampReceipts(ctx, tx, a.VerifiedBy, at)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(receipts)
		if err != nil {
			return internal("cannot encode the receipts", err)
		}
		in.Receipts = raw
		preds, err := resolveSupersedes(ctx, tx, a.Supersedes)
		if err != nil {
			return err
		}
		rec, err := e.insertInsight(ctx, tx, c.Caller, in)
		if err != nil {
			return err
		}
		for _, p := range preds {
			err := e.insertSupersessionRecord(ctx, tx, supersessionRecord{
				Predecessor: p, Successor: rec.ID, Timestamp: at, Summary: a.CarryForward,
				SessionID: c.Caller.Session, Principal: c.Caller.Principal,
			})
			if err != nil {
				return err
			}
		}
		out = recordedInsight{insightRecord: rec, Supersedes: preds}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: recordedText(out, receipts), Data: out}, nil
}

// recordedText is the original's summary line.
func recordedText(out recordedInsight, receipts []storedReceipt) string {
	var b strings.Builder
	if out.Deduplicated {
		fmt.Fprintf(&b, "Insight already recorded [%s] moments ago: %s (not stored twice)", out.Layer, shortID(out.ID))
	} else {
		fmt.Fprintf(&b, "Insight recorded [%s]: %s", out.Layer, shortID(out.ID))
	}
	if len(receipts) > 0 && !out.Deduplicated {
		counts := map[string]int{}
		for _, r := range receipts {
			counts[r.Checked.Status]++
		}
		var parts []string
		for _, s := range []string{stampVerified, stampCites, stampAttested} {
			if counts[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			}
		}
		fmt.Fprintf(&b, " (receipts: %s)", strings.Join(parts, ", "))
	}
	if len(out.Supersedes) > 0 {
		fmt.Fprintf(&b, " ⊃ supersedes %d", len(out.Supersedes))
	}
	return b.String()
}

// stampReceipts checks every receipt now, in tx, and fails closed: an
// archive that is unknown, ambiguous or whose bytes no longer match, or a
// claim that resolves to no insight, rejects the whole call.
func stampReceipts(ctx context.Context, tx *sql.Tx, args []receiptArg, at string) ([]storedReceipt, error) {
	out := make([]storedReceipt, 0, len(args))
	for i, r := range args {
		ptr := fmt.Sprintf("/verified_by/%d", i)
		r.SHA256 = strings.ToLower(r.SHA256)
		st := storedReceipt{receiptArg: r, Checked: receiptStamp{At: at}}
		switch r.Kind {
		case "archive":
			id, err := resolveHexRef(ctx, tx, archiveIDs, ptr+"/ref", r.Ref)
			if err != nil {
				return nil, err
			}
			if r.SHA256 != "" && r.SHA256 != id {
				return nil, &Error{Category: CategoryConflict, Field: ptr + "/sha256",
					Msg: fmt.Sprintf("archive %s has sha256 %s, not the %s the receipt expects", shortID(id), id, r.SHA256)}
			}
			if err := verifyArchive(ctx, tx, id); err != nil {
				var ee *Error
				if errors.As(err, &ee) && ee.Category == CategoryConflict {
					ee.Field = ptr + "/ref"
				}
				return nil, err
			}
			st.Checked.Status, st.Checked.Resolved = stampVerified, id
		case "claim":
			id, err := resolveHexRef(ctx, tx, insightIDs, ptr+"/ref", r.Ref)
			if err != nil {
				return nil, err
			}
			st.Checked.Status, st.Checked.Resolved = stampCites, id
		case "cmd", "url", "human":
			st.Checked.Status = stampAttested
		default:
			return nil, FieldError(ptr+"/kind", "unknown receipt kind %q", r.Kind)
		}
		out = append(out, st)
	}
	return out, nil
}

// resolveSupersedes resolves every ref to one insight id (in order, without
// repeats); any ref that does not resolve rejects the call.
func resolveSupersedes(ctx context.Context, tx *sql.Tx, refs []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for i, ref := range refs {
		id, err := resolveHexRef(ctx, tx, insightIDs, fmt.Sprintf("/supersedes/%d", i), ref)
		if err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}
