package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// inheritLimit bounds each list of the inherited context.
const (
	inheritLimit         = 10
	inheritHandoffs      = 3
	inheritClip          = 200
	notCloseSessionWhere = `coalesce(json_extract(extra, '$.close_session'), 0) <> 1`
)

// inheritedInsight is an insight as spiral_inherit shows it.
type inheritedInsight struct {
	ID        string  `json:"id"`
	Timestamp string  `json:"timestamp"`
	Domain    string  `json:"domain"`
	Content   string  `json:"content"`
	Clipped   bool    `json:"clipped,omitempty"`
	Intensity float64 `json:"intensity"`
}

// inheritedHandoff is a handoff the inherited session left.
type inheritedHandoff struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Thread    string `json:"thread"`
	Note      string `json:"note"`
}

// inheritedContext is what spiral_inherit returns besides the new state.
type inheritedContext struct {
	FromSession   string             `json:"from_session"`
	Handoffs      []inheritedHandoff `json:"handoffs"`
	CloseSessions []inheritedInsight `json:"close_sessions"`
	GroundTruths  []inheritedInsight `json:"ground_truths"`
	Hypotheses    []inheritedInsight `json:"hypotheses"`
	OpenThreads   []inheritedInsight `json:"open_threads"`
}

func (e *Engine) spiralInherit(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		SessionID   *string `json:"session_id"`
		FullContent bool    `json:"full_content"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	var (
		ic       inheritedContext
		old, now spiralState
	)
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		src, err := inheritSource(ctx, tx, c.Caller, in.SessionID)
		if err != nil {
			return err
		}
		if old, err = loadSpiral(ctx, tx, c.Caller.Session); err != nil {
			return err
		}
		if now, err = e.newSpiral(ctx, tx, c.Caller, old, src); err != nil {
			return err
		}
		ic, err = loadInherited(ctx, tx, src, in.FullContent)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: ic.text(now), Data: map[string]any{"state": now, "previous_spiral_id": old.SpiralID, "inherited": ic}}, nil
}

// inheritSource is the session to inherit from: the one asked for (it must
// have left something: a spiral, an insight or a handoff), or the most
// recently active other session of the caller's principal.
func inheritSource(ctx context.Context, tx *sql.Tx, c Caller, asked *string) (string, error) {
	if asked != nil {
		if *asked == c.Session {
			return "", FieldError("/session_id", "that is the calling session itself")
		}
		var n int
		err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM spiral_sessions WHERE session_id = ?1)
			+ (SELECT count(*) FROM (SELECT 1 FROM insights WHERE session_id = ?1 LIMIT 1))
			+ (SELECT count(*) FROM (SELECT 1 FROM handoffs WHERE source_session = ?1 LIMIT 1))`, *asked).Scan(&n)
		if err != nil {
			return "", internal("cannot look the session up", err)
		}
		if n == 0 {
			return "", Errorf(CategoryNotFound, "no session %q is known (no spiral, insight or handoff of it); the spiral is unchanged", *asked)
		}
		return *asked, nil
	}
	var src string
	err := tx.QueryRowContext(ctx, `SELECT session_id FROM spiral_sessions WHERE principal = ? AND session_id <> ?
		ORDER BY updated DESC LIMIT 1`, c.Principal, c.Session).Scan(&src)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", Errorf(CategoryNotFound, "no previous session of principal %q is known; pass session_id (the spiral is unchanged)", c.Principal)
	case err != nil:
		return "", internal("cannot look the previous session up", err)
	}
	return src, nil
}

// newSpiral replaces the caller's spiral by a new one inherited from src,
// logging the end of the old one.
func (e *Engine) newSpiral(ctx context.Context, tx *sql.Tx, c Caller, old spiralState, src string) (spiralState, error) {
	ts := e.ts()
	st := spiralState{SessionID: c.Session, SpiralID: newSpiralID(), Principal: c.Principal, Phase: spiralPhases[0],
		Started: ts, Updated: ts, InheritedFrom: src, Stored: true}
	if old.Stored {
		if _, err := tx.ExecContext(ctx, `INSERT INTO spiral_transitions
			(session_id, spiral_id, ts, from_phase, to_phase, cause, tool_call_count, reflection_depth)
			VALUES (?, ?, ?, ?, 0, ?, ?, ?)`, c.Session, old.SpiralID, ts, old.PhaseIndex,
			"spiral_inherit: ended, continued as "+st.SpiralID, old.ToolCallCount, old.ReflectionDepth); err != nil {
			return st, internal("cannot log the spiral's end", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO spiral_sessions
		(session_id, spiral_id, principal, phase, tool_call_count, reflection_depth, started, updated, inherited_from, cause)
		VALUES (?, ?, ?, 0, 0, 0, ?, ?, ?, 'spiral_inherit')
		ON CONFLICT(session_id) DO UPDATE SET spiral_id = excluded.spiral_id, principal = excluded.principal, phase = 0,
			tool_call_count = 0, reflection_depth = 0, started = excluded.started, updated = excluded.updated,
			inherited_from = excluded.inherited_from, cause = excluded.cause`,
		c.Session, st.SpiralID, c.Principal, ts, ts, src)
	if err != nil {
		return st, internal("cannot start the new spiral", err)
	}
	return st, nil
}

// loadInherited reads what session src left: its last handoffs, its
// close_session reflections and up to inheritLimit insights of each layer.
func loadInherited(ctx context.Context, q queryer, src string, full bool) (inheritedContext, error) {
	ic := inheritedContext{FromSession: src, Handoffs: []inheritedHandoff{}}
	rows, err := q.QueryContext(ctx, `SELECT id, ts, thread, note FROM handoffs WHERE source_session = ?
		ORDER BY ts DESC, id DESC LIMIT ?`, src, inheritHandoffs)
	if err != nil {
		return ic, internal("cannot read the handoffs", err)
	}
	for rows.Next() {
		var h inheritedHandoff
		if err := rows.Scan(&h.ID, &h.Timestamp, &h.Thread, &h.Note); err != nil {
			rows.Close()
			return ic, internal("cannot read the handoffs", err)
		}
		ic.Handoffs = append(ic.Handoffs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ic, internal("cannot read the handoffs", err)
	}
	lists := []struct {
		dst   *[]inheritedInsight
		where string
		args  []any
		limit int
	}{
		{&ic.CloseSessions, `json_extract(extra, '$.close_session') = 1`, nil, inheritHandoffs},
		{&ic.GroundTruths, `layer = ?`, []any{LayerGroundTruth}, inheritLimit},
		{&ic.Hypotheses, `layer = ? AND ` + notCloseSessionWhere, []any{LayerHypothesis}, inheritLimit},
		{&ic.OpenThreads, `layer = ?`, []any{LayerOpenThread}, inheritLimit},
	}
	for _, l := range lists {
		args := append(append([]any{src}, l.args...), l.limit)
		got, err := queryInherited(ctx, q, `SELECT `+insightColumns+` FROM insights WHERE session_id = ? AND `+l.where+
			` ORDER BY ts DESC LIMIT ?`, full, args...)
		if err != nil {
			return ic, err
		}
		*l.dst = got
	}
	return ic, nil
}

func queryInherited(ctx context.Context, q queryer, query string, full bool, args ...any) ([]inheritedInsight, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("cannot read the chronicle", err)
	}
	defer rows.Close()
	out := []inheritedInsight{}
	for rows.Next() {
		rec, err := scanInsight(rows)
		if err != nil {
			return nil, internal("cannot read the chronicle", err)
		}
		ii := inheritedInsight{ID: rec.ID, Timestamp: rec.Timestamp, Domain: rec.Domain, Content: rec.Content, Intensity: rec.Intensity}
		if !full {
			ii.Content, ii.Clipped = clipToRunes(rec.Content, inheritClip)
		}
		out = append(out, ii)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the chronicle", err)
	}
	return out, nil
}

func (ic inheritedContext) text(st spiralState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "New spiral %s for session %q, inherited from session %q (no other session was changed).\n",
		st.SpiralID, st.SessionID, ic.FromSession)
	if len(ic.Handoffs) > 0 {
		b.WriteString("\nHandoffs it left (newest first):\n")
		for _, h := range ic.Handoffs {
			fmt.Fprintf(&b, "- [%s] %s (%s): %s\n", h.Thread, h.Timestamp, h.ID, h.Note)
		}
	}
	sections := []struct {
		title string
		list  []inheritedInsight
	}{
		{"Its close_session reflections", ic.CloseSessions},
		{"Ground truths it recorded", ic.GroundTruths},
		{"Hypotheses it recorded", ic.Hypotheses},
		{"Open threads it recorded", ic.OpenThreads},
	}
	empty := len(ic.Handoffs) == 0
	for _, s := range sections {
		if len(s.list) == 0 {
			continue
		}
		empty = false
		fmt.Fprintf(&b, "\n%s (newest first):\n", s.title)
		for _, ii := range s.list {
			fmt.Fprintf(&b, "- [%s] %s\n", ii.Domain, ii.Content)
		}
	}
	if empty {
		b.WriteString("That session left no handoff and no insight.\n")
	}
	return b.String()
}
