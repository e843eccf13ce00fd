package engine

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// exportFile imports a JSONL file written by Export, importBatch lines
// per transaction. Every record goes through the same checks as a record
// of the original; ids, timestamps, sessions and principals are the
// file's.
func (im *importer) exportFile(r io.Reader, name string) error {
	lr := newLineReader(r, importMaxExportLine)
	for done := false; !done; {
		batch := fmt.Sprintf("%s (lines %d-%d)", name, lr.line+1, lr.line+importBatch)
		err := im.inFile(batch, func(tx *sql.Tx, fc *fileCounts) error {
			for i := 0; i < importBatch; i++ {
				if err := im.ctx.Err(); err != nil {
					return err
				}
				text, n, tooLong, err := lr.next()
				if errors.Is(err, io.EOF) {
					done = true
					return nil
				}
				if err != nil {
					return fmt.Errorf("read %s: %s", name, errText(err))
				}
				if !tooLong && strings.TrimSpace(string(text)) == "" {
					continue
				}
				if err := im.exportLine(tx, fc, name, n, text, tooLong); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// exportLine imports one line of the export format.
func (im *importer) exportLine(tx *sql.Tx, fc *fileCounts, name string, n int, text []byte, tooLong bool) error {
	var meta exportMeta
	if tooLong {
		fc.of(kindUnknown).Read++
		fc.skip(kindUnknown, name, n, fmt.Sprintf("line longer than %d bytes", importMaxExportLine))
		return nil
	}
	if err := json.Unmarshal(text, &meta); err != nil {
		fc.of(kindUnknown).Read++
		fc.skip(kindUnknown, name, n, "not a JSON object: "+err.Error())
		return nil
	}
	kind := meta.Kind
	if !slices.Contains(PortKinds, kind) {
		fc.of(kindUnknown).Read++
		fc.skip(kindUnknown, name, n, fmt.Sprintf("unknown kind %q", kind))
		return nil
	}
	fc.of(kind).Read++
	skip := skipper(fc, kind, name, n)
	decode := func(v any) bool {
		if err := json.Unmarshal(text, v); err != nil {
			_ = skip("not a valid %s record: %v", kind, err)
			return false
		}
		return true
	}
	switch kind {
	case KindInsight:
		var r insightRecord
		if !decode(&r) {
			return nil
		}
		if r.ID == "" {
			return skip("no id")
		}
		r.Principal, r.Deduplicated = meta.Principal, false
		return im.storeInsight(tx, fc, name, n, &r)
	case KindSupersession:
		var s supersessionRecord
		if !decode(&s) {
			return nil
		}
		s.Principal = meta.Principal
		return im.storeSupersession(tx, fc, name, n, s)
	case KindLearning:
		var l exportLearning
		if !decode(&l) {
			return nil
		}
		return im.storeLearning(tx, fc, name, n, learningRecord{Timestamp: l.Timestamp, WhatHappened: l.WhatHappened,
			WhatLearned: l.WhatLearned, AppliesTo: l.AppliesTo, SessionID: l.SessionID, Principal: meta.Principal})
	case KindArchive:
		var a exportArchive
		if !decode(&a) {
			return nil
		}
		content := []byte(a.Content)
		if a.ContentBase64 {
			b, err := base64.StdEncoding.DecodeString(a.Content)
			if err != nil {
				return skip("content is not base64: %v", err)
			}
			content = b
		}
		if got := archiveHash(content); got != a.ArchiveID {
			return skip("the content hashes to %s, not to its archive_id %s: not imported (never served as good)", shortID(got), shortID(a.ArchiveID))
		}
		return im.storeArchive(tx, fc, name, n, content, archiveEntry{ArchiveID: a.ArchiveID, Timestamp: a.Timestamp, Source: a.Source,
			Descriptor: a.Descriptor, VectorID: a.VectorID, ConversationID: a.ConversationID, SourceID: a.SourceID, Tags: a.Tags,
			SessionID: a.SessionID, Principal: meta.Principal})
	case KindThread:
		var t threadRecord
		if !decode(&t) {
			return nil
		}
		t.Principal, t.ResolvedPrincipal, t.TouchCount, t.LastTouchedAt = meta.Principal, meta.ResolvedPrincipal, 0, ""
		if !t.Resolved {
			t.ResolvedAt, t.ResolvedBy, t.Resolution, t.ResolutionInsight, t.ResolvedPrincipal = "", "", "", "", ""
		}
		return im.storeThread(tx, fc, name, n, t)
	case KindTouch:
		var t touchRecord
		if !decode(&t) {
			return nil
		}
		t.Principal = meta.Principal
		return im.storeTouch(tx, fc, name, n, t)
	case KindHandoff:
		var h handoffRecord
		if !decode(&h) {
			return nil
		}
		h.Principal, h.ConsumedByPrinc = meta.Principal, meta.ConsumedByPrincipal
		return im.storeHandoff(tx, fc, name, n, h)
	case KindActedOn:
		var a actedOnRecord
		if !decode(&a) {
			return nil
		}
		a.Principal = meta.Principal
		return im.storeActedOn(tx, fc, name, n, a)
	case KindUncertainty:
		var u uncertainty
		if !decode(&u) {
			return nil
		}
		return im.storeUncertainty(tx, fc, name, n, u, meta.Principal)
	case KindExperiment:
		var x experiment
		if !decode(&x) {
			return nil
		}
		return im.storeExperiment(tx, fc, name, n, x, meta.Principal)
	case KindReflection:
		var r agentReflection
		if !decode(&r) {
			return nil
		}
		r.Principal = meta.Principal
		return im.storeReflection(tx, fc, name, n, r)
	case KindReview:
		var v sessionReview
		if !decode(&v) {
			return nil
		}
		v.Principal = meta.Principal
		return im.storeReview(tx, fc, name, n, v)
	}
	return skip("unknown kind %q", kind)
}

// kindUnknown counts the lines of an export file whose kind is unknown or
// unreadable.
const kindUnknown = "unknown"
