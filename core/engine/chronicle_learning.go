package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// learningColumns are the columns scanLearning reads, in order.
const learningColumns = `id, ts, what_happened, what_learned, applies_to, session_id, principal`

func scanLearning(r rowScanner) (learningRecord, error) {
	var l learningRecord
	err := r.Scan(&l.ID, &l.Timestamp, &l.WhatHappened, &l.WhatLearned, &l.AppliesTo, &l.SessionID, &l.Principal)
	return l, err
}

func (e *Engine) recordLearning(ctx context.Context, c *Call) (*Result, error) {
	var a struct {
		WhatHappened string `json:"what_happened"`
		WhatLearned  string `json:"what_learned"`
		AppliesTo    string `json:"applies_to"`
	}
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	if a.AppliesTo == "" {
		a.AppliesTo = "general"
	}
	applies, err := normalizeDomain("/applies_to", a.AppliesTo)
	if err != nil {
		return nil, err
	}
	rec := learningRecord{Timestamp: e.ts(), WhatHappened: a.WhatHappened, WhatLearned: a.WhatLearned, AppliesTo: applies,
		SessionID: c.Caller.Session, Principal: c.Caller.Principal}
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		id, err := e.insertLearningRecord(ctx, tx, rec)
		rec.ID = id
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{Text: fmt.Sprintf("Learning %d recorded (applies to %s).", rec.ID, rec.AppliesTo), Data: rec}, nil
}

func (e *Engine) checkMistakes(ctx context.Context, c *Call) (*Result, error) {
	var a struct {
		Context string `json:"context"`
	}
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	terms := queryTerms(a.Context)
	var (
		stmt string
		args []any
	)
	if len(terms) == 0 {
		stmt = `SELECT ` + learningColumns + ` FROM learnings ORDER BY ts DESC, id DESC LIMIT ?`
		args = []any{mistakesReturned}
	} else {
		stmt = `SELECT l.id, l.ts, l.what_happened, l.what_learned, l.applies_to, l.session_id, l.principal
			FROM learnings_fts JOIN learnings l ON l.id = learnings_fts.rowid
			WHERE learnings_fts MATCH ? ORDER BY learnings_fts.rank, l.ts DESC LIMIT ?`
		args = []any{ftsMatch(terms), mistakesReturned}
	}
	rows, err := e.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, internal("cannot search the learnings", err)
	}
	defer rows.Close()
	found := []learningRecord{}
	for rows.Next() {
		l, err := scanLearning(rows)
		if err != nil {
			return nil, internal("cannot read the learnings", err)
		}
		found = append(found, l)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot search the learnings", err)
	}
	var b strings.Builder
	switch {
	case len(found) == 0 && len(terms) == 0:
		b.WriteString("No learnings recorded yet.")
	case len(found) == 0:
		b.WriteString("No recorded learning matches this context.")
	case len(terms) == 0:
		fmt.Fprintf(&b, "The context has no words to match; the newest %d learnings:\n", len(found))
	default:
		fmt.Fprintf(&b, "%d learnings apply (most relevant first):\n", len(found))
	}
	for _, l := range found {
		fmt.Fprintf(&b, "- [%s] %s: %s → learned: %s\n", l.AppliesTo, l.Timestamp[:10], clipChronicle(l.WhatHappened, insightTextLimit), clipChronicle(l.WhatLearned, insightTextLimit))
	}
	return &Result{Text: b.String(), Data: map[string]any{"learnings": found, "count": len(found), "terms": terms}}, nil
}
