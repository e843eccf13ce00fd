package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// where_did_i_leave_off assembles a briefing from the engine's database
// only (no files, no network, no model): sections, each one function of
// type briefingSection, run in the order of briefingSections.
//
// Consuming handoffs. By default (consume false) the briefing only reads.
// With consume true, the handoffs the briefing shows are consumed by the
// calling session: each gets one row in handoff_consumptions (session,
// source_instance as the instance, principal, time). A handoff is
// consume-once: after any session consumed it, it is no longer "waiting"
// for anybody (handoff_acted_on_records and export still show it, with who
// consumed it). The consuming transaction reads and marks in one BEGIN
// IMMEDIATE transaction, so two sessions consuming at once never both get
// the same handoff. The tool is declared EffectMutate because a call may
// consume: policies see every where_did_i_leave_off as a write.

// Caps of the briefing (the original's where they had one).
const (
	briefHandoffMax   = 20
	briefThreadMax    = 10
	briefInsightMax   = 10
	briefLearningMax  = 5
	briefTagMax       = 5
	briefInsightClip  = 120
	briefQuestionClip = 140
	// sentinelIntensity: insights at least this intense come first.
	sentinelIntensity = 0.9
)

// briefingOptions are where_did_i_leave_off's arguments, checked.
type briefingOptions struct {
	Thread         string // handoffs of this thread only ("": all)
	Consume        bool
	SourceInstance string
	Tags           []string // domain_tags and project, normalised tags
	FullContent    bool
	Compact        bool
	Now            time.Time
	// consumed is filled by the handoffs section with the ids it consumed.
	consumed *[]string
}

// max is the number of items a section shows: n, or fewer when compact.
func (o briefingOptions) max(n int) int {
	if o.Compact {
		return min(n, 5)
	}
	return n
}

// clip shortens s to n characters unless full_content was asked for.
func (o briefingOptions) clip(s string, n int) string {
	if o.FullContent {
		return s
	}
	return clipRunes(strings.Join(strings.Fields(s), " "), n)
}

// briefingSection is one section of where_did_i_leave_off: a title, its
// text lines (without bullets; empty: the section says "none") and its
// structured data (any JSON-able value, shown under the title in the
// result's data). A section with an empty title is left out (it has
// nothing to say for these options). A section reads the database through
// e.db; only the handoffs section writes.
type briefingSection func(ctx context.Context, c Caller, o briefingOptions) (title string, lines []string, data any, err error)

// briefingSections lists the sections in the order the briefing shows
// them. To add a section, write a method of type briefingSection (in your
// own file) and add it to this list where it belongs: e.g. a spiral status
// first, unresolved uncertainties after the open threads. A section that
// fails before any handoff was consumed fails the call; after, its failure
// is shown in its place (so the consumed handoffs are never lost).
func (e *Engine) briefingSections() []briefingSection {
	return []briefingSection{
		e.briefSpiral,
		e.briefHandoffs,
		e.briefTagged,
		e.briefOpenThreads,
		e.briefUncertainties,
		e.briefRecentInsights,
		e.briefLearnings,
	}
}

// briefingPart is one section in the result's data.
type briefingPart struct {
	Title string `json:"title"`
	Data  any    `json:"data,omitempty"`
	Error string `json:"error,omitempty"`
}

func (e *Engine) whereDidILeaveOff(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Thread         string   `json:"thread"`
		Consume        bool     `json:"consume"`
		SourceInstance string   `json:"source_instance"`
		DomainTags     []string `json:"domain_tags"`
		Project        string   `json:"project"`
		FullContent    bool     `json:"full_content"`
		Compact        bool     `json:"compact"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	var consumed []string
	o := briefingOptions{Consume: in.Consume, SourceInstance: in.SourceInstance, FullContent: in.FullContent,
		Compact: in.Compact, Now: e.now(), consumed: &consumed}
	if in.Thread != "" {
		th, err := normalizeDomain("/thread", in.Thread)
		if err != nil {
			return nil, err
		}
		o.Thread = th
	}
	seen := map[string]bool{}
	addTag := func(pointer, s string) error {
		for _, p := range strings.Split(s, ",") {
			t, err := normalizeDomain(pointer, p)
			if err != nil {
				return err
			}
			if !seen[t] {
				seen[t] = true
				o.Tags = append(o.Tags, t)
			}
		}
		return nil
	}
	for i, t := range in.DomainTags {
		if err := addTag(fmt.Sprintf("/domain_tags/%d", i), t); err != nil {
			return nil, err
		}
	}
	if in.Project != "" {
		if err := addTag("/project", in.Project); err != nil {
			return nil, err
		}
	}
	var (
		b     strings.Builder
		parts []briefingPart
	)
	fmt.Fprintf(&b, "# Where you left off (%s UTC)\n", o.Now.UTC().Format("2006-01-02 15:04"))
	for _, sec := range e.briefingSections() {
		title, lines, data, err := sec(ctx, c.Caller, o)
		if err != nil {
			if len(consumed) == 0 {
				return nil, err
			}
			ae := AsError(err)
			fmt.Fprintf(&b, "\n## %s\n(this section could not be read: %s)\n", title, ae.Category)
			parts = append(parts, briefingPart{Title: title, Error: string(ae.Category) + ": " + ae.Msg})
			continue
		}
		if title == "" || (o.Compact && len(lines) == 0) {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n", title)
		if len(lines) == 0 {
			b.WriteString("(none)\n")
		}
		for _, l := range lines {
			b.WriteString("- " + l + "\n")
		}
		parts = append(parts, briefingPart{Title: title, Data: data})
	}
	switch {
	case len(consumed) > 0:
		fmt.Fprintf(&b, "\n%d handoffs consumed by this session; they no longer wait for anyone.\n", len(consumed))
	case !in.Consume:
		b.WriteString("\nNothing was consumed: call again with consume=true to take the handoffs shown.\n")
	}
	if consumed == nil {
		consumed = []string{}
	}
	return &Result{Text: b.String(), Data: map[string]any{
		"sections": parts, "consumed": consumed, "session": c.Caller.Session,
	}}, nil
}

// briefHandoffs: the handoffs nobody consumed yet (of o.Thread when
// given), newest first; with o.Consume, consumed by the caller in the
// same transaction.
func (e *Engine) briefHandoffs(ctx context.Context, c Caller, o briefingOptions) (string, []string, any, error) {
	title := "Handoffs waiting"
	if o.Thread != "" {
		title += " on thread " + o.Thread
	}
	var hs []handoffRecord
	if !o.Consume {
		var err error
		if hs, err = waitingHandoffs(ctx, e.db, o.Thread, o.max(briefHandoffMax)); err != nil {
			return title, nil, nil, err
		}
	} else {
		err := inTx(ctx, e.db, func(tx *sql.Tx) error {
			var err error
			hs, err = waitingHandoffs(ctx, tx, o.Thread, o.max(briefHandoffMax))
			if err != nil {
				return err
			}
			now := e.ts()
			for i := range hs {
				ok, err := insertConsumptionRow(ctx, tx, hs[i].ID, now, c.Session, o.SourceInstance, c.Principal)
				if err != nil {
					return err
				}
				if !ok { // cannot happen inside BEGIN IMMEDIATE; refuse rather than double-consume
					return Errorf(CategoryConflict, "handoff %s was consumed meanwhile; nothing was consumed, call again", hs[i].ID)
				}
				hs[i].ConsumedAt, hs[i].ConsumedBy, hs[i].ConsumedByInst = now, c.Session, o.SourceInstance
			}
			return nil
		})
		if err != nil {
			return title, nil, nil, err
		}
		for _, h := range hs {
			*o.consumed = append(*o.consumed, h.ID)
		}
	}
	lines := make([]string, 0, len(hs))
	for _, h := range hs {
		from := h.SourceInstance
		if from == "" {
			from = "session " + h.SourceSession
		}
		lines = append(lines, fmt.Sprintf("%s [%s, %s ago, from %s] %s", h.ID, h.Thread, ageLabel(o.Now, h.Timestamp), from, o.clip(h.Note, 2*briefInsightClip)))
	}
	if hs == nil {
		hs = []handoffRecord{}
	}
	return title, lines, hs, nil
}

// briefTagged: with domain_tags or project, the open threads and insights
// carrying one of those tags.
func (e *Engine) briefTagged(ctx context.Context, _ Caller, o briefingOptions) (string, []string, any, error) {
	if len(o.Tags) == 0 {
		return "", nil, nil, nil
	}
	title := "Related to " + strings.Join(o.Tags, ", ")
	var (
		tcond, icond []string
		args         []any
	)
	for _, t := range o.Tags {
		tcond = append(tcond, domainFilter("t.domain"))
		icond = append(icond, domainFilter("domain"))
		args = append(args, t, t)
	}
	threads, err := e.briefThreadQuery(ctx, "t.resolved_at IS NULL AND ("+strings.Join(tcond, " OR ")+")", args, o.max(briefTagMax))
	if err != nil {
		return title, nil, nil, err
	}
	ins, err := e.briefInsightQuery(ctx, "("+strings.Join(icond, " OR ")+")", args, `ts DESC`, o.max(briefTagMax))
	if err != nil {
		return title, nil, nil, err
	}
	var lines []string
	for _, t := range threads {
		lines = append(lines, "open thread "+o.threadText(t))
	}
	for _, r := range ins {
		lines = append(lines, o.insightText(r))
	}
	return title, lines, map[string]any{"threads": threads, "insights": ins}, nil
}

// briefOpenThreads: unresolved threads, newest first, with their age.
func (e *Engine) briefOpenThreads(ctx context.Context, _ Caller, o briefingOptions) (string, []string, any, error) {
	title := "Open threads"
	threads, err := e.briefThreadQuery(ctx, "t.resolved_at IS NULL", nil, o.max(briefThreadMax))
	if err != nil {
		return title, nil, nil, err
	}
	var n int
	if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM open_threads WHERE resolved_at IS NULL`).Scan(&n); err != nil {
		return title, nil, nil, internal("cannot count the open threads", err)
	}
	if n > len(threads) {
		title += fmt.Sprintf(" (newest %d of %d; get_open_threads pages through them)", len(threads), n)
	}
	lines := make([]string, 0, len(threads))
	for _, t := range threads {
		lines = append(lines, o.threadText(t))
	}
	return title, lines, threads, nil
}

// briefRecentInsights: insights since the caller's principal last closed
// a session (close_session's reflection included), sentinels (intensity ≥
// 0.9) first, then newest first. Without such a close, the newest ones.
func (e *Engine) briefRecentInsights(ctx context.Context, c Caller, o briefingOptions) (string, []string, any, error) {
	title := "Recent insights"
	var since sql.NullString
	if err := e.db.QueryRowContext(ctx, `SELECT max(ts) FROM insights WHERE principal = ? AND json_extract(extra, '$.close_session') = 1`,
		c.Principal).Scan(&since); err != nil {
		return title, nil, nil, internal("cannot read the chronicle", err)
	}
	cond, args := "1", []any(nil)
	if since.Valid {
		title += fmt.Sprintf(" since your last close_session (%s ago)", ageLabel(o.Now, since.String))
		cond, args = "ts >= ?", []any{since.String}
	}
	ins, err := e.briefInsightQuery(ctx, cond, args, fmt.Sprintf(`intensity >= %g DESC, ts DESC`, sentinelIntensity), o.max(briefInsightMax))
	if err != nil {
		return title, nil, nil, err
	}
	lines := make([]string, 0, len(ins))
	for _, r := range ins {
		lines = append(lines, o.insightText(r))
	}
	return title, lines, ins, nil
}

// briefLearnings: the newest learnings.
func (e *Engine) briefLearnings(ctx context.Context, _ Caller, o briefingOptions) (string, []string, any, error) {
	title := "Recent learnings"
	rows, err := e.db.QueryContext(ctx, `SELECT ts, applies_to, what_happened, what_learned FROM learnings ORDER BY ts DESC, id DESC LIMIT ?`, o.max(briefLearningMax))
	if err != nil {
		return title, nil, nil, internal("cannot read the learnings", err)
	}
	defer rows.Close()
	type learning struct {
		Timestamp    string `json:"timestamp"`
		AppliesTo    string `json:"applies_to"`
		WhatHappened string `json:"what_happened"`
		WhatLearned  string `json:"what_learned"`
	}
	out := []learning{}
	var lines []string
	for rows.Next() {
		var l learning
		if err := rows.Scan(&l.Timestamp, &l.AppliesTo, &l.WhatHappened, &l.WhatLearned); err != nil {
			return title, nil, nil, internal("cannot read the learnings", err)
		}
		out = append(out, l)
		lines = append(lines, fmt.Sprintf("[%s, %s ago] %s", l.AppliesTo, ageLabel(o.Now, l.Timestamp), o.clip(l.WhatLearned, briefInsightClip)))
	}
	if err := rows.Err(); err != nil {
		return title, nil, nil, internal("cannot read the learnings", err)
	}
	return title, lines, out, nil
}

// briefThreadQuery reads up to limit threads matching cond, newest first.
func (e *Engine) briefThreadQuery(ctx context.Context, cond string, args []any, limit int) ([]threadRecord, error) {
	rows, err := e.db.QueryContext(ctx, threadSelect+"WHERE "+cond+" ORDER BY t.ts DESC, t.rowid LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, internal("cannot read the open threads", err)
	}
	defer rows.Close()
	out := []threadRecord{}
	for rows.Next() {
		t, err := scanThread(rows)
		if err != nil {
			return nil, internal("cannot read the open threads", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the open threads", err)
	}
	return out, nil
}

// briefInsightQuery reads up to limit insights matching cond, in order.
func (e *Engine) briefInsightQuery(ctx context.Context, cond string, args []any, order string, limit int) ([]insightRecord, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT `+insightColumns+` FROM insights WHERE `+cond+` ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, internal("cannot read the chronicle", err)
	}
	defer rows.Close()
	out := []insightRecord{}
	for rows.Next() {
		r, err := scanInsight(rows)
		if err != nil {
			return nil, internal("cannot read the chronicle", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the chronicle", err)
	}
	return out, nil
}

// threadText is a thread's briefing line.
func (o briefingOptions) threadText(t threadRecord) string {
	s := fmt.Sprintf("%s [%s, %s old", t.ID, t.Domain, ageLabel(o.Now, t.Timestamp))
	if t.TouchCount > 0 {
		s += fmt.Sprintf(", %d touches", t.TouchCount)
	}
	return s + "] " + o.clip(t.Question, briefQuestionClip)
}

// insightText is an insight's briefing line.
func (o briefingOptions) insightText(r insightRecord) string {
	mark := ""
	if r.Intensity >= sentinelIntensity {
		mark = "SENTINEL "
	}
	return fmt.Sprintf("%s[%s, %s, %s ago] %s", mark, r.Domain, r.Layer, ageLabel(o.Now, r.Timestamp), o.clip(r.Content, briefInsightClip))
}
