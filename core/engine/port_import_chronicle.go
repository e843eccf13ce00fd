package engine

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// skipper records a skipped record of one kind at file:line and returns
// nil, so that a line function can `return skip(reason)`.
func skipper(fc *fileCounts, kind, file string, line int) func(format string, a ...any) error {
	return func(format string, a ...any) error {
		fc.skip(kind, file, line, fmt.Sprintf(format, a...))
		return nil
	}
}

// insightLine imports one line of chronicle/insights/<domain>/<session>.jsonl.
// The claim id is the original's: computed from the timestamp, domain and
// content as written, before the timestamp is normalised.
func (im *importer) insightLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
	skip := skipper(fc, KindInsight, file, line)
	id := claimID(rec.preimage("timestamp"), rec.preimage("domain"), rec.preimage("content"))
	raw, err := rec.str("timestamp")
	if err != nil {
		return skip("%v", err)
	}
	ts, err := originalTS(raw, im.opts.Location)
	if err != nil {
		return skip("%v", err)
	}
	r := insightRecord{ID: id, Timestamp: ts, Principal: im.opts.Principal}
	for key, dst := range map[string]*string{"domain": &r.Domain, "content": &r.Content, "layer": &r.Layer, "vantage": &r.Vantage, "session_id": &r.SessionID} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if r.Domain == "" {
		// The original's recall took the directory as the domain.
		r.Domain = path.Base(path.Dir(file))
	}
	if r.Layer == "" {
		r.Layer = LayerHypothesis // the original's default
	}
	if r.Intensity, err = rec.num("intensity", 0.5); err != nil {
		return skip("%v", err)
	}
	if r.Confidence, err = rec.optNum("confidence"); err != nil {
		return skip("%v", err)
	}
	if v, ok := rec["verified_by"]; ok {
		delete(rec, "verified_by")
		if v != nil {
			if _, isList := v.([]any); !isList {
				return skip("verified_by is not a list of receipts")
			}
			if r.Receipts, err = json.Marshal(v); err != nil {
				return skip("verified_by cannot be encoded: %v", err)
			}
		}
	}
	if len(rec) > 0 {
		r.Extra = map[string]any(rec)
	}
	return im.storeInsight(tx, fc, file, line, &r)
}

// storeInsight validates and stores an insight (insertInsightRecord checks
// the timestamp, domain, layer, intensity, confidence, content and
// receipts).
func (im *importer) storeInsight(tx *sql.Tx, fc *fileCounts, file string, line int, r *insightRecord) error {
	if !utf8.ValidString(r.Content) {
		fc.skip(KindInsight, file, line, "content is not valid UTF-8")
		return nil
	}
	inserted, err := im.e.insertInsightRecord(im.ctx, tx, r)
	if err != nil {
		reason, fatal := storeErr(err)
		if fatal != nil {
			return fatal
		}
		fc.skip(KindInsight, file, line, reason)
		return nil
	}
	fc.outcome(KindInsight, inserted)
	return nil
}

// ledgerRecord is one line of chronicle/supersessions.jsonl.
type ledgerRecord struct {
	line                        int
	action, pred, succ, summary string
	ts                          string
}

// supersessions imports the supersession ledger: folded as the original
// folds it (latest action per predecessor wins, revoke nullifies), then
// the effective supersede records, in ledger order, through the same
// guards as record_insight.
func (im *importer) supersessions() error {
	const name = origChronicle + "/supersessions.jsonl"
	f, err := im.fsys.Open(name)
	if err != nil {
		im.skipFile(KindSupersession, name, "cannot be opened: "+errText(err))
		return nil
	}
	defer f.Close()
	return im.inFile(name, func(tx *sql.Tx, fc *fileCounts) error {
		var (
			ledger []ledgerRecord
			fold   = map[string]int{} // predecessor → index in ledger
		)
		lr := newLineReader(f, importMaxLine)
		for {
			if err := im.ctx.Err(); err != nil {
				return err
			}
			text, n, tooLong, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read %s: %s", name, errText(err))
			}
			if !tooLong && strings.TrimSpace(string(text)) == "" {
				continue
			}
			fc.of(KindSupersession).Read++
			skip := skipper(fc, KindSupersession, name, n)
			if tooLong {
				_ = skip("line longer than %d bytes", importMaxLine)
				continue
			}
			if len(ledger) >= importMaxLedger {
				_ = skip("the ledger has more than %d records; the rest is not read", importMaxLedger)
				break
			}
			m, err := decodeObject(text)
			if err != nil {
				_ = skip("%v", err)
				continue
			}
			rec, err := ledgerLine(fields(m), n, im)
			if err != nil {
				_ = skip("%v", err)
				continue
			}
			if prev, ok := fold[rec.pred]; ok {
				p := ledger[prev]
				why := fmt.Sprintf("replaced by the ledger's later %s of the same predecessor (line %d)", rec.action, rec.line)
				fc.skip(KindSupersession, name, p.line, why)
				delete(fold, rec.pred)
			}
			if rec.action == "revoke" {
				_ = skip("a revoke: applied (the record it revokes is not imported)")
				continue
			}
			ledger = append(ledger, rec)
			fold[rec.pred] = len(ledger) - 1
		}
		for i, rec := range ledger {
			if err := im.ctx.Err(); err != nil {
				return err
			}
			if j, ok := fold[rec.pred]; !ok || j != i {
				continue // replaced; counted above
			}
			if rec.action == "retire" {
				fc.skip(KindSupersession, name, rec.line, "a retire (no successor): the engine's ledger records supersessions only")
				continue
			}
			s := supersessionRecord{Predecessor: rec.pred, Successor: rec.succ, Timestamp: rec.ts, Summary: rec.summary, Principal: im.opts.Principal}
			if err := im.storeSupersession(tx, fc, name, rec.line, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// ledgerLine reads a ledger record: action, superseded_id, successor_id,
// carry_forward_summary, timestamp.
func ledgerLine(rec fields, n int, im *importer) (ledgerRecord, error) {
	out := ledgerRecord{line: n}
	var err error
	if out.action, err = rec.str("action"); err != nil {
		return out, err
	}
	if out.action == "" {
		out.action = "supersede"
	}
	switch out.action {
	case "supersede", "revoke", "retire":
	default:
		return out, fmt.Errorf("action %q is not supersede, revoke or retire", out.action)
	}
	if out.pred, err = rec.str("superseded_id"); err != nil {
		return out, err
	}
	if !fullID.MatchString(out.pred) {
		return out, fmt.Errorf("superseded_id %q is not a full claim id (64 lowercase hex)", out.pred)
	}
	if out.succ, err = rec.str("successor_id"); err != nil {
		return out, err
	}
	if out.action == "supersede" && !fullID.MatchString(out.succ) {
		return out, fmt.Errorf("successor_id %q is not a full claim id (64 lowercase hex)", out.succ)
	}
	if out.summary, err = rec.str("carry_forward_summary"); err != nil {
		return out, err
	}
	raw, err := rec.str("timestamp")
	if err != nil {
		return out, err
	}
	out.ts, err = originalTS(raw, im.opts.Location)
	return out, err
}

// storeSupersession stores one ledger row unless the same one is stored.
func (im *importer) storeSupersession(tx *sql.Tx, fc *fileCounts, file string, line int, s supersessionRecord) error {
	var existing string
	err := tx.QueryRowContext(im.ctx, `SELECT successor FROM supersessions WHERE predecessor = ?`, s.Predecessor).Scan(&existing)
	switch {
	case err == nil && existing == s.Successor:
		fc.outcome(KindSupersession, false)
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read the supersession ledger: %w", err)
	}
	if err := im.e.insertSupersessionRecord(im.ctx, tx, s); err != nil {
		reason, fatal := storeErr(err)
		if fatal != nil {
			return fatal
		}
		fc.skip(KindSupersession, file, line, reason)
		return nil
	}
	fc.outcome(KindSupersession, true)
	return nil
}

// learningLine imports one line of chronicle/learnings/<applies_to>.jsonl.
func (im *importer) learningLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
	skip := skipper(fc, KindLearning, file, line)
	var l learningRecord
	var raw string
	var err error
	for key, dst := range map[string]*string{"timestamp": &raw, "what_happened": &l.WhatHappened, "what_learned": &l.WhatLearned,
		"applies_to": &l.AppliesTo, "session_id": &l.SessionID} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if l.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
		return skip("%v", err)
	}
	if l.AppliesTo == "" {
		l.AppliesTo = stem(file) // the original named the file after it
	}
	l.Principal = im.opts.Principal
	return im.storeLearning(tx, fc, file, line, l)
}

// storeLearning validates and stores a learning unless the same one (time,
// texts, applies_to, session) is stored.
func (im *importer) storeLearning(tx *sql.Tx, fc *fileCounts, file string, line int, l learningRecord) error {
	skip := skipper(fc, KindLearning, file, line)
	applies, err := normalizeDomain("/applies_to", l.AppliesTo)
	if err != nil {
		reason, _ := storeErr(err)
		return skip("%s", reason)
	}
	l.AppliesTo = applies
	for name, v := range map[string]string{"what_happened": l.WhatHappened, "what_learned": l.WhatLearned} {
		if utf8.RuneCountInString(v) > maxContent || !utf8.ValidString(v) {
			return skip("%s is longer than %d characters or not valid UTF-8", name, maxContent)
		}
	}
	if checkTS(l.Timestamp) != nil {
		return skip("timestamp %q is not in the stored form", l.Timestamp)
	}
	var n int
	if err := tx.QueryRowContext(im.ctx, `SELECT count(*) FROM learnings WHERE ts = ? AND what_happened = ? AND what_learned = ?
		AND applies_to = ? AND session_id = ?`, l.Timestamp, l.WhatHappened, l.WhatLearned, l.AppliesTo, l.SessionID).Scan(&n); err != nil {
		return fmt.Errorf("read the learnings: %w", err)
	}
	if n > 0 {
		fc.outcome(KindLearning, false)
		return nil
	}
	if _, err := im.e.insertLearningRecord(im.ctx, tx, l); err != nil {
		reason, fatal := storeErr(err)
		if fatal != nil {
			return fatal
		}
		return skip("%s", reason)
	}
	fc.outcome(KindLearning, true)
	return nil
}

// archiveFiles are the blob files under chronicle/archives/, by name.
type archiveFiles struct {
	paths  map[string]bool
	byName map[string][]string
	bySha  map[string][]string // by the 12-hex suffix of the original's file names
}

// archives imports chronicle/archives/index.jsonl. The blob of each
// record is looked for inside chronicle/archives/ only: by the last two
// elements of its index path, then by its file name, then by the
// "__<sha12>" suffix the original gave its file names; the index path is
// never opened as given.
func (im *importer) archives() error {
	const dir = origChronicle + "/archives"
	const index = dir + "/index.jsonl"
	files, err := im.walk(dir, KindArchive, func(p string) bool { return p != index })
	if err != nil {
		return err
	}
	af := archiveFiles{paths: map[string]bool{}, byName: map[string][]string{}, bySha: map[string][]string{}}
	for _, p := range files {
		af.paths[p] = true
		base := path.Base(p)
		af.byName[base] = append(af.byName[base], p)
		if i := strings.LastIndex(base, "__"); i >= 0 {
			sha := strings.TrimSuffix(base[i+2:], path.Ext(base))
			af.bySha[sha] = append(af.bySha[sha], p)
		}
	}
	if _, err := fs.Stat(im.fsys, index); err != nil {
		im.rep.notImported(dir+"/", "no readable index.jsonl: blobs without their index records are not imported")
		return nil
	}
	return im.jsonlFile(index, KindArchive, func(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error {
		return im.archiveLine(tx, fc, file, line, rec, af)
	})
}

// locate finds the blob of an index record inside chronicle/archives/.
func (af archiveFiles) locate(indexPath, id string) (string, bool) {
	p := strings.ReplaceAll(indexPath, `\`, "/")
	base := path.Base(p)
	if p != "" && base != "." && base != "/" {
		if parent := path.Base(path.Dir(p)); fs.ValidPath(parent + "/" + base) {
			if cand := origChronicle + "/archives/" + parent + "/" + base; af.paths[cand] {
				return cand, true
			}
		}
		if c := af.byName[base]; len(c) > 0 {
			return c[0], true
		}
	}
	if len(id) >= 12 {
		if c := af.bySha[id[:12]]; len(c) > 0 {
			return c[0], true
		}
	}
	return "", false
}

// archiveLine imports one index record with its blob; a blob that does not
// hash to the record's archive_id is skipped.
func (im *importer) archiveLine(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields, af archiveFiles) error {
	skip := skipper(fc, KindArchive, file, line)
	var id, sha, indexPath, raw string
	var ent archiveEntry
	var err error
	for key, dst := range map[string]*string{"archive_id": &id, "sha256": &sha, "path": &indexPath, "timestamp": &raw,
		"source": &ent.Source, "descriptor": &ent.Descriptor, "vector_id": &ent.VectorID,
		"conversation_id": &ent.ConversationID, "source_id": &ent.SourceID, "session_id": &ent.SessionID} {
		if *dst, err = rec.str(key); err != nil {
			return skip("%v", err)
		}
	}
	if id == "" {
		id = sha
	}
	id = strings.ToLower(id)
	if !fullID.MatchString(id) {
		return skip("archive_id %q is not a sha256 (64 hex)", id)
	}
	if sha != "" && strings.ToLower(sha) != id {
		return skip("archive_id %s and sha256 %s differ", shortID(id), shortID(sha))
	}
	if ent.Tags, err = rec.strList("tags"); err != nil {
		return skip("%v", err)
	}
	if ent.Timestamp, err = originalTS(raw, im.opts.Location); err != nil {
		return skip("%v", err)
	}
	blob, ok := af.locate(indexPath, id)
	if !ok {
		return skip("the blob of archive %s (%s) is not in %s/archives/", shortID(id), path.Base(strings.ReplaceAll(indexPath, `\`, "/")), origChronicle)
	}
	content, err := im.readSmall(blob, importMaxBlob)
	if err != nil {
		return skip("the blob %s cannot be read: %v", blob, err)
	}
	if got := archiveHash(content); got != id {
		return skip("the blob %s hashes to %s, not to its archive_id %s: not imported (never served as good)", blob, shortID(got), shortID(id))
	}
	ent.ArchiveID, ent.Principal = id, im.opts.Principal
	return im.storeArchive(tx, fc, file, line, content, ent)
}

// storeArchive stores an archived blob and its entry.
func (im *importer) storeArchive(tx *sql.Tx, fc *fileCounts, file string, line int, content []byte, ent archiveEntry) error {
	res, err := im.e.insertArchiveRecord(im.ctx, tx, content, ent)
	if err != nil {
		reason, fatal := storeErr(err)
		if fatal != nil {
			return fatal
		}
		fc.skip(KindArchive, file, line, reason)
		return nil
	}
	fc.outcome(KindArchive, res.NewEntry)
	return nil
}
