package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// The scan of one log folder: every line of every segment, in order.

// segSpan is a segment already read: its records are seq first…first+count−1.
type segSpan struct {
	name, path   string
	first, count uint64
}

// logScan verifies one log folder.
type logScan struct {
	ctx         context.Context
	keys        *keyRing // given, and learned from key_rotated
	pendingKeys []pendingKey
	lf          *logOnDisk
	rep         *LogReport
	prog        *progressState
	maxLine     int
	maxUnsigned uint64

	all        []*trustedCP // every trusted checkpoint (supplied, remembered)
	mine       []*trustedCP // those of this log, by size, not yet checked
	file       *trustedCP   // the log's checkpoint file
	fileResult []*CheckpointResult
	// late are problems of trusted checkpoints (bad signature, another
	// log's origin) that are the log's verdict only when its records are
	// fine: damage in the records comes first.
	late []*Problem

	origin    []byte // the "log" of record 0, as written
	n         uint64 // the next seq expected
	prev      Hash   // leaf hash of the last line
	prevHex   [64]byte
	prevAt    lineLoc
	prevKind  string
	tree      *Tree
	sinceCp   uint64 // records since the last checkpoint record
	lastCp    uint64
	haveCp    bool
	newest    *CheckpointInfo
	lines     uint64
	bytes     int64
	pend      *verdictPending
	problem   *Problem
	chainOnly bool // after a hole: only seq and prev are followed

	// A log whose first segments were deleted (retention) starts from the
	// tree state its first segment_opened carries; the next signed
	// checkpoint vouches for it.
	imported   bool
	importAuth bool
	importSeq  uint64
	importAt   lineLoc
	// pruneThrough is through_seq of the last retention_prune record.
	pruneThrough *uint64

	segIdx      int
	seg         *segOnDisk
	lineNo      int64
	segStart    bool
	sealed      bool // the current segment's last record was segment_sealed
	prevSeg     string
	prevSealed  bool // the previous segment ended with segment_sealed
	spans       []segSpan
	emptyLast   string // an empty segment after the last one with records
	reader      *bufio.Reader
	hasher      hash.Hash
	sum         [sha256.Size]byte
	fields      lineFields
	rootAt      uint64 // size of cachedRoot
	cachedRoot  Hash
	cachedValid bool
}

func newLogScan(ctx context.Context, opts *VerifyOptions, keys note.Verifiers, lf *logOnDisk, trusted []*trustedCP, prog *progressState) *logScan {
	s := &logScan{
		ctx: ctx, keys: newKeyRing(keys), lf: lf, prog: prog, all: trusted,
		rep:         &LogReport{Folder: lf.path, Name: lf.name, Segments: len(lf.segs)},
		maxLine:     opts.MaxLine,
		maxUnsigned: opts.MaxUnsigned,
		tree:        NewTree(),
		hasher:      sha256.New(),
	}
	if s.maxLine <= 0 {
		s.maxLine = DefaultMaxLine
	}
	if s.maxUnsigned == 0 {
		s.maxUnsigned = DefaultMaxUnsigned
	}
	copy(s.prevHex[:], GenesisPrev)
	return s
}

func (s *logScan) run() error {
	if err := s.readCheckpointFile(); err != nil {
		return err
	}
	for _, t := range s.all {
		if t.folder == s.lf.path {
			s.mine = append(s.mine, t) // remembered for this folder: it must be this log
			t.matched = true
			t.res.Log = s.lf.name
		}
	}
	for i := range s.lf.segs {
		if s.problem != nil {
			break
		}
		if err := s.segment(i); err != nil {
			return err
		}
	}
	if s.problem == nil {
		s.finish()
	}
	s.rep.Records = s.lines
	if s.imported {
		s.rep.First = s.importSeq
	}
	s.rep.Bytes = s.bytes
	if s.origin != nil {
		s.rep.Origin = string(s.origin)
	}
	s.rep.Newest = s.newest
	if s.newest != nil {
		s.rep.Signed = s.newest.Size
	}
	for _, t := range append(slices.Clone(s.mine), s.file) {
		if t != nil && t.res.Status == "" {
			t.res.Status = StatusUnchecked
		}
	}
	if s.problem == nil && len(s.late) > 0 {
		s.problem = s.late[0]
	}
	s.rep.Problem = s.problem
	if s.problem != nil {
		s.rep.Anchored, s.rep.AnchoredBy = 0, ""
	}
	s.reportProgress()
	return nil
}

func (s *logScan) fail(cat Category, seq uint64, at lineLoc, detail string) {
	if s.problem != nil {
		return
	}
	s.pend = nil
	s.problem = &Problem{Category: cat, Seq: seq, Segment: at.seg, Line: at.line, Detail: detail}
}

func (s *logScan) segment(i int) error {
	s.segIdx, s.seg = i, &s.lf.segs[i]
	f, err := os.Open(s.seg.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if s.reader == nil {
		s.reader = bufio.NewReaderSize(f, 1<<20)
	} else {
		s.reader.Reset(f)
	}
	lr := boundedLines{r: s.reader, max: s.maxLine}
	s.lineNo, s.segStart, s.sealed = 0, true, false
	s.spans = append(s.spans, segSpan{name: s.seg.name, path: s.seg.path, first: s.n})
	for {
		line, complete, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		s.lineNo++
		at := lineLoc{s.seg.name, s.lineNo}
		if errors.Is(err, errLineTooLong) {
			s.eofPending()
			s.fail(Modified, s.n, at, fmt.Sprintf("a line longer than %d bytes (no record is that long)", s.maxLine))
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.seg.path, err)
		}
		s.lines++
		s.bytes += int64(len(line)) + 1
		s.prog.records++
		s.prog.bytes += int64(len(line)) + 1
		if !complete {
			s.eofPending()
			s.fail(Modified, s.n, at, "the last line is incomplete (no newline): a torn write, which the writer's recovery moves to quarantine/ at its next start; if the proxy is running, verify again")
			return nil
		}
		s.line(line, at)
		if s.problem != nil {
			return nil
		}
		s.segStart = false
		if s.lines%8192 == 0 {
			if err := s.ctx.Err(); err != nil {
				return err
			}
			s.reportProgress()
		}
	}
	if s.lineNo == 0 {
		s.emptySegment()
		return nil
	}
	s.prevSeg, s.prevSealed = s.seg.name, s.sealed
	return nil
}

// emptySegment handles a segment file with no line.
func (s *logScan) emptySegment() {
	s.spans = s.spans[:len(s.spans)-1]
	if s.pend != nil || s.chainOnly {
		return
	}
	if s.seg.seq == s.n && s.segIdx == len(s.lf.segs)-1 {
		s.emptyLast = s.seg.name
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("the last segment %s is empty (the writer stopped right after creating it)", s.seg.name))
		return
	}
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("segment %s is empty", s.seg.name))
}

func (s *logScan) reportProgress() {
	if s.prog.fn != nil {
		s.prog.fn(Progress{Log: s.lf.name, Records: s.prog.records, Bytes: s.prog.bytes, TotalBytes: s.prog.total})
	}
}

// leafPrefix is the RFC 6962 leaf prefix.
var leafPrefix = []byte{0}

// leafHash is LeafHash without allocating: one hasher and one sum buffer
// for the whole scan.
func (s *logScan) leafHash(line []byte) Hash {
	s.hasher.Reset()
	s.hasher.Write(leafPrefix)
	s.hasher.Write(line)
	return Hash(s.hasher.Sum(s.sum[:0]))
}

// line verifies one complete line.
func (s *logScan) line(line []byte, at lineLoc) {
	perr := scanLine(line, &s.fields)
	lf := &s.fields
	var seq uint64
	var prevRaw []byte
	hasSeq, hasPrev := false, false
	if perr == nil {
		seq, hasSeq = lf.uint(line, fSeq)
		prevRaw, hasPrev = lf.raw(line, fPrev)
	}
	ok := perr == nil && hasSeq && hasPrev
	prevMatch := ok && bytes.Equal(prevRaw, s.prevHex[:])
	leaf := s.leafHash(line)

	if s.pend != nil {
		s.resolve(ok, seq, prevMatch, leaf, at)
		return
	}
	if perr != nil {
		s.fail(Modified, s.n, at, "the line is not a canonical record: "+perr.Error())
		return
	}
	if !ok {
		s.fail(Modified, s.n, at, "the record has no integer seq or no string prev")
		return
	}
	importing := false
	if s.segStart && s.seg.seq != s.n {
		if !s.importTree(line, seq, at) {
			s.segmentGap(seq, at)
			return
		}
		importing = true
		prevMatch = bytes.Equal(prevRaw, s.prevHex[:])
	}

	// The chain: seq and prev.
	switch {
	case seq == s.n && prevMatch:
	case seq == s.n:
		if s.n == 0 {
			s.fail(Modified, 0, at, "the prev of the first record is not 64 zeros")
			return
		}
		s.pend = &verdictPending{kind: pendPrev, seq: s.n, at: at, before: s.prevAt}
		s.accept(leaf, at, "")
		return
	case seq > s.n:
		if prevMatch {
			s.fail(Modified, s.n, at, fmt.Sprintf("seq %d where %d was expected, though the record chains to the one before: its seq was changed", seq, s.n))
			return
		}
		s.pend = &verdictPending{kind: pendHole, seq: seq, at: at, lo: s.n, hi: seq}
		s.acceptChainOnly(seq, leaf, at)
		return
	default:
		s.backwards(line, seq, prevMatch, leaf, at)
		return
	}

	// The common fields.
	if sp := lf.f[fV]; sp.typ != tNumber || string(line[sp.start:sp.end]) != "1" {
		s.fail(Modified, s.n, at, "v is not 1")
		return
	}
	if ts, ok := lf.raw(line, fTs); !ok || !tsShape(ts) {
		s.fail(Modified, s.n, at, "ts is not a time like "+TimeFormat)
		return
	}
	kindRaw, ok := lf.raw(line, fKind)
	if !ok || len(kindRaw) == 0 {
		s.fail(Modified, s.n, at, "the record has no kind")
		return
	}
	kind := kindName(kindRaw)
	logRaw, ok := lf.raw(line, fLog)
	if !ok || len(logRaw) == 0 {
		s.fail(Modified, s.n, at, "the record has no log (origin)")
		return
	}
	if s.origin == nil {
		if lf.f[fLog].esc {
			s.fail(Modified, s.n, at, "the origin holds escaped characters")
			return
		}
		s.origin = bytes.Clone(logRaw)
		s.matchTrusted()
		if importing {
			s.dropUncheckable()
		}
	} else if !bytes.Equal(logRaw, s.origin) {
		s.fail(Modified, s.n, at, fmt.Sprintf("log is %q, not the log's origin %q", logRaw, s.origin))
		return
	}
	if s.sealed {
		s.fail(Modified, s.n, at, "a record follows segment_sealed in the same segment")
		return
	}
	if s.segStart && s.segIdx > 0 && !s.prevSealed {
		s.fail(Modified, s.n-1, s.prevAt, fmt.Sprintf("segment %s does not end with segment_sealed, yet segment %s follows", s.prevSeg, s.seg.name))
		return
	}
	if s.segStart && s.segIdx > 0 && kind != KindSegmentOpened {
		s.fail(Modified, s.n, at, fmt.Sprintf("segment %s does not begin with segment_opened", s.seg.name))
		return
	}

	// Kinds the verifier follows.
	switch kind {
	case KindCheckpoint:
		if !s.checkpointRecord(line, at) {
			return
		}
	case KindSegmentOpened:
		if !s.segStart || s.segIdx == 0 && !importing {
			s.fail(Modified, s.n, at, "segment_opened is not the first line of a later segment")
			return
		}
		prevName, ok1 := lf.str(line, fPrevious)
		own, ok2 := lf.str(line, fSegment)
		if !ok1 || !ok2 || !sameSegment(prevName, s.prevSeg) || !sameSegment(own, s.seg.name) {
			s.fail(Modified, s.n, at, fmt.Sprintf("segment_opened names segment %q after %q; it is %s after %s", own, prevName, s.seg.name, s.prevSeg))
			return
		}
	case KindKeyRotated:
		s.keyRotated(line)
	case KindRetentionPrune:
		var rp struct {
			Through *uint64 `json:"through_seq"`
		}
		if json.Unmarshal(line, &rp) == nil && rp.Through != nil {
			s.pruneThrough = rp.Through
		}
	case KindSegmentSealed:
		if !s.haveCp || s.lastCp != s.n-1 || s.prevKind != KindCheckpoint {
			s.fail(Unsigned, s.n, at, "segment_sealed is not preceded by a checkpoint: the writer signs every segment before sealing it")
			return
		}
		next, ok1 := lf.str(line, fNext)
		own, ok2 := lf.str(line, fSegment)
		if !ok1 || !ok2 || !sameSegment(next, SegmentName(s.n+1)) || !sameSegment(own, s.seg.name) {
			s.fail(Modified, s.n, at, fmt.Sprintf("segment_sealed names segment %q and next %q; it is %s, and the next is %s", own, next, s.seg.name, SegmentName(s.n+1)))
			return
		}
		s.sealed = true
	}
	if kind != KindCheckpoint {
		s.sinceCp++
		if s.sinceCp > s.maxUnsigned {
			from := uint64(0)
			if s.haveCp {
				from = s.lastCp
			}
			s.fail(Unsigned, s.n, at, fmt.Sprintf("records %d…%d have no checkpoint (the writer signs at least every 1,000 records): checkpoints were removed and the chain recomputed, or the writer could not sign", from, s.n))
			return
		}
	}
	s.checkTrusted(at)
	if s.problem != nil {
		return
	}
	s.accept(leaf, at, kind)
}

// kindName returns the kind as a string, without allocating for the kinds
// the verifier knows.
func kindName(b []byte) string {
	switch string(b) {
	case KindLogOpened:
		return KindLogOpened
	case KindLogClosed:
		return KindLogClosed
	case KindPolicyLoaded:
		return KindPolicyLoaded
	case KindDecision:
		return KindDecision
	case KindOutcome:
		return KindOutcome
	case KindCheckpoint:
		return KindCheckpoint
	case KindSegmentOpened:
		return KindSegmentOpened
	case KindSegmentSealed:
		return KindSegmentSealed
	}
	return string(b)
}

// sameSegment compares segment names as records write them, with or without
// the ".jsonl".
func sameSegment(a, b string) bool {
	return strings.TrimSuffix(a, segmentExt) == strings.TrimSuffix(b, segmentExt)
}

// tsShape checks "2006-01-02T15:04:05.000000Z".
func tsShape(b []byte) bool {
	if len(b) != len(TimeFormat) {
		return false
	}
	for i, c := range b {
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' {
				return false
			}
		case 13, 16:
			if c != ':' {
				return false
			}
		case 19:
			if c != '.' {
				return false
			}
		case 26:
			if c != 'Z' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func (s *logScan) accept(leaf Hash, at lineLoc, kind string) {
	_ = s.tree.Append(leaf) // cannot fail: the range starts at 0 and grows by one
	s.cachedValid = false
	s.prev = leaf
	hex.Encode(s.prevHex[:], leaf[:])
	s.prevAt = at
	s.prevKind = kind
	s.n++
	s.spans[len(s.spans)-1].count++
}

// acceptChainOnly follows the chain past a hole: the tree no longer
// matches the seqs, so only seq and prev are checked from here on.
func (s *logScan) acceptChainOnly(seq uint64, leaf Hash, at lineLoc) {
	s.chainOnly = true
	s.prev = leaf
	hex.Encode(s.prevHex[:], leaf[:])
	s.prevAt = at
	s.n = seq + 1
}

// checkpointRecord checks a checkpoint record at seq s.n; false when it set
// a problem.
func (s *logScan) checkpointRecord(line []byte, at lineLoc) bool {
	lf := &s.fields
	size, ok := lf.uint(line, fSize)
	if !ok || size != s.n {
		s.fail(Modified, s.n, at, fmt.Sprintf("the checkpoint's size is not its seq %d", s.n))
		return false
	}
	rootB64, ok := lf.raw(line, fRoot)
	var root Hash
	var buf [33]byte
	if !ok || len(rootB64) != base64.StdEncoding.EncodedLen(len(root)) {
		s.fail(Modified, s.n, at, "the checkpoint's root is not a base64 SHA-256 hash")
		return false
	}
	if n, err := base64.StdEncoding.Strict().Decode(buf[:], rootB64); err != nil || n != len(root) {
		s.fail(Modified, s.n, at, "the checkpoint's root is not a base64 SHA-256 hash")
		return false
	}
	copy(root[:], buf[:])
	text, ok := lf.str(line, fNote)
	if !ok {
		s.fail(Modified, s.n, at, "the checkpoint record has no note")
		return false
	}
	c, _, err := OpenCheckpoint([]byte(text), s.keys)
	if err != nil {
		cat, detail := sigCategory(err)
		if cat == "" {
			s.fail(Modified, s.n, at, "the checkpoint note is malformed: "+err.Error())
			return false
		}
		// Whether the line was changed or signed badly, the next line tells.
		s.pend = &verdictPending{kind: pendSig, seq: s.n, at: at, cat: cat, detail: "the checkpoint is " + detail}
		if cat == BadSignature {
			s.pend.detail = "the checkpoint's " + strings.TrimPrefix(detail, "the ")
		} else {
			s.pend.detail += s.unknownKeyHint(text)
		}
		return true
	}
	switch {
	case c.Origin != string(s.origin):
		s.fail(Modified, s.n, at, fmt.Sprintf("the checkpoint is of another log (%s)", c.Origin))
		return false
	case c.Size != size || c.Root != root:
		s.fail(Modified, s.n, at, "the checkpoint record's size or root differs from its signed note")
		return false
	}
	if computed := s.root(); computed != c.Root && s.imported && !s.importAuth {
		s.fail(Modified, s.importSeq, s.importAt, fmt.Sprintf("the tree state in segment_opened %d (the first record kept) is not the one the signer had: the signed checkpoint of size %d does not match it and records %d…%d", s.importSeq, c.Size, s.importSeq, s.n-1))
		return false
	} else if computed != c.Root {
		from := uint64(0)
		if s.haveCp {
			from = s.lastCp
		}
		s.fail(Modified, s.n, at, fmt.Sprintf("the signed checkpoint of size %d does not match records 0…%d: one of records %d…%d was changed and the chain recomputed after it", c.Size, s.n-1, from, s.n-1))
		return false
	}
	s.haveCp, s.lastCp, s.sinceCp = true, s.n, 0
	s.importAuth = true
	if len(s.pendingKeys) > 0 {
		s.learnKeys(text)
	}
	s.newest = &CheckpointInfo{Size: c.Size, Root: base64.StdEncoding.EncodeToString(c.Root[:]), Source: fmt.Sprintf("checkpoint record %d", s.n), Note: text}
	return true
}

func (s *logScan) root() Hash {
	if !s.cachedValid || s.rootAt != s.tree.Size() {
		r, _ := s.tree.Root()
		s.cachedRoot, s.rootAt, s.cachedValid = r, s.tree.Size(), true
	}
	return s.cachedRoot
}

// finish checks what only the end of the log shows.
func (s *logScan) finish() {
	if s.pend != nil {
		s.eofPending()
		return
	}
	if s.chainOnly {
		return
	}
	at := lineLoc{}
	if s.lines > 0 {
		at = s.prevAt
	}
	if s.imported && !s.importAuth {
		s.fail(Unsigned, s.importSeq, s.importAt, fmt.Sprintf("the log starts at seq %d (its first segments were deleted) and no signed checkpoint after segment_opened %d vouches for the tree state it carries", s.importSeq, s.importSeq))
		return
	}
	if s.imported && (s.pruneThrough == nil || *s.pruneThrough != s.importSeq-1) {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("no retention_prune record accounts for records 0…%d: they were deleted by something other than the writer's retention (or it crashed right after deleting them)", s.importSeq-1))
	}
	if s.sealed && s.emptyLast == "" {
		// The writer seals a segment (checkpoint, segment_sealed) before it
		// creates the next one: a crash in between leaves this, and the next
		// start creates the segment. Records cut off after a seal are like
		// any cut-off tail: only a checkpoint kept elsewhere can tell, which
		// the checks below do.
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("the last segment is sealed and the next, %s, does not exist yet (a rotation was interrupted; the writer completes it when it starts)", SegmentName(s.n)))
	}
	if s.origin == nil {
		// No record at all: every checkpoint of this folder covers
		// records that are gone.
		s.matchTrusted()
	}
	for _, t := range s.mine {
		if !s.retryTrusted(t) {
			s.late = append(s.late, t.sig)
			continue
		}
		switch {
		case t.cp.Size == s.n:
			s.checkOne(t, at)
		case t.cp.Size > s.n:
			s.trustedFail(t, &Problem{Category: Truncated, Seq: s.n, Segment: at.seg, Line: at.line,
				Detail: fmt.Sprintf("%s covers %s records, the log holds %s: records %d…%d were cut off", t.res.Source, groupDigits(t.cp.Size), groupDigits(s.n), s.n, t.cp.Size-1)})
		}
		if s.problem != nil {
			return
		}
	}
	s.mine = nil
	if s.file != nil && s.file.res.Status == StatusOK && s.newest != nil && s.file.cp.Size < s.newest.Size {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("the checkpoint file (size %d) is older than the newest checkpoint record (size %d)", s.file.cp.Size, s.newest.Size))
	}
	if s.file == nil && s.lines > 0 {
		s.rep.Notes = append(s.rep.Notes, "the log has no checkpoint file")
	}
}
