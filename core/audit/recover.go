package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrDamaged is what a *DamageError is: the log was modified, cut or
// reordered (tampering or corruption, not a crash), so Open refuses it
// unless Options.AcceptDamage.
var ErrDamaged = errors.New("audit log is damaged")

// Damage categories, as docs/audit-format.md names the verdicts.
const (
	damageModified     = "MODIFIED"
	damageDeleted      = "DELETED"
	damageGap          = "GAP"
	damageReordered    = "REORDERED"
	damageDuplicate    = "DUPLICATE"
	damageTruncated    = "TRUNCATED"
	damageFork         = "FORK"
	damageBadSignature = "BAD_SIGNATURE"
	damageUnsigned     = "UNSIGNED"
)

// DamageError describes the first damaged record Open found.
type DamageError struct {
	Folder   string // the log folder's name
	Segment  string // the segment file (empty for the checkpoint file)
	Seq      uint64 // the first bad seq: as verify reports it (Problem.Seq)
	Category string // MODIFIED, DELETED, GAP, REORDERED, DUPLICATE, TRUNCATED, FORK, BAD_SIGNATURE, UNSIGNED
	Detail   string
}

func (e *DamageError) Error() string {
	where := "segment " + e.Segment
	if e.Segment == "" {
		where = "checkpoint file"
	}
	return fmt.Sprintf("audit log %s is damaged: %s at seq %d (%s): %s; start with --audit-accept-damage to continue the log after it",
		e.Folder, e.Category, e.Seq, where, e.Detail)
}

// Is makes errors.Is(err, ErrDamaged) true.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// recovery is a log folder as Open found it: the chain and the tree rebuilt
// from the lines read (from the tree state of a segment_opened on, or from
// the first line), where to append, and what recovery must report.
type recovery struct {
	folder string
	keys   note.Verifiers

	origin  string // "" while no record was read
	records uint64 // lines read: the leaves of the tree, the seq of the next record
	last    Hash   // leaf hash of the last line
	tree    *Tree
	expect  uint64 // the seq the next line should have (records, unless damaged)

	lastNote    string // the note of the newest checkpoint record
	lastKind    string // of the last record read
	lastNext    string // "next" of the last record, when it is segment_sealed
	lastSegment string // the last segment holding a record

	current segmentRef // the newest segment file (name "" when there is none)
	size    int64      // its length, a torn tail cut off
	opened  time.Time  // ts of its first record (zero when empty)

	torn       *tornTail
	damage     *DamageError // the first damage in the segments
	fileDamage *DamageError // the checkpoint file's
	jumpFrom   *uint64      // the seq expected where seq last jumped forward
	pending    *pendingVerdict

	// A log whose first segments were deleted starts from the tree state
	// in segment_opened at importSeq; a signed checkpoint after it must
	// vouch for it (importAuth).
	imported      bool
	importAuth    bool
	importSeq     uint64
	importSegment string
	// resumed: a fast start read only the segments from importSegment on,
	// the log continuing before it (recoverLog).
	resumed bool

	trusted     *Checkpoint // the checkpoint file, when signed by a known key
	trustedRoot *Hash       // root of the first trusted.Size leaves, once read
}

// tornTail is the partial last line of the newest segment, left by a crash
// in the middle of a write.
type tornTail struct {
	segment string
	offset  int64 // bytes kept
	length  int64 // bytes moved aside
}

// maxRecordLine is the longest line (without "\n") a record may have, as
// verify reads them (DefaultMaxLine); Append refuses longer entries.
const maxRecordLine = 16 << 20

// pendingVerdict is damage found at line n whose verdict line n+1 decides
// (docs/audit-format.md, "Verification"): a prev that does not chain says
// line n-1 was changed if line n+1 chains to line n, else line n itself; a
// checkpoint whose signature fails is BAD_SIGNATURE if line n+1 chains to
// it, else MODIFIED.
type pendingVerdict struct {
	damage *DamageError
	seq    uint64 // n
	leaf   Hash   // leaf hash of line n
	badSig bool
}

// maxResumeScans bounds the fast starts recoverLog tries (from the newest
// segment that begins with a tree state, then from the one before it)
// before it reads the whole log.
const maxResumeScans = 2

// recoverLog reads the log folder at path and checks what it reads: each
// line (canonical form, v, seq, prev, log, segment boundaries, checkpoint
// records against the tree and the known keys) and the checkpoint file. It
// changes nothing on disk. Damage is reported in the result, I/O errors as
// the error. Damage before a tamper_accepted record that continues the
// chain (a writer accepted it with AcceptDamage) is not reported again.
//
// It does not re-read the whole log: it starts from the newest segment
// that begins with segment_opened carrying the tree state (the chain head,
// seq and compact range of every record before it) and reads that segment
// and the ones after it (an empty or torn newest segment left by a crash
// during rotation). The state is taken once a checkpoint record in the
// segments read, signed by a known key, matches the tree computed from it
// (docs/audit-format.md, "Recovery at start"); when none does and nothing
// is damaged (the segment has no checkpoint yet, or only ones signed by
// keys this process does not have), it starts one segment earlier, and
// after maxResumeScans such starts it reads every segment, as it does for
// a log of one segment or one whose segments carry no tree state.
// Verifying the segments before is Verify's job.
func recoverLog(ctx context.Context, path, folder string, keys Keys) (*recovery, error) {
	segs, err := listSegments(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read log folder: %w", err)
	}
	known := []note.Verifier{keys.Verifier}
	for _, k := range keys.Retired {
		known = append(known, k.Verifier)
	}
	verifiers := verifierList(known...)
	buf := make([]byte, 0, 64<<10)
	for k, scans := len(segs)-1, 0; k > 0 && scans < maxResumeScans; k-- {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit: recovery: %w", err)
		}
		st, ok := readOpenedState(filepath.Join(path, segs[k].name), segs[k])
		if !ok {
			continue // empty, torn, damaged or without tree: start before it
		}
		scans++
		r := &recovery{folder: folder, keys: verifiers}
		if err := r.readCheckpointFile(filepath.Join(path, CheckpointFile)); err != nil {
			return nil, err
		}
		r.importState(st, segs[k])
		if prev := segs[k-1].name; prev != st.head.Previous {
			r.damageAt(segs[k].name, st.head.Seq, damageGap, "segment_opened of %s names %s as the segment before it, found %s (a segment is missing or renamed)", segs[k].name, st.head.Previous, prev)
		}
		r.noteTrustedRoot()
		if buf, err = r.scanSegments(ctx, path, segs[k:], buf); err != nil {
			return nil, err
		}
		r.checkTrusted()
		if r.damage != nil || r.fileDamage != nil || r.importAuth {
			r.resumed = true
			if r.damage == nil {
				r.damage = r.fileDamage
			}
			return r, nil
		}
	}
	r := &recovery{folder: folder, keys: verifiers, tree: NewTree()}
	if err := r.readCheckpointFile(filepath.Join(path, CheckpointFile)); err != nil {
		return nil, err
	}
	if len(segs) > 0 && segs[0].first > 0 {
		if st, ok := readOpenedState(filepath.Join(path, segs[0].name), segs[0]); ok {
			r.importState(st, segs[0])
		}
	}
	r.noteTrustedRoot()
	if _, err = r.scanSegments(ctx, path, segs, buf); err != nil {
		return nil, err
	}
	if r.imported && !r.importAuth {
		r.damageAt(segs[0].name, r.importSeq, damageUnsigned, "the log starts at seq %d (its first segments were deleted) and no signed checkpoint vouches for the tree state of its segment_opened", r.importSeq)
	}
	r.checkTrusted()
	if r.damage == nil {
		r.damage = r.fileDamage
	}
	return r, nil
}

// scanSegments reads segs in order, the first as the first segment read
// and the last as the newest.
func (r *recovery) scanSegments(ctx context.Context, path string, segs []segmentRef, buf []byte) ([]byte, error) {
	for i, seg := range segs {
		if err := ctx.Err(); err != nil {
			return buf, fmt.Errorf("audit: recovery: %w", err)
		}
		var err error
		if buf, err = r.scanSegment(filepath.Join(path, seg.name), seg, i, i == len(segs)-1, buf); err != nil {
			return buf, fmt.Errorf("audit: recovery: %w", err)
		}
	}
	return buf, nil
}

// openedState is a segment's first record when it is segment_opened at
// the seq the segment's name stands for, carrying the tree state of the
// records before it.
type openedState struct {
	head openedHead
	prev Hash // head.Prev, decoded
	tree *Tree
}

// readOpenedState reads the first line of the segment at path as an
// openedState; ok is false when it is not one (the segment is empty or
// torn, its first record is damaged or carries no tree state).
func readOpenedState(path string, seg segmentRef) (st openedState, ok bool) {
	line, err := firstLine(path)
	if err != nil {
		return st, false
	}
	h, ts, err := parseOpenedHead(line)
	if err != nil || h.Seq != seg.first || seg.first == 0 {
		return st, false
	}
	if n, err := hex.Decode(st.prev[:], []byte(h.Prev)); err != nil || n != len(st.prev) || len(h.Prev) != 2*len(st.prev) {
		return st, false
	}
	tree, err := TreeFromState(ts)
	if err != nil {
		return st, false
	}
	st.head, st.tree = h, tree
	return st, true
}

// importState starts the chain and the tree from the state a segment's
// segment_opened carries, as if the records before it had been read: its
// prev link to them is not checked here; a later signed checkpoint vouches
// for the state (checkCheckpointRecord sets importAuth). Used for the
// first segment kept when the log's first segments were deleted
// (retention), and for the segment a fast start begins with. The line
// itself is then read and checked by scanSegment.
func (r *recovery) importState(st openedState, seg segmentRef) {
	h := st.head
	r.tree, r.records, r.expect, r.last = st.tree, h.Seq, h.Seq, st.prev
	r.lastKind, r.lastNext, r.lastSegment = KindSegmentSealed, seg.name, h.Previous
	r.imported, r.importSeq, r.importSegment = true, h.Seq, seg.name
}

// damageAt keeps the first damage found.
func (r *recovery) damageAt(segment string, seq uint64, category, format string, args ...any) {
	if r.damage == nil {
		r.damage = &DamageError{Folder: r.folder, Segment: segment, Seq: seq, Category: category, Detail: fmt.Sprintf(format, args...)}
	}
}

// fileDamageAt keeps the first damage of the checkpoint file.
func (r *recovery) fileDamageAt(seq uint64, category, format string, args ...any) {
	if r.fileDamage == nil {
		r.fileDamage = &DamageError{Folder: r.folder, Segment: "", Seq: seq, Category: category, Detail: fmt.Sprintf(format, args...)}
	}
}

// readCheckpointFile reads the log's checkpoint file, if any: the newest
// checkpoint this log published, which the log must still extend.
func (r *recovery) readCheckpointFile(path string) error {
	msg, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	c, _, err := OpenCheckpoint(msg, r.keys)
	var invalid *note.InvalidSignatureError
	var unverified *note.UnverifiedNoteError
	switch {
	case err == nil:
		r.trusted = &c
	case errors.As(err, &unverified):
		// Signed by a key this process does not have (rotated): not a
		// commitment it can check.
	case errors.As(err, &invalid):
		r.fileDamageAt(0, damageBadSignature, "the checkpoint file's signature does not verify")
	default:
		r.fileDamageAt(0, damageModified, "the checkpoint file: %v", err)
	}
	return nil
}

func (r *recovery) noteTrustedRoot() {
	if r.trusted != nil && r.trustedRoot == nil && r.tree.Size() == r.trusted.Size {
		root, err := r.tree.Root()
		if err == nil {
			r.trustedRoot = &root
		}
	}
}

// checkTrusted compares the log with the checkpoint file: it may not cover
// more records than the log holds, nor another prefix.
func (r *recovery) checkTrusted() {
	c := r.trusted
	switch {
	case c == nil:
	case r.origin != "" && c.Origin != r.origin:
		r.fileDamageAt(0, damageFork, "the checkpoint file is of log %s, the log is %s", c.Origin, r.origin)
	case r.imported && c.Size < r.importSeq:
		// It covers only records before the ones read (deleted, or in
		// segments a fast start does not read): nothing to check its root
		// against. It is no larger than the log.
	case c.Size > r.records:
		r.fileDamageAt(r.records, damageTruncated, "the checkpoint file covers %d records, the log holds %d", c.Size, r.records)
	case r.trustedRoot == nil || *r.trustedRoot != c.Root:
		r.fileDamageAt(c.Size, damageFork, "the checkpoint file's root for %d records differs from the log's", c.Size)
	}
}

// scanSegment reads one segment line by line. In the newest segment, a
// last line without "\n", or a last line that is not JSON at all, is a torn
// tail; anything else wrong is damage.
func (r *recovery) scanSegment(path string, seg segmentRef, index int, newest bool, buf []byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return buf, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return buf, err
	}
	size := info.Size()
	var gap *DamageError // its seq is that of the segment's first record, once read
	if seg.first != r.expect && r.damage == nil {
		r.damageAt(seg.name, seg.first, damageGap, "segment %s should be named %s (a segment is missing or renamed)", seg.name, SegmentName(r.expect))
		gap = r.damage
	}
	if index > 0 && size > 0 {
		switch {
		case r.lastKind != KindSegmentSealed:
			r.damageAt(r.lastSegment, r.expect-1, damageModified, "segment %s does not end with segment_sealed", r.lastSegment)
		case r.lastNext != seg.name:
			r.damageAt(seg.name, r.expect, damageGap, "segment_sealed names %s as the next segment, found %s", r.lastNext, seg.name)
		}
	}
	if newest {
		r.current, r.size, r.opened = seg, 0, time.Time{}
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	for lineNo := 0; ; lineNo++ {
		var (
			line []byte
			long *longLine
		)
		line, buf, long, err = readLine(br, buf)
		if err != nil && err != io.EOF {
			return buf, err
		}
		if len(line) == 0 && long == nil {
			break
		}
		n, complete := int64(len(line)), len(line) > 0 && line[len(line)-1] == '\n'
		if long != nil {
			n, complete = long.n, long.complete
		}
		end := off + n
		body := line
		if complete && long == nil {
			body = line[:len(line)-1]
		}
		if newest && end == size && (!complete || long == nil && !json.Valid(body)) {
			r.torn = &tornTail{segment: seg.name, offset: off, length: n}
			break
		}
		if !complete {
			r.damageAt(seg.name, r.expect, damageModified, "segment %s ends inside a line", seg.name)
		}
		var (
			leaf Hash
			h    recordHead
			perr error
		)
		if long != nil {
			leaf, perr = long.leaf, fmt.Errorf("longer than %d bytes", maxRecordLine)
		} else {
			leaf = LeafHash(body)
			h, perr = parseRecordLine(body)
		}
		r.check(seg, lineNo, body, h, perr, leaf)
		if gap != nil && lineNo == 0 && perr == nil && h.seq >= 0 {
			gap.Seq = uint64(h.seq)
		}
		if err := r.tree.Append(leaf); err != nil {
			return buf, err
		}
		r.last = leaf
		r.records++
		r.noteTrustedRoot()
		r.lastSegment = seg.name
		if newest && lineNo == 0 {
			r.opened, _ = time.Parse(TimeFormat, h.ts)
		}
		off = end
	}
	if newest {
		r.size = off
	}
	return buf, nil
}

// check checks one line against the chain so far; after damage, the chain
// is followed from the damaged line on, so that the rest of the log is
// still read (AcceptDamage continues after the last line).
func (r *recovery) check(seg segmentRef, lineNo int, body []byte, h recordHead, perr error, leaf Hash) {
	seq := r.expect
	defer func() { r.expect = seq + 1 }()
	chains := perr == nil && h.prev == r.last.String()
	if p := r.pending; p != nil {
		r.pending = nil
		if p.damage == r.damage && !chains {
			if p.badSig {
				p.damage.Category = damageModified
				p.damage.Detail = fmt.Sprintf("checkpoint record %d was changed (the next line does not chain to it)", p.seq)
			} else {
				p.damage.Seq = p.seq
				p.damage.Detail = fmt.Sprintf("prev of seq %d was changed (it does not chain, nor does the next line to it)", p.seq)
			}
		}
	}
	prevKind := r.lastKind
	if perr != nil {
		r.lastKind, r.lastNext = "", ""
		what := "not canonical JSON"
		if body != nil && !json.Valid(body) {
			what = "not JSON"
		}
		r.damageAt(seg.name, seq, damageModified, "the line after seq %s is %s: %v", prevSeqText(seq), what, perr)
		return
	}
	r.lastKind, r.lastNext = h.kind, ""
	if h.kind == KindSegmentSealed {
		r.lastNext = h.next
	}
	jumpFrom := r.jumpFrom
	r.jumpFrom = nil
	switch {
	case h.seq < 0:
		r.damageAt(seg.name, seq, damageModified, "negative seq %d", h.seq)
		return
	case h.kind == KindTamperAccepted && uint64(h.seq) == r.records && chains:
		// A writer continued the damaged log here (AcceptDamage): the
		// records before are not vouched for, the chain starts again.
		r.damage = nil
	case uint64(h.seq) != seq && chains:
		r.damageAt(seg.name, seq, damageModified, "seq %d chains to the line before it but says %d", seq, h.seq)
	case uint64(h.seq) > seq:
		r.damageAt(seg.name, uint64(h.seq), damageDeleted, "seq jumps from %s to %d", prevSeqText(seq), h.seq)
		from := seq
		r.jumpFrom = &from
	case jumpFrom != nil && uint64(h.seq) == *jumpFrom && r.damage != nil && r.damage.Category == damageDeleted && r.damage.Seq == seq-1:
		// The records "missing" at the jump come now: moved, not deleted.
		r.damage.Category, r.damage.Seq = damageReordered, uint64(h.seq)
		r.damage.Detail = fmt.Sprintf("seq %d comes after seq %d", h.seq, seq-1)
	case uint64(h.seq) < seq && leaf == r.last:
		r.damageAt(seg.name, uint64(h.seq), damageDuplicate, "seq %d repeats the line before it", h.seq)
	case uint64(h.seq) < seq:
		r.damageAt(seg.name, uint64(h.seq), damageReordered, "seq %d comes after seq %s", h.seq, prevSeqText(seq))
	case !chains:
		bad := seq
		if seq > 0 {
			bad = seq - 1
		}
		before := r.damage
		r.damageAt(seg.name, bad, damageModified, "prev of seq %d is not the leaf hash of seq %d: seq %d was changed", seq, bad, bad)
		if before == nil && seq > 0 {
			r.pending = &pendingVerdict{damage: r.damage, seq: seq, leaf: leaf}
		}
	}
	seq = uint64(h.seq)
	switch {
	case h.v != FormatVersion:
		r.damageAt(seg.name, seq, damageModified, "seq %d has format version %d", seq, h.v)
	case r.origin != "" && h.log != r.origin:
		r.damageAt(seg.name, seq, damageModified, "seq %d is of log %q, not %q", seq, h.log, r.origin)
	case !validTime(h.ts):
		r.damageAt(seg.name, seq, damageModified, "seq %d has ts %q", seq, h.ts)
	}
	if r.origin == "" {
		r.origin = h.log
	}
	switch {
	case lineNo == 0 && seg.first > 0 && (h.kind != KindSegmentOpened || h.previous != r.lastSegment || h.segment != seg.name):
		r.damageAt(seg.name, seq, damageModified, "seq %d, the first of segment %s, is not its segment_opened after %s", seq, seg.name, r.lastSegment)
	case lineNo > 0 && prevKind == KindSegmentSealed:
		r.damageAt(seg.name, seq, damageModified, "seq %d follows segment_sealed in segment %s", seq, seg.name)
	case h.kind == KindSegmentSealed && prevKind != KindCheckpoint:
		r.damageAt(seg.name, seq, damageUnsigned, "segment_sealed %d does not follow a checkpoint", seq)
	}
	if h.kind == KindCheckpoint {
		r.checkCheckpointRecord(seg, seq, h, leaf)
		r.lastNote = h.note
	}
}

// checkCheckpointRecord checks a checkpoint record against the tree of the
// lines before it.
func (r *recovery) checkCheckpointRecord(seg segmentRef, seq uint64, h recordHead, leaf Hash) {
	if r.damage != nil {
		return // the tree no longer matches the seqs
	}
	root, err := r.tree.Root()
	if err != nil {
		r.damageAt(seg.name, seq, damageModified, "checkpoint: %v", err)
		return
	}
	if r.imported && !r.importAuth && h.have&hasRoot != 0 && h.size == int64(seq) && h.root != base64.StdEncoding.EncodeToString(root[:]) {
		r.damageAt(r.importSegment, r.importSeq, damageModified, "the tree state in segment_opened %d (where recovery starts reading) is not the one the signer had, or the records after it were changed and the chain recomputed: checkpoint record %d does not match it", r.importSeq, seq)
		return
	}
	if h.have&(hasSize|hasRoot|hasNote) != hasSize|hasRoot|hasNote || h.size != int64(seq) || h.root != base64.StdEncoding.EncodeToString(root[:]) {
		r.damageAt(seg.name, seq, damageModified, "checkpoint record %d: size or root is not that of the records before it", seq)
		return
	}
	c, _, err := OpenCheckpoint([]byte(h.note), r.keys)
	verified := err == nil
	var invalid *note.InvalidSignatureError
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &invalid):
		r.damageAt(seg.name, seq, damageBadSignature, "checkpoint record %d: the signature does not verify", seq)
		r.pending = &pendingVerdict{damage: r.damage, seq: seq, leaf: leaf, badSig: true}
		return
	case errors.As(err, &unverified):
		// Signed by a key this process does not have: check the body only.
		body, _, ok := strings.Cut(h.note, "\n\n")
		if !ok {
			r.damageAt(seg.name, seq, damageModified, "checkpoint record %d: malformed note", seq)
			return
		}
		c, err = ParseCheckpointBody(body + "\n")
	}
	if err != nil {
		r.damageAt(seg.name, seq, damageModified, "checkpoint record %d: %v", seq, err)
		return
	}
	if c.Origin != r.origin || c.Size != seq || c.Root != root {
		r.damageAt(seg.name, seq, damageModified, "checkpoint record %d: the note is not the checkpoint of the records before it", seq)
		return
	}
	// Only a signature by a known key vouches for an imported tree state:
	// anyone can sign a note with a key of their own.
	if verified {
		r.importAuth = true
	}
}

func prevSeqText(seq uint64) string {
	if seq == 0 {
		return "(none)"
	}
	return strconv.FormatUint(seq-1, 10)
}

// validTime checks that ts has the shape of TimeFormat
// (2006-01-02T15:04:05.000000Z), as verify does.
func validTime(ts string) bool {
	const shape = "dddd-dd-ddTdd:dd:dd.ddddddZ"
	if len(ts) != len(shape) {
		return false
	}
	for i := 0; i < len(shape); i++ {
		if shape[i] == 'd' && (ts[i] < '0' || ts[i] > '9') || shape[i] != 'd' && ts[i] != shape[i] {
			return false
		}
	}
	return true
}

// longLine is a line longer than maxRecordLine: it is hashed, not kept.
type longLine struct {
	n        int64 // its length, with its "\n"
	complete bool  // it ends with "\n"
	leaf     Hash
}

// readLine returns the next line with its "\n" (without one at the end of
// the file), and io.EOF after the last. The line is valid until the next
// call; buf is scratch space for lines longer than the reader's buffer. A
// line longer than maxRecordLine is returned as long instead.
func readLine(br *bufio.Reader, buf []byte) (line, scratch []byte, long *longLine, err error) {
	line, err = br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, buf, nil, err
	}
	buf = append(buf[:0], line...)
	for {
		line, err = br.ReadSlice('\n')
		if len(buf)+len(line) > maxRecordLine+1 {
			long, err := hashLongLine(br, buf, line, err)
			return nil, buf, long, err
		}
		buf = append(buf, line...)
		if err != bufio.ErrBufferFull {
			return buf, buf, nil, err
		}
	}
}

// hashLongLine reads the rest of a line too long to keep (start and chunk
// read so far) and returns its leaf hash.
func hashLongLine(br *bufio.Reader, start, chunk []byte, err error) (*longLine, error) {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(start)
	long := &longLine{n: int64(len(start))}
	for {
		long.n += int64(len(chunk))
		if err == nil { // the chunk ends the line
			chunk = chunk[:len(chunk)-1]
			long.complete = true
		}
		h.Write(chunk)
		if err != bufio.ErrBufferFull {
			h.Sum(long.leaf[:0])
			return long, err
		}
		chunk, err = br.ReadSlice('\n')
	}
}
