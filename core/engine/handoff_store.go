package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxHandoffNoteBytes bounds a handoff's note, in bytes of UTF-8 (the
// original's limit).
const maxHandoffNoteBytes = 2048

// handoffRecord is a stored handoff: written once, consumed at most once.
type handoffRecord struct {
	ID             string `json:"id"`
	Timestamp      string `json:"timestamp"` // tsLayout, UTC
	Thread         string `json:"thread"`
	Note           string `json:"note"`
	SourceInstance string `json:"source_instance,omitempty"`
	SourceSession  string `json:"source_session_id"`
	Principal      string `json:"-"`
	// Consumption, when the handoff has been consumed.
	ConsumedAt      string `json:"consumed_at,omitempty"`
	ConsumedBy      string `json:"consumed_by,omitempty"` // the consuming session
	ConsumedByInst  string `json:"consumed_by_instance,omitempty"`
	ConsumedByPrinc string `json:"-"`
}

// handoffID is ho_<YYYYMMDDTHHMMSS>_<8 hex of sha256(ts ‖ session ‖ thread ‖
// instance ‖ note ‖ salt)>.
func handoffID(t time.Time, ts, session, thread, instance, note string, salt int) string {
	h := sha256.New()
	for _, s := range []string{ts, session, thread, instance, note, fmt.Sprint(salt)} {
		h.Write([]byte(s))
		h.Write([]byte{0x1f})
	}
	return "ho_" + t.UTC().Format("20060102T150405") + "_" + hex.EncodeToString(h.Sum(nil))[:8]
}

// checkHandoffNote validates a note: not blank, valid UTF-8, at most
// maxHandoffNoteBytes bytes.
func checkHandoffNote(pointer, note string) error {
	switch {
	case strings.TrimSpace(note) == "":
		return FieldError(pointer, "the note is empty")
	case !utf8.ValidString(note):
		return FieldError(pointer, "the note is not valid UTF-8")
	case len(note) > maxHandoffNoteBytes:
		return FieldError(pointer, "the note is %d bytes of UTF-8; a handoff note is at most %d bytes", len(note), maxHandoffNoteBytes)
	}
	return nil
}

// insertHandoff records a handoff from caller c in tx: a fresh id, the
// engine's clock in UTC, source_session = c.Session. note is checked
// (non-empty, ≤ 2048 bytes of UTF-8: a validation error naming /note);
// thread "" is "general" and must be a valid domain-like tag (/thread);
// sourceInstance is free text up to 128 characters. close_session calls it
// inside its own transaction.
func (e *Engine) insertHandoff(ctx context.Context, tx *sql.Tx, c Caller, note, thread, sourceInstance string) (handoffRecord, error) {
	if err := checkHandoffNote("/note", note); err != nil {
		return handoffRecord{}, err
	}
	if thread == "" {
		thread = "general"
	}
	th, err := normalizeDomain("/thread", thread)
	if err != nil {
		return handoffRecord{}, err
	}
	if utf8.RuneCountInString(sourceInstance) > 128 {
		return handoffRecord{}, FieldError("/source_instance", "at most 128 characters")
	}
	now := e.now().UTC()
	rec := handoffRecord{
		Timestamp: formatTS(now), Thread: th, Note: note, SourceInstance: sourceInstance,
		SourceSession: c.Session, Principal: c.Principal,
	}
	for salt := 0; ; salt++ {
		if salt >= 16 {
			return handoffRecord{}, internal("cannot allocate a handoff id", fmt.Errorf("16 collisions at %s", rec.Timestamp))
		}
		rec.ID = handoffID(now, rec.Timestamp, c.Session, th, sourceInstance, note, salt)
		ok, err := insertHandoffRow(ctx, tx, rec)
		if err != nil {
			return handoffRecord{}, err
		}
		if ok {
			return rec, nil
		}
	}
}

// insertHandoffRow inserts rec as is (id and timestamp included); false
// when the id is taken. Import uses it to keep the original's ids and
// times.
func insertHandoffRow(ctx context.Context, tx *sql.Tx, rec handoffRecord) (bool, error) {
	r, err := tx.ExecContext(ctx, `INSERT INTO handoffs (id, ts, thread, note, source_instance, source_session, principal)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		rec.ID, rec.Timestamp, rec.Thread, rec.Note, rec.SourceInstance, rec.SourceSession, rec.Principal)
	if err != nil {
		return false, internal("cannot record the handoff", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, internal("cannot record the handoff", err)
	}
	return n == 1, nil
}

// insertConsumptionRow records that session consumed the handoff at ts
// with instance; false when it was consumed already (a handoff is consumed
// at most once). Import uses it for the original's consumed_at/by.
func insertConsumptionRow(ctx context.Context, tx *sql.Tx, handoffID, ts, session, instance, principal string) (bool, error) {
	r, err := tx.ExecContext(ctx, `INSERT INTO handoff_consumptions (handoff_id, ts, session_id, instance, principal)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT(handoff_id) DO NOTHING`, handoffID, ts, session, instance, principal)
	if err != nil {
		return false, internal("cannot record the consumption of a handoff", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, internal("cannot record the consumption of a handoff", err)
	}
	return n == 1, nil
}

// actedOnRecord is one handoff_acted_on record.
type actedOnRecord struct {
	HandoffID   string `json:"handoff_id"`
	Timestamp   string `json:"timestamp"`
	ConsumedBy  string `json:"consumed_by"`
	WhatWasDone string `json:"what_was_done"`
	SessionID   string `json:"session_id"`
	Principal   string `json:"-"`
}

// insertActedOnRow inserts r as is (import keeps the original's
// timestamps). The handoff must exist (foreign key).
func insertActedOnRow(ctx context.Context, tx *sql.Tx, r actedOnRecord) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO handoff_acted_on (handoff_id, ts, consumed_by, what_was_done, session_id, principal)
		VALUES (?, ?, ?, ?, ?, ?)`, r.HandoffID, r.Timestamp, r.ConsumedBy, r.WhatWasDone, r.SessionID, r.Principal); err != nil {
		return internal("cannot record what was done with the handoff", err)
	}
	return nil
}

// handoffSelect reads handoffRecord columns with the consumption, if any.
const handoffSelect = `SELECT h.id, h.ts, h.thread, h.note, h.source_instance, h.source_session, h.principal,
	c.ts, c.session_id, c.instance, c.principal
	FROM handoffs h LEFT JOIN handoff_consumptions c ON c.handoff_id = h.id `

func scanHandoff(r rowScanner) (handoffRecord, error) {
	var (
		h                     handoffRecord
		cTS, cSess, cInst, cP sql.NullString
	)
	if err := r.Scan(&h.ID, &h.Timestamp, &h.Thread, &h.Note, &h.SourceInstance, &h.SourceSession, &h.Principal,
		&cTS, &cSess, &cInst, &cP); err != nil {
		return handoffRecord{}, err
	}
	h.ConsumedAt, h.ConsumedBy, h.ConsumedByInst, h.ConsumedByPrinc = cTS.String, cSess.String, cInst.String, cP.String
	return h, nil
}

// handoffByID reads one handoff; CategoryNotFound when there is none.
func handoffByID(ctx context.Context, q queryer, id string) (handoffRecord, error) {
	h, err := scanHandoff(q.QueryRowContext(ctx, handoffSelect+`WHERE h.id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return handoffRecord{}, Errorf(CategoryNotFound, "no handoff has the id %q", id)
	case err != nil:
		return handoffRecord{}, internal("cannot read the handoffs", err)
	}
	return h, nil
}

// queryHandoffs runs a handoffSelect query and collects its rows (at most
// limit of them).
func queryHandoffs(ctx context.Context, q queryer, where string, args ...any) ([]handoffRecord, error) {
	rows, err := q.QueryContext(ctx, handoffSelect+where, args...)
	if err != nil {
		return nil, internal("cannot read the handoffs", err)
	}
	defer rows.Close()
	var out []handoffRecord
	for rows.Next() {
		h, err := scanHandoff(rows)
		if err != nil {
			return nil, internal("cannot read the handoffs", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the handoffs", err)
	}
	return out, nil
}

// waitingHandoffs are the handoffs nobody has consumed, newest first, on
// thread when it is not empty, at most limit.
func waitingHandoffs(ctx context.Context, q queryer, thread string, limit int) ([]handoffRecord, error) {
	if thread != "" {
		return queryHandoffs(ctx, q, `WHERE c.handoff_id IS NULL AND h.thread = ? ORDER BY h.ts DESC, h.id DESC LIMIT ?`, thread, limit)
	}
	return queryHandoffs(ctx, q, `WHERE c.handoff_id IS NULL ORDER BY h.ts DESC, h.id DESC LIMIT ?`, limit)
}

// eachHandoff calls fn with every handoff (with its consumption), oldest
// first (timestamp, then id), for export.
func eachHandoff(ctx context.Context, q queryer, fn func(handoffRecord) error) error {
	return eachScanned(ctx, q, "the handoffs", handoffSelect+`ORDER BY h.ts, h.id`, scanHandoff, fn)
}

const actedOnSelect = `SELECT handoff_id, ts, consumed_by, what_was_done, session_id, principal FROM handoff_acted_on `

func scanActedOn(r rowScanner) (actedOnRecord, error) {
	var a actedOnRecord
	err := r.Scan(&a.HandoffID, &a.Timestamp, &a.ConsumedBy, &a.WhatWasDone, &a.SessionID, &a.Principal)
	return a, err
}

// actedOnRecords lists the acted-on records of one handoff (all when
// handoffID is empty), newest first, paged.
func actedOnRecords(ctx context.Context, q queryer, handoffID string, limit, offset int) ([]actedOnRecord, error) {
	where, args := "", []any{}
	if handoffID != "" {
		where, args = "WHERE handoff_id = ? ", append(args, handoffID)
	}
	return collectRows(ctx, q, "the acted-on records", actedOnSelect+where+`ORDER BY ts DESC, seq DESC LIMIT ? OFFSET ?`,
		scanActedOn, append(args, limit, offset)...)
}

// eachActedOn calls fn with every acted-on record, oldest first
// (timestamp, then insertion order), for export.
func eachActedOn(ctx context.Context, q queryer, fn func(actedOnRecord) error) error {
	return eachScanned(ctx, q, "the acted-on records", actedOnSelect+`ORDER BY ts, seq`, scanActedOn, fn)
}
