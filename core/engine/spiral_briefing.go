package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// briefUncertaintyMax is how many unresolved uncertainties the
// where_did_i_leave_off briefing shows.
const briefUncertaintyMax = 5

// briefSpiral is the briefing's spiral section: the caller's session's
// status line (the call being made is not counted yet).
func (e *Engine) briefSpiral(ctx context.Context, c Caller, _ briefingOptions) (string, []string, any, error) {
	title := "Spiral"
	v, err := e.spiralView(ctx, c.Session)
	if err != nil {
		return title, nil, nil, err
	}
	return title, []string{v.State.statusLine(time.Duration(v.DurationSeconds) * time.Second)}, v, nil
}

// briefUncertainties is the briefing's section of unresolved uncertainty
// markers (every session's), newest first.
func (e *Engine) briefUncertainties(ctx context.Context, _ Caller, o briefingOptions) (string, []string, any, error) {
	title := "Unresolved uncertainties"
	list, total, err := unresolvedUncertainties(ctx, e.db, o.max(briefUncertaintyMax), 0)
	if err != nil {
		return title, nil, nil, err
	}
	if total > len(list) {
		title += fmt.Sprintf(" (newest %d of %d; get_unresolved_uncertainties pages through them)", len(list), total)
	}
	lines := make([]string, 0, len(list))
	for _, u := range list {
		l := fmt.Sprintf("%s (confidence %.2f) %s", u.ID, u.Confidence, o.clip(u.What, briefQuestionClip))
		if len(u.WhatWouldHelp) > 0 {
			l += " — would help: " + o.clip(strings.Join(u.WhatWouldHelp, "; "), briefQuestionClip)
		}
		lines = append(lines, l)
	}
	return title, lines, list, nil
}
