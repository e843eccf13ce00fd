package engine

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// The export format: JSONL, one record per line, each an object whose
// first member is "kind" (one of PortKinds), then "principal" (and
// "resolved_principal" for a thread, "consumed_by_principal" for a
// handoff) when not empty, then the record's fields as the tools show
// them. Kinds come in PortKinds order, each in storage order (time, then
// insertion), so that exporting the same data twice gives the same bytes
// and every record comes after those it refers to. Local row numbers
// (learning ids, archive entry seqs) are not exported. An archive line
// carries its content as text when it is valid UTF-8, else base64 with
// "content_base64": true.

// exportLearning is a learning as exported (no local id).
type exportLearning struct {
	Timestamp    string `json:"timestamp"`
	WhatHappened string `json:"what_happened"`
	WhatLearned  string `json:"what_learned"`
	AppliesTo    string `json:"applies_to"`
	SessionID    string `json:"session_id"`
}

// exportArchive is an archive entry with its content, as exported.
type exportArchive struct {
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
	Content        string   `json:"content"`
	ContentBase64  bool     `json:"content_base64,omitempty"`
}

// exportMeta are the members an exported line has besides the record's
// own fields.
type exportMeta struct {
	Kind                string `json:"kind"`
	Principal           string `json:"principal"`
	ResolvedPrincipal   string `json:"resolved_principal"`
	ConsumedByPrincipal string `json:"consumed_by_principal"`
}

// exportWriter writes lines and counts them.
type exportWriter struct {
	w   *bufio.Writer
	rep *ExportReport
}

// line writes {"kind":kind, extra members (when not empty), rec's members}.
func (x *exportWriter) line(kind string, rec any, extra ...[2]string) error {
	body, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("export %s: %w", kind, err)
	}
	head, _ := json.Marshal(kind)
	buf := make([]byte, 0, len(body)+64)
	buf = append(buf, `{"kind":`...)
	buf = append(buf, head...)
	for _, kv := range extra {
		if kv[1] == "" {
			continue
		}
		v, _ := json.Marshal(kv[1])
		buf = append(buf, ',', '"')
		buf = append(buf, kv[0]...)
		buf = append(buf, '"', ':')
		buf = append(buf, v...)
	}
	if len(body) > 2 {
		buf = append(buf, ',')
		buf = append(buf, body[1:]...)
	} else {
		buf = append(buf, '}')
	}
	buf = append(buf, '\n')
	n, err := x.w.Write(buf)
	x.rep.Bytes += int64(n)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	x.rep.Lines++
	x.rep.Kinds[kind]++
	return nil
}

// Export writes the engine's records to w as JSONL (see the format above),
// the kinds opts selects, and counts them. A kind not in PortKinds is an
// error wrapping ErrUnknownKind.
func (e *Engine) Export(ctx context.Context, w io.Writer, opts ExportOptions) (*ExportReport, error) {
	sel, err := selectKinds(opts.Kinds)
	if err != nil {
		return nil, err
	}
	rep := &ExportReport{Kinds: map[string]int{}}
	x := &exportWriter{w: bufio.NewWriterSize(w, 256<<10), rep: rep}
	// One read transaction for the kinds that take a queryer.
	tx, err := e.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, fmt.Errorf("export: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, kind := range PortKinds {
		if !sel[kind] {
			continue
		}
		if err := e.exportKind(ctx, tx, x, kind); err != nil {
			return rep, err
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
	}
	if err := x.w.Flush(); err != nil {
		return rep, fmt.Errorf("export: %w", err)
	}
	return rep, nil
}

func principal(p string) [2]string { return [2]string{"principal", p} }

// exportKind writes every record of one kind.
func (e *Engine) exportKind(ctx context.Context, tx *sql.Tx, x *exportWriter, kind string) error {
	switch kind {
	case KindInsight:
		return e.eachInsight(ctx, func(r insightRecord) error { return x.line(kind, r, principal(r.Principal)) })
	case KindSupersession:
		return e.eachSupersession(ctx, func(s supersessionRecord) error { return x.line(kind, s, principal(s.Principal)) })
	case KindLearning:
		return e.eachLearning(ctx, func(l learningRecord) error {
			return x.line(kind, exportLearning{l.Timestamp, l.WhatHappened, l.WhatLearned, l.AppliesTo, l.SessionID}, principal(l.Principal))
		})
	case KindArchive:
		return e.eachArchiveEntry(ctx, func(ent archiveEntry) error {
			var content []byte
			if err := tx.QueryRowContext(ctx, `SELECT content FROM archive_blobs WHERE archive_id = ?`, ent.ArchiveID).Scan(&content); err != nil {
				return fmt.Errorf("export archive %s: %w", shortID(ent.ArchiveID), err)
			}
			a := exportArchive{ArchiveID: ent.ArchiveID, Timestamp: ent.Timestamp, Source: ent.Source, Descriptor: ent.Descriptor,
				VectorID: ent.VectorID, ConversationID: ent.ConversationID, SourceID: ent.SourceID, Tags: ent.Tags,
				SessionID: ent.SessionID, ByteLen: int64(len(content))}
			if utf8.Valid(content) {
				a.Content = string(content)
			} else {
				a.Content, a.ContentBase64 = base64.StdEncoding.EncodeToString(content), true
			}
			return x.line(kind, a, principal(ent.Principal))
		})
	case KindThread:
		return eachThread(ctx, tx, func(t threadRecord) error {
			return x.line(kind, t, principal(t.Principal), [2]string{"resolved_principal", t.ResolvedPrincipal})
		})
	case KindTouch:
		return eachTouch(ctx, tx, func(t touchRecord) error { return x.line(kind, t, principal(t.Principal)) })
	case KindHandoff:
		return eachHandoff(ctx, tx, func(h handoffRecord) error {
			return x.line(kind, h, principal(h.Principal), [2]string{"consumed_by_principal", h.ConsumedByPrinc})
		})
	case KindActedOn:
		return eachActedOn(ctx, tx, func(a actedOnRecord) error { return x.line(kind, a, principal(a.Principal)) })
	case KindUncertainty:
		return eachUncertainty(ctx, tx, func(u uncertainty, p string) error { return x.line(kind, u, principal(p)) })
	case KindExperiment:
		return eachExperiment(ctx, tx, func(ex experiment, p string) error { return x.line(kind, ex, principal(p)) })
	case KindReflection:
		return eachReflection(ctx, tx, func(r agentReflection) error { return x.line(kind, r, principal(r.Principal)) })
	case KindReview:
		return eachReview(ctx, tx, func(v sessionReview) error { return x.line(kind, v, principal(v.Principal)) })
	}
	return fmt.Errorf("%w: %q", ErrUnknownKind, kind)
}
