package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The record-level inserts and iterators of the chronicle. The tools use
// them too, so an import goes through the same checks as a live call. See
// the comment at the top of chronicle.go.

// fullID is a complete claim or archive id.
var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// learningRecord is a stored learning.
type learningRecord struct {
	ID           int64  `json:"id"`
	Timestamp    string `json:"timestamp"`
	WhatHappened string `json:"what_happened"`
	WhatLearned  string `json:"what_learned"`
	AppliesTo    string `json:"applies_to"`
	SessionID    string `json:"session_id"`
	Principal    string `json:"-"`
}

// supersessionRecord is one row of the supersession ledger: Predecessor is
// superseded by Successor.
type supersessionRecord struct {
	Predecessor string `json:"predecessor"`
	Successor   string `json:"successor"`
	Timestamp   string `json:"timestamp"`
	Summary     string `json:"carry_forward_summary"`
	SessionID   string `json:"session_id"`
	Principal   string `json:"-"`
}

// archiveEntry is one archiving of a blob: its metadata.
type archiveEntry struct {
	Seq            int64    `json:"seq"`
	ArchiveID      string   `json:"archive_id"`
	Timestamp      string   `json:"timestamp"`
	Source         string   `json:"source"`
	Descriptor     string   `json:"descriptor,omitempty"`
	VectorID       string   `json:"vector_id,omitempty"`
	ConversationID string   `json:"conversation_id,omitempty"`
	SourceID       string   `json:"source_id,omitempty"`
	Tags           []string `json:"tags,omitempty"`
	SessionID      string   `json:"session_id"`
	ByteLen        int64    `json:"byte_len"`
	Principal      string   `json:"-"`
}

// archiveRecord is what archiving returns: the entry, and whether the
// bytes or the entry were new.
type archiveRecord struct {
	archiveEntry
	SHA256          string `json:"sha256"`
	FirstArchivedAt string `json:"first_archived_at"`
	NewBlob         bool   `json:"new_blob"`
	NewEntry        bool   `json:"new_entry"`
	// Repaired: the stored bytes had been altered and were replaced by
	// these, which hash to the id.
	Repaired bool `json:"repaired,omitempty"`
}

// parseTimestamp reads an ISO 8601 date ("2026-11-28") or timestamp
// (RFC 3339 with or without fraction; without a zone it is UTC). dateOnly
// says there was no time part.
func parseTimestamp(s string) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not an ISO date (2026-11-28) or timestamp (2026-11-28T10:00:00Z)", s)
}

// checkTS checks a stored timestamp: tsLayout exactly.
func checkTS(ts string) error {
	t, err := time.Parse(tsLayout, ts)
	if err != nil || formatTS(t) != ts {
		return FieldError("/timestamp", "timestamp %q is not in the stored form %s", ts, tsLayout)
	}
	return nil
}

// insertInsightRecord stores rec with its own timestamp, session and
// principal. An empty rec.ID is set to the claim id; the domain is
// normalised in rec. It reports false when an insight with that id is
// stored already (nothing is changed then).
func (e *Engine) insertInsightRecord(ctx context.Context, tx *sql.Tx, rec *insightRecord) (bool, error) {
	if err := checkTS(rec.Timestamp); err != nil {
		return false, err
	}
	d, err := normalizeDomain("/domain", rec.Domain)
	if err != nil {
		return false, err
	}
	rec.Domain = d
	switch rec.Layer {
	case LayerGroundTruth, LayerHypothesis, LayerOpenThread:
	default:
		return false, FieldError("/layer", "layer %q is not ground_truth, hypothesis or open_thread", rec.Layer)
	}
	if rec.Intensity < 0 || rec.Intensity > 1 {
		return false, FieldError("/intensity", "intensity %v is not within 0..1", rec.Intensity)
	}
	if rec.Confidence != nil && (*rec.Confidence < 0 || *rec.Confidence > 1) {
		return false, FieldError("/confidence", "confidence %v is not within 0..1", *rec.Confidence)
	}
	if strings.TrimSpace(rec.Content) == "" || len(rec.Content) > 4*maxContent {
		return false, FieldError("/content", "content is empty or longer than %d bytes", 4*maxContent)
	}
	switch {
	case rec.ID == "":
		rec.ID = claimID(rec.Timestamp, rec.Domain, rec.Content)
	case !fullID.MatchString(rec.ID):
		return false, FieldError("/id", "id %q is not 64 lowercase hex digits", rec.ID)
	}
	receipts := rec.Receipts
	if len(bytes.TrimSpace(receipts)) == 0 {
		receipts = json.RawMessage("[]")
	}
	var arr []json.RawMessage
	if err := json.Unmarshal(receipts, &arr); err != nil {
		return false, FieldError("/receipts", "receipts are not a JSON array: %v", err)
	}
	extra := rec.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	extraJSON, err := json.Marshal(extra)
	if err != nil {
		return false, internal("cannot encode the insight", err)
	}
	var conf sql.NullFloat64
	if rec.Confidence != nil {
		conf = sql.NullFloat64{Float64: *rec.Confidence, Valid: true}
	}
	var stored int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM insights WHERE id = ?`, rec.ID).Scan(&stored); err != nil {
		return false, internal("cannot read the chronicle", err)
	}
	if stored > 0 {
		return false, nil
	}
	rowid, err := insightRowid(ctx, tx, rec.Timestamp)
	if err != nil {
		return false, err
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO insights
		(rowid, id, ts, domain, content, layer, intensity, confidence, vantage, session_id, principal, receipts, extra)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
		rowid, rec.ID, rec.Timestamp, rec.Domain, rec.Content, rec.Layer, rec.Intensity, conf, rec.Vantage, rec.SessionID, rec.Principal,
		string(receipts), string(extraJSON))
	if err != nil {
		return false, internal("cannot record the insight", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, internal("cannot record the insight", err)
	}
	return n == 1, nil
}

// rowSlots is how many insights one microsecond can hold: an insight's
// rowid is its timestamp in microseconds (Unix) times rowSlots plus a
// counter, so that rowid order is time order and the full-text index,
// which walks rowids, yields the newest or oldest matches first without
// sorting them.
const rowSlots = 1024

// insightRowKey is the first rowid of the microsecond of ts (tsLayout).
func insightRowKey(ts string) (int64, error) {
	t, err := time.Parse(tsLayout, ts)
	if err != nil {
		return 0, FieldError("/timestamp", "timestamp %q is not in the stored form %s", ts, tsLayout)
	}
	return t.UnixMicro() * rowSlots, nil
}

// insightRowid is the rowid for a new insight of time ts: the next free
// slot of its microsecond.
func insightRowid(ctx context.Context, tx *sql.Tx, ts string) (int64, error) {
	base, err := insightRowKey(ts)
	if err != nil {
		return 0, err
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(rowid) FROM insights WHERE rowid >= ? AND rowid < ?`, base, base+rowSlots).Scan(&last); err != nil {
		return 0, internal("cannot read the chronicle", err)
	}
	switch {
	case !last.Valid:
		return base, nil
	case last.Int64+1 < base+rowSlots:
		return last.Int64 + 1, nil
	}
	return 0, Errorf(CategoryLimit, "more than %d insights at the instant %s", rowSlots, ts)
}

// insertLearningRecord stores a learning with its own timestamp, session
// and principal; applies_to is normalised like a domain.
func (e *Engine) insertLearningRecord(ctx context.Context, tx *sql.Tx, rec learningRecord) (int64, error) {
	if err := checkTS(rec.Timestamp); err != nil {
		return 0, err
	}
	applies, err := normalizeDomain("/applies_to", rec.AppliesTo)
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(rec.WhatHappened) == "" {
		return 0, FieldError("/what_happened", "what_happened is empty")
	}
	if strings.TrimSpace(rec.WhatLearned) == "" {
		return 0, FieldError("/what_learned", "what_learned is empty")
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO learnings (ts, what_happened, what_learned, applies_to, session_id, principal)
		VALUES (?, ?, ?, ?, ?, ?)`, rec.Timestamp, rec.WhatHappened, rec.WhatLearned, applies, rec.SessionID, rec.Principal)
	if err != nil {
		return 0, internal("cannot record the learning", err)
	}
	id, err := r.LastInsertId()
	if err != nil {
		return 0, internal("cannot record the learning", err)
	}
	return id, nil
}

// archiveHash is the archive id of content.
func archiveHash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// normalizeTags trims, lowercases, drops empties and duplicates, and sorts.
func normalizeTags(tags []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// insertArchiveRecord stores content under its sha256 (once) and ent as an
// entry for it, unless an entry with the same metadata exists. The blob's
// first-archived time is ent.Timestamp when the blob is new. Stored bytes
// that no longer hash to their id are replaced by content (Repaired).
func (e *Engine) insertArchiveRecord(ctx context.Context, tx *sql.Tx, content []byte, ent archiveEntry) (archiveRecord, error) {
	if err := checkTS(ent.Timestamp); err != nil {
		return archiveRecord{}, err
	}
	if len(content) == 0 || len(content) > maxArchiveBytes {
		return archiveRecord{}, Errorf(CategoryLimit, "archived content must be 1 to %d bytes, got %d", maxArchiveBytes, len(content))
	}
	if strings.TrimSpace(ent.Source) == "" {
		return archiveRecord{}, FieldError("/source", "source is empty")
	}
	id := archiveHash(content)
	if ent.ArchiveID != "" && ent.ArchiveID != id {
		return archiveRecord{}, Errorf(CategoryConflict, "archive id %s does not match the content, whose sha256 is %s", ent.ArchiveID, id)
	}
	ent.ArchiveID = id
	ent.ByteLen = int64(len(content))
	ent.Tags = normalizeTags(ent.Tags)
	out := archiveRecord{SHA256: id}
	var stored []byte
	err := tx.QueryRowContext(ctx, `SELECT content, ts FROM archive_blobs WHERE archive_id = ?`, id).Scan(&stored, &out.FirstArchivedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO archive_blobs (archive_id, content, byte_len, ts) VALUES (?, ?, ?, ?)`,
			id, content, len(content), ent.Timestamp); err != nil {
			return archiveRecord{}, internal("cannot archive the exchange", err)
		}
		out.NewBlob, out.FirstArchivedAt = true, ent.Timestamp
	case err != nil:
		return archiveRecord{}, internal("cannot read the archive", err)
	case !bytes.Equal(stored, content):
		if _, err := tx.ExecContext(ctx, `UPDATE archive_blobs SET content = ?, byte_len = ? WHERE archive_id = ?`, content, len(content), id); err != nil {
			return archiveRecord{}, internal("cannot repair the archive", err)
		}
		out.Repaired = true
	}
	tags, err := json.Marshal(ent.Tags)
	if err != nil {
		return archiveRecord{}, internal("cannot encode the tags", err)
	}
	var prev archiveEntry
	err = tx.QueryRowContext(ctx, `SELECT seq, ts, session_id FROM archive_entries WHERE archive_id = ? AND source = ? AND descriptor = ?
		AND vector_id = ? AND conversation_id = ? AND source_id = ? AND tags = ? ORDER BY seq LIMIT 1`,
		id, ent.Source, ent.Descriptor, ent.VectorID, ent.ConversationID, ent.SourceID, string(tags)).Scan(&prev.Seq, &prev.Timestamp, &prev.SessionID)
	switch {
	case err == nil:
		ent.Seq, ent.Timestamp, ent.SessionID = prev.Seq, prev.Timestamp, prev.SessionID
		out.archiveEntry = ent
		return out, nil
	case !errors.Is(err, sql.ErrNoRows):
		return archiveRecord{}, internal("cannot read the archive", err)
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO archive_entries (archive_id, ts, source, descriptor, vector_id, conversation_id, source_id, tags, session_id, principal)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, ent.Timestamp, ent.Source, ent.Descriptor, ent.VectorID, ent.ConversationID,
		ent.SourceID, string(tags), ent.SessionID, ent.Principal)
	if err != nil {
		return archiveRecord{}, internal("cannot archive the exchange", err)
	}
	if ent.Seq, err = r.LastInsertId(); err != nil {
		return archiveRecord{}, internal("cannot archive the exchange", err)
	}
	out.archiveEntry, out.NewEntry = ent, true
	return out, nil
}

// maxChain bounds the walk along successors when checking for a cycle.
const maxChain = 100000

// insertSupersessionRecord adds s to the ledger after the guards: both
// insights exist, no self-supersession, no second successor, no cycle.
// Recording the same pair again is not an error (nothing changes).
func (e *Engine) insertSupersessionRecord(ctx context.Context, tx *sql.Tx, s supersessionRecord) error {
	if err := checkTS(s.Timestamp); err != nil {
		return err
	}
	if s.Predecessor == s.Successor {
		return Errorf(CategoryConflict, "insight %s cannot supersede itself", shortID(s.Predecessor))
	}
	if strings.TrimSpace(s.Summary) == "" || len([]rune(s.Summary)) > maxCarryForward {
		return FieldError("/carry_forward_summary", "a carry-forward summary of 1 to %d characters is required", maxCarryForward)
	}
	for _, id := range []string{s.Predecessor, s.Successor} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM insights WHERE id = ?`, id).Scan(&n); err != nil {
			return internal("cannot read the chronicle", err)
		}
		if n == 0 {
			return Errorf(CategoryNotFound, "no insight has the id %s", id)
		}
	}
	var existing string
	err := tx.QueryRowContext(ctx, `SELECT successor FROM supersessions WHERE predecessor = ?`, s.Predecessor).Scan(&existing)
	switch {
	case err == nil && existing == s.Successor:
		return nil
	case err == nil:
		return Errorf(CategoryConflict, "insight %s is already superseded by %s; supersede that one instead", shortID(s.Predecessor), shortID(existing))
	case !errors.Is(err, sql.ErrNoRows):
		return internal("cannot read the supersession ledger", err)
	}
	// A cycle: following successors from the new successor reaches the
	// predecessor.
	var cycle int
	if err := tx.QueryRowContext(ctx, `WITH RECURSIVE chain(id, depth) AS (
			SELECT successor, 1 FROM supersessions WHERE predecessor = ?
			UNION ALL
			SELECT s.successor, c.depth + 1 FROM supersessions s JOIN chain c ON s.predecessor = c.id WHERE c.depth < ?
		) SELECT count(*) FROM chain WHERE id = ?`, s.Successor, maxChain, s.Predecessor).Scan(&cycle); err != nil {
		return internal("cannot read the supersession ledger", err)
	}
	if cycle > 0 {
		return Errorf(CategoryConflict, "insight %s cannot supersede %s: %s already leads to it through its successors (a cycle)",
			shortID(s.Successor), shortID(s.Predecessor), shortID(s.Successor))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO supersessions (predecessor, successor, ts, summary, session_id, principal)
		VALUES (?, ?, ?, ?, ?, ?)`, s.Predecessor, s.Successor, s.Timestamp, s.Summary, s.SessionID, s.Principal); err != nil {
		return internal("cannot record the supersession", err)
	}
	return nil
}

// short is the 16-hex display form of an id.
func shortID(id string) string {
	if len(id) > 16 {
		return id[:16]
	}
	return id
}

// eachChronicleRow runs query in a read transaction (one consistent
// snapshot) and calls scan on every row.
func (e *Engine) eachChronicleRow(ctx context.Context, query string, scan func(rowScanner) error) error {
	tx, err := e.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return internal("cannot read the chronicle", err)
	}
	defer func() { _ = tx.Rollback() }()
	return eachRow(ctx, tx, "the chronicle", query, scan)
}

// eachInsight calls fn on every insight, oldest first.
func (e *Engine) eachInsight(ctx context.Context, fn func(insightRecord) error) error {
	return e.eachChronicleRow(ctx, `SELECT `+insightColumns+` FROM insights ORDER BY ts, rowid`, func(r rowScanner) error {
		rec, err := scanInsight(r)
		if err != nil {
			return internal("cannot read the chronicle", err)
		}
		return fn(rec)
	})
}

// eachLearning calls fn on every learning, oldest first.
func (e *Engine) eachLearning(ctx context.Context, fn func(learningRecord) error) error {
	return e.eachChronicleRow(ctx, `SELECT `+learningColumns+` FROM learnings ORDER BY ts, id`, func(r rowScanner) error {
		rec, err := scanLearning(r)
		if err != nil {
			return internal("cannot read the learnings", err)
		}
		return fn(rec)
	})
}

// eachArchiveBlob calls fn on every archived blob (its stored bytes, not
// re-hashed), oldest first.
func (e *Engine) eachArchiveBlob(ctx context.Context, fn func(id string, content []byte) error) error {
	return e.eachChronicleRow(ctx, `SELECT archive_id, content FROM archive_blobs ORDER BY ts, rowid`, func(r rowScanner) error {
		var (
			id      string
			content []byte
		)
		if err := r.Scan(&id, &content); err != nil {
			return internal("cannot read the archive", err)
		}
		return fn(id, content)
	})
}

// eachArchiveEntry calls fn on every archive entry, oldest first.
func (e *Engine) eachArchiveEntry(ctx context.Context, fn func(archiveEntry) error) error {
	return e.eachChronicleRow(ctx, `SELECT `+archiveEntryColumns+` FROM archive_entries e JOIN archive_blobs b USING (archive_id) ORDER BY e.ts, e.seq`,
		func(r rowScanner) error {
			ent, err := scanArchiveEntry(r)
			if err != nil {
				return internal("cannot read the archive", err)
			}
			return fn(ent)
		})
}

// eachSupersession calls fn on every ledger row, oldest first.
func (e *Engine) eachSupersession(ctx context.Context, fn func(supersessionRecord) error) error {
	return e.eachChronicleRow(ctx, `SELECT predecessor, successor, ts, summary, session_id, principal FROM supersessions ORDER BY ts, rowid`,
		func(r rowScanner) error {
			var s supersessionRecord
			if err := r.Scan(&s.Predecessor, &s.Successor, &s.Timestamp, &s.Summary, &s.SessionID, &s.Principal); err != nil {
				return internal("cannot read the supersession ledger", err)
			}
			return fn(s)
		})
}
