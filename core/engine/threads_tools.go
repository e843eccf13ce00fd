package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds of the thread tools.
const (
	maxQuestionLen   = 4000
	maxContextLen    = 8000
	maxResolutionLen = 16000
	maxTouchNoteLen  = 8000
	maxInstanceLen   = 128
	maxThreadList    = 200
	// resolutionIntensity is the intensity of the ground_truth insight a
	// resolution records (the original's).
	resolutionIntensity = 0.8
	// maxAmbiguousListed is how many candidate ids an ambiguous fragment's
	// conflict lists.
	maxAmbiguousListed = 5
)

func (e *Engine) recordOpenThread(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Question string `json:"question"`
		Context  string `json:"context"`
		Domain   string `json:"domain"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Question) == "" {
		return nil, FieldError("/question", "the question is blank")
	}
	if in.Domain == "" {
		in.Domain = "general"
	}
	domain, err := normalizeDomain("/domain", in.Domain)
	if err != nil {
		return nil, err
	}
	preamble, parts := splitQuestion(in.Question)
	threadContext := in.Context
	if preamble != "" {
		threadContext = strings.TrimSpace(preamble + "\n" + in.Context)
	}
	var recs []threadRecord
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		recs = recs[:0]
		for i, p := range parts {
			rec, err := e.insertThread(ctx, tx, c.Caller, p, threadContext, domain, i)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if len(recs) == 1 {
		fmt.Fprintf(&b, "Open thread %s recorded in %s.", recs[0].ID, domain)
	} else {
		fmt.Fprintf(&b, "The question was split at its (1) … (%d) markers into %d open threads in %s:\n", len(recs), len(recs), domain)
		for _, r := range recs {
			fmt.Fprintf(&b, "- %s: %s\n", r.ID, clipRunes(r.Question, 140))
		}
	}
	data := map[string]any{"threads": recs, "split": len(recs) > 1}
	if len(recs) == 1 {
		data["thread_id"] = recs[0].ID
	}
	return &Result{Text: b.String(), Data: data}, nil
}

// resolveInput is what resolve_thread and resolve_thread_by_id take.
type resolveInput struct {
	ThreadID         string `json:"thread_id"`
	Domain           string `json:"domain"`
	QuestionFragment string `json:"question_fragment"`
	Resolution       string `json:"resolution"`
}

func (e *Engine) resolveThread(ctx context.Context, c *Call) (*Result, error) {
	var in resolveInput
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Resolution) == "" {
		return nil, FieldError("/resolution", "the resolution is blank")
	}
	byID := in.ThreadID != ""
	switch {
	case byID && (in.Domain != "" || in.QuestionFragment != ""):
		return nil, FieldError("/thread_id", "give either thread_id, or domain and question_fragment, not both")
	case !byID && in.QuestionFragment == "":
		return nil, FieldError("/question_fragment", "give thread_id, or domain and question_fragment")
	case !byID && strings.TrimSpace(in.QuestionFragment) == "":
		return nil, FieldError("/question_fragment", "the fragment is blank")
	case !byID && in.Domain == "":
		return nil, FieldError("/domain", "a question_fragment is looked up within a domain: give domain too")
	}
	if !byID {
		d, err := normalizeDomain("/domain", in.Domain)
		if err != nil {
			return nil, err
		}
		in.Domain = d
	}
	return e.resolve(ctx, c.Caller, in)
}

func (e *Engine) resolveThreadByID(ctx context.Context, c *Call) (*Result, error) {
	var in resolveInput
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Resolution) == "" {
		return nil, FieldError("/resolution", "the resolution is blank")
	}
	return e.resolve(ctx, c.Caller, in)
}

// resolve finds the thread (by id, or the one unresolved thread of the
// domain whose question holds the fragment) and, in one transaction, marks
// it resolved and records the resolution as a ground_truth insight. When
// nothing matches, nothing is written.
func (e *Engine) resolve(ctx context.Context, caller Caller, in resolveInput) (*Result, error) {
	var (
		th  threadRecord
		ins insightRecord
	)
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		if in.ThreadID != "" {
			th, err = threadByID(ctx, tx, in.ThreadID)
			if err != nil {
				return err
			}
			if th.Resolved {
				return Errorf(CategoryConflict, "thread %s was resolved already, at %s by session %q", th.ID, th.ResolvedAt, th.ResolvedBy)
			}
		} else if th, err = threadByFragment(ctx, tx, in.Domain, in.QuestionFragment); err != nil {
			return err
		}
		ins, err = e.insertInsight(ctx, tx, caller, insightInput{
			Domain: th.Domain, Content: in.Resolution, Layer: LayerGroundTruth, Intensity: resolutionIntensity,
			Extra: map[string]any{
				"resolved_from": th.Question, "resolved_thread_id": th.ID, "resolved_thread_timestamp": th.Timestamp,
			},
		})
		if err != nil {
			return err
		}
		now := e.ts()
		r, err := tx.ExecContext(ctx, `UPDATE open_threads SET resolved_at = ?, resolved_by = ?, resolved_principal = ?,
			resolution = ?, resolution_insight = ? WHERE id = ? AND resolved_at IS NULL`,
			now, caller.Session, caller.Principal, in.Resolution, ins.ID, th.ID)
		if err != nil {
			return internal("cannot resolve the thread", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return internal("cannot resolve the thread", fmt.Errorf("thread %s: %d rows updated (%v)", th.ID, n, err))
		}
		th.Resolved, th.ResolvedAt, th.ResolvedBy, th.Resolution, th.ResolutionInsight = true, now, caller.Session, in.Resolution, ins.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	text := fmt.Sprintf("Thread %s resolved (%q); the resolution is recorded as ground truth %s in %s.",
		th.ID, clipRunes(th.Question, 140), ins.ID, th.Domain)
	return &Result{Text: text, Data: map[string]any{"thread": th, "insight": ins}}, nil
}

// threadByFragment is the single unresolved thread of domain (by
// domainFilter) whose question contains fragment, compared case-blind
// (Unicode simple folding). None → not_found; several → conflict listing
// up to maxAmbiguousListed ids, so the caller can resolve by id.
func threadByFragment(ctx context.Context, q queryer, domain, fragment string) (threadRecord, error) {
	rows, err := q.QueryContext(ctx, threadSelect+`WHERE t.resolved_at IS NULL AND `+domainFilter("t.domain")+` ORDER BY t.ts, t.id`, domain, domain)
	if err != nil {
		return threadRecord{}, internal("cannot read the open threads", err)
	}
	defer rows.Close()
	frag := strings.ToLower(fragment)
	var (
		found []threadRecord
		n     int
	)
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return threadRecord{}, err
		}
		rec, err := scanThread(rows)
		if err != nil {
			return threadRecord{}, internal("cannot read the open threads", err)
		}
		if !strings.Contains(strings.ToLower(rec.Question), frag) {
			continue
		}
		n++
		if len(found) < maxAmbiguousListed {
			found = append(found, rec)
		}
	}
	if err := rows.Err(); err != nil {
		return threadRecord{}, internal("cannot read the open threads", err)
	}
	switch n {
	case 0:
		return threadRecord{}, Errorf(CategoryNotFound, "no unresolved thread in domain %q has a question containing %q; nothing was recorded", domain, fragment)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	more := ""
	if n > len(found) {
		more = fmt.Sprintf(" and %d more", n-len(found))
	}
	return threadRecord{}, Errorf(CategoryConflict, "%d unresolved threads in domain %q contain %q (%s%s); resolve one by thread_id or give a longer fragment; nothing was recorded",
		n, domain, fragment, strings.Join(ids, ", "), more)
}

func (e *Engine) getOpenThreads(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		Domain           string `json:"domain"`
		DomainContains   string `json:"domain_contains"`
		Limit            int    `json:"limit"`
		Offset           int    `json:"offset"`
		WithTotal        bool   `json:"with_total"`
		CoalesceFamilies *bool  `json:"coalesce_families"`
	}{Limit: 10}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	where := []string{"t.resolved_at IS NULL"}
	var args []any
	if in.Domain != "" {
		d, err := normalizeDomain("/domain", in.Domain)
		if err != nil {
			return nil, err
		}
		where = append(where, domainFilter("t.domain"))
		args = append(args, d, d)
	}
	if in.DomainContains != "" {
		where = append(where, "instr(t.domain, ?) > 0")
		args = append(args, strings.ToLower(in.DomainContains))
	}
	cond := "WHERE " + strings.Join(where, " AND ")
	rows, err := e.db.QueryContext(ctx, threadSelect+cond+` ORDER BY t.ts DESC, t.rowid LIMIT ? OFFSET ?`,
		append(args, in.Limit+1, in.Offset)...)
	if err != nil {
		return nil, internal("cannot read the open threads", err)
	}
	threads := []threadRecord{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			rec, err := scanThread(rows)
			if err != nil {
				return internal("cannot read the open threads", err)
			}
			threads = append(threads, rec)
		}
		return rows.Err()
	}()
	if err != nil {
		return nil, AsError(err)
	}
	hasMore := len(threads) > in.Limit
	if hasMore {
		threads = threads[:in.Limit]
	}
	data := map[string]any{"threads": threads, "offset": in.Offset, "limit": in.Limit, "has_more": hasMore}
	total := -1
	if in.WithTotal {
		if err := e.db.QueryRowContext(ctx, `SELECT count(*) FROM open_threads t `+cond, args...).Scan(&total); err != nil {
			return nil, internal("cannot count the open threads", err)
		}
		data["total"] = total
	}
	var b strings.Builder
	switch {
	case len(threads) == 0 && in.Offset == 0:
		b.WriteString("No open threads")
	case len(threads) == 0:
		fmt.Fprintf(&b, "No open threads past offset %d", in.Offset)
	default:
		fmt.Fprintf(&b, "%d open threads (newest first, from offset %d", len(threads), in.Offset)
		if total >= 0 {
			fmt.Fprintf(&b, ", %d in all", total)
		}
		b.WriteString(")")
	}
	if in.Domain != "" {
		fmt.Fprintf(&b, " in domain %q", in.Domain)
	}
	if in.DomainContains != "" {
		fmt.Fprintf(&b, " with a domain containing %q", in.DomainContains)
	}
	b.WriteString(":\n")
	now := e.now()
	for _, t := range threads {
		b.WriteString("- " + threadLine(t, now, 140) + "\n")
	}
	if hasMore {
		fmt.Fprintf(&b, "More: offset %d.\n", in.Offset+len(threads))
	}
	if in.CoalesceFamilies != nil && *in.CoalesceFamilies {
		data["families"] = "not kept by this engine; threads are listed one by one"
	}
	return &Result{Text: b.String(), Data: data}, nil
}

// threadLine is one thread for a text listing: id, domain, age, touches
// and the question clipped to max characters (0: whole).
func threadLine(t threadRecord, now time.Time, max int) string {
	s := fmt.Sprintf("%s [%s, %s old", t.ID, t.Domain, ageLabel(now, t.Timestamp))
	if t.TouchCount > 0 {
		s += fmt.Sprintf(", %d touches, last %s ago", t.TouchCount, ageLabel(now, t.LastTouchedAt))
	}
	return s + "] " + clipRunes(t.Question, max)
}

func (e *Engine) threadTouch(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		ThreadID   string `json:"thread_id"`
		Note       string `json:"note"`
		InstanceID string `json:"instance_id"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Note) == "" {
		return nil, FieldError("/note", "the note is blank")
	}
	var (
		t  = touchRecord{ThreadID: in.ThreadID, Note: in.Note, InstanceID: in.InstanceID, SessionID: c.Caller.Session, Principal: c.Caller.Principal}
		th threadRecord
	)
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		if th, err = threadByID(ctx, tx, in.ThreadID); err != nil {
			return err
		}
		if th.Resolved {
			return Errorf(CategoryConflict, "thread %s was resolved at %s; a touch marks work on an open thread — record an insight or a new thread instead", th.ID, th.ResolvedAt)
		}
		t.Timestamp = e.ts()
		return insertTouchRow(ctx, tx, t)
	})
	if err != nil {
		return nil, err
	}
	th.TouchCount++
	th.LastTouchedAt = t.Timestamp
	return &Result{
		Text: fmt.Sprintf("Touched thread %s (%d touches now).", th.ID, th.TouchCount),
		Data: map[string]any{"touch": t, "touch_count": th.TouchCount},
	}, nil
}

func (e *Engine) threadGetTouches(ctx context.Context, c *Call) (*Result, error) {
	in := struct {
		ThreadID string `json:"thread_id"`
		Limit    int    `json:"limit"`
		Offset   int    `json:"offset"`
	}{Limit: 100}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	th, err := threadByID(ctx, e.db, in.ThreadID)
	if err != nil {
		return nil, err
	}
	touches, err := touchesOf(ctx, e.db, th.ID, in.Limit, in.Offset)
	if err != nil {
		return nil, err
	}
	if touches == nil {
		touches = []touchRecord{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Thread %s has %d touches", th.ID, th.TouchCount)
	if len(touches) < th.TouchCount {
		fmt.Fprintf(&b, " (showing %d from offset %d)", len(touches), in.Offset)
	}
	b.WriteString(":\n")
	for _, t := range touches {
		fmt.Fprintf(&b, "- %s %s: %s\n", t.Timestamp, t.InstanceID, clipRunes(t.Note, 200))
	}
	return &Result{Text: b.String(), Data: map[string]any{
		"thread_id": th.ID, "count": th.TouchCount, "touches": touches, "offset": in.Offset,
	}}, nil
}

// clipRunes shortens s to max characters (runes), marking the cut with "…";
// max 0 keeps s whole.
func clipRunes(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// ageLabel is how long ago ts (tsLayout) was, coarsely: "3d", "5h", "12m",
// "now"; "?" for a timestamp it cannot read.
func ageLabel(now time.Time, ts string) string {
	t, err := time.Parse(tsLayout, ts)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return "?"
		}
	}
	d := now.Sub(t)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return "now"
}
