package engine

import (
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

var threadIDRe = regexp.MustCompile(threadIDPattern)

// threadLine imports one line of chronicle/open_threads/<domain>.jsonl.
// Fields the engine does not keep (migration markers, families) are
// dropped.
func (im *importer) threadLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
	skip := skipper(fc, KindThread, file, line)
	var t threadRecord
	var raw, resolvedAt string
	var err error
	for key, dst := range map[string]*string{"timestamp": &raw, "thread_id": &t.ID, "question": &t.Question, "context": &t.Context,
		"domain": &t.Domain, "session_id": &t.SessionID, "resolved_by": &t.ResolvedBy, "resolved_at": &resolvedAt,
		"resolution": &t.Resolution} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if t.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
		return skip("%v", err)
	}
	if t.Resolved, err = rec.boolean("resolved", false); err != nil {
		return skip("%v", err)
	}
	if t.Domain == "" {
		t.Domain = stem(file)
	}
	if t.ID == "" {
		// The original's id: thread_<local YYYYMMDD_HHMMSS>_<sha1(question)[:8]>.
		wall, _ := time.ParseInLocation("2006-01-02T15:04:05.999999999", strings.TrimSpace(raw), im.opts.Location)
		if wall.IsZero() {
			tt, _ := time.Parse(tsLayout, t.Timestamp)
			wall = tt.In(im.opts.Location)
		}
		sum := sha1.Sum([]byte(t.Question))
		t.ID = "thread_" + wall.Format("20060102_150405") + "_" + hex.EncodeToString(sum[:])[:8]
	}
	if t.Resolved {
		if resolvedAt == "" {
			t.ResolvedAt = t.Timestamp
		} else if t.ResolvedAt, err = originalTS(resolvedAt, im.opts.Location); err != nil {
			return skip("resolved_at: %v", err)
		}
	} else {
		t.ResolvedBy, t.Resolution = "", ""
	}
	t.Principal = im.opts.Principal
	if t.Resolved {
		t.ResolvedPrincipal = im.opts.Principal
	}
	return im.storeThread(tx, fc, file, line, t)
}

// storeThread validates a thread as record_open_thread would and stores it
// with its id; an id already stored for the same question is already
// present, for another question a skip.
func (im *importer) storeThread(tx *sql.Tx, fc *fileCounts, file string, line int, t threadRecord) error {
	skip := skipper(fc, KindThread, file, line)
	switch {
	case !threadIDRe.MatchString(t.ID):
		return skip("thread_id %q is not thread_ followed by up to 120 of A-Z, a-z, 0-9, '_', '.', '-'", t.ID)
	case strings.TrimSpace(t.Question) == "" || utf8.RuneCountInString(t.Question) > maxQuestionLen || !utf8.ValidString(t.Question):
		return skip("question is empty, longer than %d characters or not valid UTF-8", maxQuestionLen)
	case utf8.RuneCountInString(t.Context) > maxContextLen || !utf8.ValidString(t.Context):
		return skip("context is longer than %d characters or not valid UTF-8", maxContextLen)
	case utf8.RuneCountInString(t.Resolution) > maxResolutionLen:
		return skip("resolution is longer than %d characters", maxResolutionLen)
	case checkTS(t.Timestamp) != nil || (t.Resolved && checkTS(t.ResolvedAt) != nil):
		return skip("timestamp %q or resolved_at %q is not in the stored form", t.Timestamp, t.ResolvedAt)
	}
	d, err := normalizeDomain("/domain", t.Domain)
	if err != nil {
		reason, _ := storeErr(err)
		return skip("%s", reason)
	}
	t.Domain = d
	inserted, err := insertThreadRow(im.ctx, tx, t)
	if err != nil {
		return err
	}
	if !inserted {
		var q string
		if err := tx.QueryRowContext(im.ctx, `SELECT question FROM open_threads WHERE id = ?`, t.ID).Scan(&q); err != nil {
			return fmt.Errorf("read the open threads: %w", err)
		}
		if q != t.Question {
			return skip("thread_id %s is taken by another thread", t.ID)
		}
	}
	fc.outcome(KindThread, inserted)
	return nil
}

// touchLine imports one line of chronicle/thread_touches.jsonl.
func (im *importer) touchLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
	skip := skipper(fc, KindTouch, file, line)
	var t touchRecord
	var raw string
	var err error
	for key, dst := range map[string]*string{"thread_id": &t.ThreadID, "note": &t.Note, "instance_id": &t.InstanceID,
		"timestamp": &raw, "session_id": &t.SessionID} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if t.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
		return skip("%v", err)
	}
	t.Principal = im.opts.Principal
	return im.storeTouch(tx, fc, file, line, t)
}

// storeTouch validates a touch as thread_touch would (the thread must be
// stored) and stores it unless the same one is.
func (im *importer) storeTouch(tx *sql.Tx, fc *fileCounts, file string, line int, t touchRecord) error {
	skip := skipper(fc, KindTouch, file, line)
	switch {
	case strings.TrimSpace(t.Note) == "" || utf8.RuneCountInString(t.Note) > maxTouchNoteLen || !utf8.ValidString(t.Note):
		return skip("note is empty, longer than %d characters or not valid UTF-8", maxTouchNoteLen)
	case utf8.RuneCountInString(t.InstanceID) > maxInstanceLen:
		return skip("instance_id is longer than %d characters", maxInstanceLen)
	case checkTS(t.Timestamp) != nil:
		return skip("timestamp %q is not in the stored form", t.Timestamp)
	}
	var threads, same int
	if err := tx.QueryRowContext(im.ctx, `SELECT (SELECT count(*) FROM open_threads WHERE id = ?),
		(SELECT count(*) FROM thread_touches WHERE thread_id = ? AND ts = ? AND note = ? AND instance_id = ?)`,
		t.ThreadID, t.ThreadID, t.Timestamp, t.Note, t.InstanceID).Scan(&threads, &same); err != nil {
		return fmt.Errorf("read the touches: %w", err)
	}
	switch {
	case threads == 0:
		return skip("thread %q is not stored (not imported, or not in the data)", t.ThreadID)
	case same > 0:
		fc.outcome(KindTouch, false)
		return nil
	}
	if err := insertTouchRow(im.ctx, tx, t); err != nil {
		return err
	}
	fc.outcome(KindTouch, true)
	return nil
}

// handoffs imports handoffs/*.json (one transaction each), then
// handoffs/acted_on.jsonl.
func (im *importer) handoffs() error {
	entries, err := fs.ReadDir(im.fsys, origHandoffs)
	if err != nil {
		im.rep.notImported(origHandoffs+"/", "cannot be read: "+errText(err))
		return nil
	}
	actedOn := false
	for _, d := range entries {
		if err := im.ctx.Err(); err != nil {
			return err
		}
		im.walked++
		if im.walked > im.opts.MaxFiles {
			im.rep.Truncated = true
			return nil
		}
		name := origHandoffs + "/" + d.Name()
		switch {
		case d.Name() == "acted_on.jsonl":
			actedOn = true
		case d.IsDir():
			im.rep.notImported(name+"/", "not part of the original's layout that the engine imports")
		case strings.HasSuffix(d.Name(), ".json"):
			if err := im.handoffFile(name); err != nil {
				return err
			}
		default:
			im.rep.notImported(name, "not a handoff (*.json)")
		}
	}
	if actedOn {
		return im.jsonlFile(origHandoffs+"/acted_on.jsonl", KindActedOn, im.actedOnLine)
	}
	return nil
}

// handoffFile imports one handoff: its id is the file name without .json.
func (im *importer) handoffFile(name string) error {
	b, err := im.readSmall(name, importMaxLine)
	if err != nil {
		im.skipFile(KindHandoff, name, "cannot be read: "+err.Error())
		return nil
	}
	return im.inFile(name, func(tx *sql.Tx, fc *fileCounts) error {
		fc.of(KindHandoff).Read++
		skip := skipper(fc, KindHandoff, name, 0)
		m, err := decodeObject(b)
		if err != nil {
			return skip("%v", err)
		}
		rec := fields(m)
		h := handoffRecord{ID: stem(name), Principal: im.opts.Principal}
		var raw, consumedAt string
		for key, dst := range map[string]*string{"timestamp": &raw, "source_instance": &h.SourceInstance,
			"source_session_id": &h.SourceSession, "thread": &h.Thread, "note": &h.Note, "consumed_at": &consumedAt,
			"consumed_by": &h.ConsumedByInst} {
			if *dst, err = rec.str(key); err != nil {
				return skip("%v", err)
			}
		}
		if h.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
			return skip("%v", err)
		}
		if consumedAt != "" || h.ConsumedByInst != "" {
			// The original's consumed_by was the reader's instance; the
			// consuming session is not known.
			h.ConsumedAt = h.Timestamp
			if consumedAt != "" {
				if h.ConsumedAt, err = originalTS(consumedAt, im.opts.Location); err != nil {
					return skip("consumed_at: %v", err)
				}
			}
			h.ConsumedByPrinc = im.opts.Principal
		}
		return im.storeHandoff(tx, fc, name, 0, h)
	})
}

// storeHandoff validates a handoff as handoff would and stores it with its
// id and its consumption, if any.
func (im *importer) storeHandoff(tx *sql.Tx, fc *fileCounts, file string, line int, h handoffRecord) error {
	skip := skipper(fc, KindHandoff, file, line)
	if !handoffIDRe.MatchString(h.ID) {
		return skip("handoff id %q (the file name) is not up to 128 of A-Z, a-z, 0-9, '.', '_', '-'", h.ID)
	}
	if err := checkHandoffNote("/note", h.Note); err != nil {
		reason, _ := storeErr(err)
		return skip("%s", reason)
	}
	if h.Thread == "" {
		h.Thread = "general"
	}
	th, err := normalizeDomain("/thread", h.Thread)
	if err != nil {
		reason, _ := storeErr(err)
		return skip("%s", reason)
	}
	h.Thread = th
	switch {
	case utf8.RuneCountInString(h.SourceInstance) > maxInstanceLen || utf8.RuneCountInString(h.ConsumedByInst) > maxInstanceLen:
		return skip("source_instance or consumed_by is longer than %d characters", maxInstanceLen)
	case checkTS(h.Timestamp) != nil || (h.ConsumedAt != "" && checkTS(h.ConsumedAt) != nil):
		return skip("timestamp %q or consumed_at %q is not in the stored form", h.Timestamp, h.ConsumedAt)
	}
	inserted, err := insertHandoffRow(im.ctx, tx, h)
	if err != nil {
		return err
	}
	if !inserted {
		prev, err := handoffByID(im.ctx, tx, h.ID)
		if err != nil {
			return err
		}
		if prev.Note != h.Note {
			return skip("handoff id %s is taken by another handoff", h.ID)
		}
	}
	if h.ConsumedAt != "" {
		if _, err := insertConsumptionRow(im.ctx, tx, h.ID, h.ConsumedAt, h.ConsumedBy, h.ConsumedByInst, h.ConsumedByPrinc); err != nil {
			return err
		}
	}
	fc.outcome(KindHandoff, inserted)
	return nil
}

// actedOnLine imports one line of handoffs/acted_on.jsonl: handoff_path
// names the handoff by its file name.
func (im *importer) actedOnLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
	skip := skipper(fc, KindActedOn, file, line)
	var a actedOnRecord
	var p, raw string
	var err error
	for key, dst := range map[string]*string{"handoff_path": &p, "handoff_id": &a.HandoffID, "consumed_by": &a.ConsumedBy,
		"what_was_done": &a.WhatWasDone, "timestamp": &raw, "session_id": &a.SessionID} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if a.HandoffID, err = handoffRef(a.HandoffID, p); err != nil {
		reason, _ := storeErr(err)
		return skip("%s", reason)
	}
	if a.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
		return skip("%v", err)
	}
	a.Principal = im.opts.Principal
	return im.storeActedOn(tx, fc, file, line, a)
}

// storeActedOn validates an acted-on record as handoff_acted_on would (the
// handoff must be stored) and stores it unless the same one is.
func (im *importer) storeActedOn(tx *sql.Tx, fc *fileCounts, file string, line int, a actedOnRecord) error {
	skip := skipper(fc, KindActedOn, file, line)
	switch {
	case a.HandoffID == "":
		return skip("no handoff_path or handoff_id")
	case strings.TrimSpace(a.ConsumedBy) == "" || strings.TrimSpace(a.WhatWasDone) == "":
		return skip("consumed_by or what_was_done is blank")
	case checkTS(a.Timestamp) != nil:
		return skip("timestamp %q is not in the stored form", a.Timestamp)
	}
	if _, err := handoffByID(im.ctx, tx, a.HandoffID); err != nil {
		var ee *Error
		if errors.As(err, &ee) && ee.Category == CategoryNotFound {
			return skip("handoff %q is not stored (not imported, or not in the data)", a.HandoffID)
		}
		return err
	}
	var same int
	if err := tx.QueryRowContext(im.ctx, `SELECT count(*) FROM handoff_acted_on WHERE handoff_id = ? AND ts = ? AND consumed_by = ?
		AND what_was_done = ?`, a.HandoffID, a.Timestamp, a.ConsumedBy, a.WhatWasDone).Scan(&same); err != nil {
		return fmt.Errorf("read the acted-on records: %w", err)
	}
	if same > 0 {
		fc.outcome(KindActedOn, false)
		return nil
	}
	if err := insertActedOnRow(im.ctx, tx, a); err != nil {
		return err
	}
	fc.outcome(KindActedOn, true)
	return nil
}
