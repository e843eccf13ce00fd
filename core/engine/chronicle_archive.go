package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// archiveEntryColumns are the columns scanArchiveEntry reads, in order,
// from archive_entries e joined with archive_blobs b.
const archiveEntryColumns = `e.seq, e.archive_id, e.ts, e.source, e.descriptor, e.vector_id, e.conversation_id, e.source_id, e.tags, e.session_id, e.principal, b.byte_len`

func scanArchiveEntry(r rowScanner) (archiveEntry, error) {
	var (
		ent  archiveEntry
		tags string
	)
	if err := r.Scan(&ent.Seq, &ent.ArchiveID, &ent.Timestamp, &ent.Source, &ent.Descriptor, &ent.VectorID, &ent.ConversationID,
		&ent.SourceID, &tags, &ent.SessionID, &ent.Principal, &ent.ByteLen); err != nil {
		return archiveEntry{}, err
	}
	if err := json.Unmarshal([]byte(tags), &ent.Tags); err != nil {
		return archiveEntry{}, err
	}
	return ent, nil
}

// verifyArchive re-hashes the stored bytes of archive id: nil when they
// still hash to id, CategoryConflict when not.
func verifyArchive(ctx context.Context, q queryer, id string) error {
	_, err := readArchive(ctx, q, id)
	return err
}

// readArchive returns the stored bytes of archive id after re-hashing
// them; bytes that no longer match their id are never returned.
func readArchive(ctx context.Context, q queryer, id string) ([]byte, error) {
	var content []byte
	err := q.QueryRowContext(ctx, `SELECT content FROM archive_blobs WHERE archive_id = ?`, id).Scan(&content)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, Errorf(CategoryNotFound, "no archive has the id %s", id)
	case err != nil:
		return nil, internal("cannot read the archive", err)
	}
	if got := archiveHash(content); got != id {
		return nil, Errorf(CategoryConflict, "archive %s failed its integrity check: the stored bytes now hash to %s (mismatch); they are not served", shortID(id), got)
	}
	return content, nil
}

func (e *Engine) archiveExchange(ctx context.Context, c *Call) (*Result, error) {
	var a struct {
		Content        string   `json:"content"`
		Source         string   `json:"source"`
		Descriptor     string   `json:"descriptor"`
		VectorID       string   `json:"vector_id"`
		ConversationID string   `json:"conversation_id"`
		SourceID       string   `json:"source_id"`
		Tags           []string `json:"tags"`
	}
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	if len(a.Content) > maxArchiveBytes {
		return nil, &Error{Category: CategoryLimit, Field: "/content", Msg: fmt.Sprintf("content is %d bytes; the archive takes at most %d", len(a.Content), maxArchiveBytes)}
	}
	ent := archiveEntry{Timestamp: e.ts(), Source: a.Source, Descriptor: a.Descriptor, VectorID: a.VectorID, ConversationID: a.ConversationID,
		SourceID: a.SourceID, Tags: a.Tags, SessionID: c.Caller.Session, Principal: c.Caller.Principal}
	var rec archiveRecord
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		var err error
		rec, err = e.insertArchiveRecord(ctx, tx, []byte(a.Content), ent)
		return err
	})
	if err != nil {
		return nil, err
	}
	var text string
	switch {
	case rec.NewBlob:
		text = fmt.Sprintf("Archived %s (%d bytes).", shortID(rec.ArchiveID), rec.ByteLen)
	case rec.NewEntry:
		text = fmt.Sprintf("Already archived: %s (%d bytes, first archived %s); this metadata is recorded as another entry.", shortID(rec.ArchiveID), rec.ByteLen, rec.FirstArchivedAt)
	default:
		text = fmt.Sprintf("Already archived with this metadata: %s (%d bytes, %s); nothing new stored.", shortID(rec.ArchiveID), rec.ByteLen, rec.Timestamp)
	}
	if rec.Repaired {
		text += " The stored bytes had been altered; they were replaced by these, which match the id."
	}
	return &Result{Text: text, Data: rec}, nil
}

// maxEntriesShown bounds the entries recall_exchange lists for one blob.
const maxEntriesShown = 50

// recalledExchange is recall_exchange's data.
type recalledExchange struct {
	ArchiveID        string         `json:"archive_id"`
	SHA256           string         `json:"sha256"`
	RecomputedSHA256 string         `json:"recomputed_sha256"`
	Integrity        string         `json:"integrity"`
	ByteLen          int            `json:"byte_len"`
	FirstArchivedAt  string         `json:"first_archived_at"`
	Entries          []archiveEntry `json:"entries"`
	Content          string         `json:"content"`
}

func (e *Engine) recallExchange(ctx context.Context, c *Call) (*Result, error) {
	var a struct {
		ArchiveID string `json:"archive_id"`
	}
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	id, err := resolveHexRef(ctx, e.db, archiveIDs, "/archive_id", a.ArchiveID)
	if err != nil {
		return nil, err
	}
	content, err := readArchive(ctx, e.db, id)
	if err != nil {
		return nil, err
	}
	out := recalledExchange{ArchiveID: id, SHA256: id, RecomputedSHA256: id, Integrity: "verified", ByteLen: len(content),
		Content: string(content), Entries: []archiveEntry{}}
	if err := e.db.QueryRowContext(ctx, `SELECT ts FROM archive_blobs WHERE archive_id = ?`, id).Scan(&out.FirstArchivedAt); err != nil {
		return nil, internal("cannot read the archive", err)
	}
	rows, err := e.db.QueryContext(ctx, `SELECT `+archiveEntryColumns+` FROM archive_entries e JOIN archive_blobs b USING (archive_id)
		WHERE e.archive_id = ? ORDER BY e.ts, e.seq LIMIT ?`, id, maxEntriesShown)
	if err != nil {
		return nil, internal("cannot read the archive", err)
	}
	defer rows.Close()
	for rows.Next() {
		ent, err := scanArchiveEntry(rows)
		if err != nil {
			return nil, internal("cannot read the archive", err)
		}
		out.Entries = append(out.Entries, ent)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the archive", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Archive %s: integrity verified, %d bytes, first archived %s", shortID(id), len(content), out.FirstArchivedAt)
	if len(out.Entries) > 0 {
		first := out.Entries[0]
		fmt.Fprintf(&b, ", source %s", first.Source)
		if first.Descriptor != "" {
			fmt.Fprintf(&b, " (%s)", first.Descriptor)
		}
	}
	b.WriteString(".\n\n")
	b.Write(content)
	return &Result{Text: b.String(), Data: out}, nil
}

func (e *Engine) listExchanges(ctx context.Context, c *Call) (*Result, error) {
	var a struct {
		VectorID       string `json:"vector_id"`
		Source         string `json:"source"`
		Tag            string `json:"tag"`
		ConversationID string `json:"conversation_id"`
		Limit          int    `json:"limit"`
		Offset         int    `json:"offset"`
	}
	if err := c.Decode(&a); err != nil {
		return nil, err
	}
	if a.Limit == 0 {
		a.Limit = 20
	}
	var (
		conds []string
		args  []any
	)
	for _, f := range []struct{ cond, val string }{
		{`e.vector_id = ?`, a.VectorID}, {`e.source = ?`, a.Source}, {`e.conversation_id = ?`, a.ConversationID},
		{`EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?)`, strings.ToLower(strings.TrimSpace(a.Tag))},
	} {
		if f.val != "" {
			conds = append(conds, f.cond)
			args = append(args, f.val)
		}
	}
	stmt := `SELECT ` + archiveEntryColumns + ` FROM archive_entries e JOIN archive_blobs b USING (archive_id)`
	if len(conds) > 0 {
		stmt += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	stmt += ` ORDER BY e.ts DESC, e.seq DESC LIMIT ? OFFSET ?`
	args = append(args, a.Limit+1, a.Offset)
	rows, err := e.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, internal("cannot read the archive", err)
	}
	defer rows.Close()
	entries := []archiveEntry{}
	for rows.Next() {
		ent, err := scanArchiveEntry(rows)
		if err != nil {
			return nil, internal("cannot read the archive", err)
		}
		entries = append(entries, ent)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("cannot read the archive", err)
	}
	hasMore := len(entries) > a.Limit
	if hasMore {
		entries = entries[:a.Limit]
	}
	var b strings.Builder
	if len(entries) == 0 {
		b.WriteString("No archived exchanges match.")
	} else {
		fmt.Fprintf(&b, "%d archived exchanges (newest first):\n", len(entries))
		for _, en := range entries {
			fmt.Fprintf(&b, "- %s [%s] %s, %d bytes", shortID(en.ArchiveID), en.Timestamp[:16], en.Source, en.ByteLen)
			if en.Descriptor != "" {
				fmt.Fprintf(&b, ": %s", en.Descriptor)
			}
			b.WriteString("\n")
		}
		if hasMore {
			fmt.Fprintf(&b, "More: call again with offset %d.\n", a.Offset+len(entries))
		}
	}
	return &Result{Text: b.String(), Data: map[string]any{"exchanges": entries, "count": len(entries), "offset": a.Offset, "has_more": hasMore}}, nil
}
