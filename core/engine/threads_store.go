package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// threadRecord is a stored open thread. Its JSON names are the original's
// (thread_id, timestamp, question, context, domain, session_id, layer,
// resolved, resolved_by, resolved_at, resolution), so export can write it
// as is.
type threadRecord struct {
	ID        string `json:"thread_id"`
	Timestamp string `json:"timestamp"` // tsLayout, UTC
	Question  string `json:"question"`
	Context   string `json:"context"`
	Domain    string `json:"domain"`
	SessionID string `json:"session_id"`
	Principal string `json:"-"`
	Layer     string `json:"layer"` // always "open_thread"
	Resolved  bool   `json:"resolved"`
	// Set when resolved.
	ResolvedAt        string `json:"resolved_at,omitempty"`
	ResolvedBy        string `json:"resolved_by,omitempty"` // the resolving session
	ResolvedPrincipal string `json:"-"`
	Resolution        string `json:"resolution,omitempty"`
	ResolutionInsight string `json:"resolution_insight_id,omitempty"`
	TouchCount        int    `json:"touch_count"`
	LastTouchedAt     string `json:"last_touched_at,omitempty"`
}

// touchRecord is one thread_touch.
type touchRecord struct {
	ThreadID   string `json:"thread_id"`
	Timestamp  string `json:"timestamp"`
	Note       string `json:"note"`
	InstanceID string `json:"instance_id,omitempty"`
	SessionID  string `json:"session_id"`
	Principal  string `json:"-"`
}

// threadIDPattern accepts the ids this engine makes and the original's
// (thread_<YYYYMMDD_HHMMSS>_<8 hex>), and other imported ids of the same
// alphabet.
const threadIDPattern = `^thread_[A-Za-z0-9_.-]{1,120}$`

// threadID is thread_<YYYYMMDD_HHMMSS>_<8 hex of sha256(question ‖ ts ‖
// session ‖ part ‖ salt)>: two identical questions recorded in the same
// second by different sessions, or as different parts, get different ids;
// the same inputs get another salt on a collision (insertThread).
func threadID(t time.Time, ts, question, session string, part, salt int) string {
	h := sha256.New()
	for _, s := range []string{question, ts, session, strconv.Itoa(part), strconv.Itoa(salt)} {
		h.Write([]byte(s))
		h.Write([]byte{0x1f})
	}
	return "thread_" + t.UTC().Format("20060102_150405") + "_" + hex.EncodeToString(h.Sum(nil))[:8]
}

// maxThreadParts bounds how many atomic threads one question is split into.
const maxThreadParts = 20

// partMarker finds "(1)", "(2)", … at the start of the text or after
// white space.
var partMarker = regexp.MustCompile(`(?:^|\s)\((\d{1,2})\)\s`)

// splitQuestion is the rule that splits a compound question into atomic
// threads (kept from the original, now written down):
//
//   - the question holds the markers "(1) ", "(2) ", … numbered from 1
//     without gaps, each at the start or after white space and followed by
//     white space; markers out of sequence are text;
//   - there are at least two, at most maxThreadParts;
//   - every part but the last ends a sentence (its last character is one
//     of . ? ! ;), so "choose (1) or (2) first" is one question;
//   - every part is non-empty.
//
// When all hold it returns the text before "(1)" (the preamble, trimmed,
// possibly empty) and the parts (trimmed, without their markers); otherwise
// it returns "" and the whole question as the only part.
func splitQuestion(q string) (preamble string, parts []string) {
	whole := []string{strings.TrimSpace(q)}
	locs := partMarker.FindAllStringSubmatchIndex(q, -1)
	// starts[i] is the index of "(" of marker i+1; ends[i] where its text starts.
	var starts, ends []int
	next := 1
	for _, l := range locs {
		n, _ := strconv.Atoi(q[l[2]:l[3]])
		if n != next {
			continue
		}
		starts = append(starts, l[2]-1)
		ends = append(ends, l[1])
		next++
	}
	if len(starts) < 2 || len(starts) > maxThreadParts {
		return "", whole
	}
	for i := range starts {
		end := len(q)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		p := strings.TrimSpace(q[ends[i]:end])
		if p == "" {
			return "", whole
		}
		if i+1 < len(starts) && !strings.ContainsAny(p[len(p)-1:], ".?!;") {
			return "", whole
		}
		parts = append(parts, p)
	}
	return strings.TrimSpace(q[:starts[0]]), parts
}

// insertThread records an open thread asked by c now (a fresh id, salted
// on collision); part numbers the atomic parts of one question.
func (e *Engine) insertThread(ctx context.Context, tx *sql.Tx, c Caller, question, threadContext, domain string, part int) (threadRecord, error) {
	now := e.now().UTC()
	rec := threadRecord{
		Timestamp: formatTS(now), Question: question, Context: threadContext, Domain: domain,
		SessionID: c.Session, Principal: c.Principal, Layer: LayerOpenThread,
	}
	for salt := 0; salt < 16; salt++ {
		rec.ID = threadID(now, rec.Timestamp, question, c.Session, part, salt)
		ok, err := insertThreadRow(ctx, tx, rec)
		if err != nil || ok {
			return rec, err
		}
	}
	return threadRecord{}, internal("cannot allocate a thread id", fmt.Errorf("16 collisions at %s", rec.Timestamp))
}

// insertThreadRow inserts rec as is: id, timestamp and, when rec.Resolved,
// the resolution fields (import keeps the original's). False when the id
// is taken. TouchCount and LastTouchedAt are derived, not stored.
func insertThreadRow(ctx context.Context, tx *sql.Tx, rec threadRecord) (bool, error) {
	var resolvedAt sql.NullString
	if rec.Resolved {
		resolvedAt = sql.NullString{String: rec.ResolvedAt, Valid: true}
		if rec.ResolvedAt == "" {
			resolvedAt.String = rec.Timestamp
		}
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO open_threads
		(id, ts, question, context, domain, session_id, principal, resolved_at, resolved_by, resolved_principal, resolution, resolution_insight)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		rec.ID, rec.Timestamp, rec.Question, rec.Context, rec.Domain, rec.SessionID, rec.Principal,
		resolvedAt, rec.ResolvedBy, rec.ResolvedPrincipal, rec.Resolution, rec.ResolutionInsight)
	if err != nil {
		return false, internal("cannot record the open thread", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, internal("cannot record the open thread", err)
	}
	return n == 1, nil
}

// insertTouchRow inserts a touch as is (import keeps the original's
// timestamps). The thread must exist (foreign key).
func insertTouchRow(ctx context.Context, tx *sql.Tx, t touchRecord) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO thread_touches (thread_id, ts, note, instance_id, session_id, principal)
		VALUES (?, ?, ?, ?, ?, ?)`, t.ThreadID, t.Timestamp, t.Note, t.InstanceID, t.SessionID, t.Principal); err != nil {
		return internal("cannot record the touch", err)
	}
	return nil
}

// threadSelect reads threadRecord columns plus the touch summary; callers
// append WHERE/ORDER clauses.
const threadSelect = `SELECT t.id, t.ts, t.question, t.context, t.domain, t.session_id, t.principal,
	t.resolved_at, t.resolved_by, t.resolved_principal, t.resolution, t.resolution_insight,
	(SELECT count(*) FROM thread_touches x WHERE x.thread_id = t.id),
	(SELECT max(x.ts) FROM thread_touches x WHERE x.thread_id = t.id)
	FROM open_threads t `

func scanThread(r rowScanner) (threadRecord, error) {
	var (
		rec         threadRecord
		resolvedAt  sql.NullString
		lastTouched sql.NullString
	)
	if err := r.Scan(&rec.ID, &rec.Timestamp, &rec.Question, &rec.Context, &rec.Domain, &rec.SessionID, &rec.Principal,
		&resolvedAt, &rec.ResolvedBy, &rec.ResolvedPrincipal, &rec.Resolution, &rec.ResolutionInsight,
		&rec.TouchCount, &lastTouched); err != nil {
		return threadRecord{}, err
	}
	rec.Layer = LayerOpenThread
	rec.Resolved = resolvedAt.Valid
	rec.ResolvedAt = resolvedAt.String
	rec.LastTouchedAt = lastTouched.String
	return rec, nil
}

// threadByID reads one thread; CategoryNotFound when there is none.
func threadByID(ctx context.Context, q queryer, id string) (threadRecord, error) {
	rec, err := scanThread(q.QueryRowContext(ctx, threadSelect+`WHERE t.id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return threadRecord{}, Errorf(CategoryNotFound, "no open thread has the id %q", id)
	case err != nil:
		return threadRecord{}, internal("cannot read the open threads", err)
	}
	return rec, nil
}

// domainFilter is the SQL condition (on column col) for a domain argument
// already normalised: the same domain, or — for a single tag — a domain
// having that tag among its comma-separated tags.
func domainFilter(col string) string {
	return `(` + col + ` = ? OR instr(',' || ` + col + ` || ',', ',' || ? || ',') > 0)`
}

// eachThread calls fn with every thread, oldest first (timestamp, then
// id), for export. It stops at fn's first error.
func eachThread(ctx context.Context, q queryer, fn func(threadRecord) error) error {
	return eachScanned(ctx, q, "the open threads", threadSelect+`ORDER BY t.ts, t.id`, scanThread, fn)
}

const touchSelect = `SELECT thread_id, ts, note, instance_id, session_id, principal FROM thread_touches `

func scanTouch(r rowScanner) (touchRecord, error) {
	var t touchRecord
	err := r.Scan(&t.ThreadID, &t.Timestamp, &t.Note, &t.InstanceID, &t.SessionID, &t.Principal)
	return t, err
}

// touchesOf lists a thread's touches, oldest first, paged.
func touchesOf(ctx context.Context, q queryer, threadID string, limit, offset int) ([]touchRecord, error) {
	return collectRows(ctx, q, "the touches", touchSelect+`WHERE thread_id = ? ORDER BY ts, seq LIMIT ? OFFSET ?`, scanTouch,
		threadID, limit, offset)
}

// eachTouch calls fn with every touch, oldest first (timestamp, then
// insertion order), for export.
func eachTouch(ctx context.Context, q queryer, fn func(touchRecord) error) error {
	return eachScanned(ctx, q, "the touches", touchSelect+`ORDER BY ts, seq`, scanTouch, fn)
}
