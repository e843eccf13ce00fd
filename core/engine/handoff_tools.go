package engine

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
)

// handoffIDPattern accepts the ids this engine makes (ho_…) and imported
// ones (the original's file stems).
const handoffIDPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`

var handoffIDRe = regexp.MustCompile(handoffIDPattern)

// Bounds of the handoff tools.
const (
	maxWhatWasDoneLen = 4000
	maxActedOnList    = 500
)

func (e *Engine) handoffTool(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Note           string `json:"note"`
		Thread         string `json:"thread"`
		SourceInstance string `json:"source_instance"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	var h handoffRecord
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		h, err = e.insertHandoff(ctx, tx, c.Caller, in.Note, in.Thread, in.SourceInstance)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{
		Text: fmt.Sprintf("Handoff %s left on thread %s (%d bytes). The next session sees it in where_did_i_leave_off until one consumes it.", h.ID, h.Thread, len(h.Note)),
		Data: h,
	}, nil
}

// handoffRef is the handoff an acted-on call names: handoff_id, or the
// original's handoff_path reduced to its file stem.
func handoffRef(id, path string) (string, error) {
	if path != "" {
		stem := path[strings.LastIndexAny(path, `/\`)+1:]
		stem = strings.TrimSuffix(stem, ".json")
		if !handoffIDRe.MatchString(stem) {
			return "", FieldError("/handoff_path", "%q does not name a handoff (a handoff id, or a path whose file name is one)", path)
		}
		if id != "" && id != stem {
			return "", FieldError("/handoff_path", "handoff_id %q and handoff_path %q name different handoffs", id, path)
		}
		return stem, nil
	}
	return id, nil
}

func (e *Engine) handoffActedOn(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		HandoffID   string `json:"handoff_id"`
		HandoffPath string `json:"handoff_path"`
		ConsumedBy  string `json:"consumed_by"`
		WhatWasDone string `json:"what_was_done"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	id, err := handoffRef(in.HandoffID, in.HandoffPath)
	if err != nil {
		return nil, err
	}
	switch {
	case id == "":
		return nil, FieldError("/handoff_id", "give handoff_id (or handoff_path)")
	case strings.TrimSpace(in.ConsumedBy) == "":
		return nil, FieldError("/consumed_by", "consumed_by is blank")
	case strings.TrimSpace(in.WhatWasDone) == "":
		return nil, FieldError("/what_was_done", "what_was_done is blank")
	}
	r := actedOnRecord{HandoffID: id, ConsumedBy: in.ConsumedBy, WhatWasDone: in.WhatWasDone, SessionID: c.Caller.Session, Principal: c.Caller.Principal}
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		if _, err := handoffByID(ctx, tx, id); err != nil {
			return err
		}
		r.Timestamp = e.ts()
		return insertActedOnRow(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Recorded what %s did with handoff %s.", r.ConsumedBy, id), Data: r}, nil
}

func (e *Engine) handoffActedOnRecords(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		HandoffID   string `json:"handoff_id"`
		HandoffPath string `json:"handoff_path"`
		Limit       int    `json:"limit"`
		Offset      int    `json:"offset"`
	}{Limit: 50}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	id, err := handoffRef(in.HandoffID, in.HandoffPath)
	if err != nil {
		return nil, err
	}
	if id != "" {
		if _, err := handoffByID(ctx, e.db, id); err != nil {
			return nil, err
		}
	}
	recs, err := actedOnRecords(ctx, e.db, id, in.Limit, in.Offset)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	what := "all handoffs"
	if id != "" {
		what = "handoff " + id
	}
	fmt.Fprintf(&b, "%d acted-on records for %s (newest first, from offset %d):\n", len(recs), what, in.Offset)
	for _, r := range recs {
		fmt.Fprintf(&b, "- %s %s on %s: %s\n", r.Timestamp, r.ConsumedBy, r.HandoffID, clipRunes(r.WhatWasDone, 200))
	}
	data := map[string]any{"count": len(recs), "records": recs, "offset": in.Offset}
	if id != "" {
		data["handoff_id"] = id
	}
	return &Result{Text: b.String(), Data: data}, nil
}
