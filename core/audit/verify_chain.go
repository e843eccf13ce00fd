package audit

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// The chain's verdicts: which category a broken link is, decided (where
// the line alone cannot tell) by the line after it.

// lineLoc is where a line is.
type lineLoc struct {
	seg  string
	line int64
}

// verdictPending is a problem whose category the next line decides.
type verdictPending struct {
	kind   int
	seq    uint64
	at     lineLoc
	before lineLoc  // pendPrev: where record seq−1 is
	cat    Category // pendSig
	detail string   // pendSig
	lo, hi uint64   // pendHole: the missing seqs [lo, hi)
}

const (
	// pendSig: a checkpoint record's signature failed; if the next line's
	// prev does not match it, the line was changed (MODIFIED), else the
	// signature itself is bad.
	pendSig = iota
	// pendPrev: record seq's prev does not match record seq−1; if record
	// seq+1 chains to record seq, record seq−1 was changed, else record
	// seq was.
	pendPrev
	// pendHole: seq jumped forward; if a missing seq turns up later, the
	// records were reordered, else they were deleted.
	pendHole
)

// resolve decides a pending problem with the line after it.
func (s *logScan) resolve(ok bool, seq uint64, prevMatch bool, leaf Hash, at lineLoc) {
	p := s.pend
	switch p.kind {
	case pendSig:
		if ok && seq == s.n && !prevMatch {
			s.fail(Modified, p.seq, p.at, "the checkpoint record was changed: the next record's prev does not match it, and "+p.detail)
			return
		}
		s.fail(p.cat, p.seq, p.at, p.detail)
	case pendPrev:
		switch {
		case ok && seq == s.n && prevMatch:
			s.fail(Modified, p.seq-1, p.before, fmt.Sprintf("record %d was changed: record %d's prev does not match it (and record %d chains to record %d)", p.seq-1, p.seq, p.seq+1, p.seq))
		case ok && seq == s.n:
			s.fail(Modified, p.seq, p.at, fmt.Sprintf("record %d was changed: its prev does not match record %d, and record %d's prev does not match it", p.seq, p.seq-1, p.seq+1))
		default:
			s.fail(Modified, p.seq-1, p.before, fmt.Sprintf("record %d's prev does not match record %d: record %d was changed, or record %d's prev", p.seq, p.seq-1, p.seq-1, p.seq))
		}
	case pendHole:
		switch {
		case ok && seq >= p.lo && seq < p.hi:
			s.fail(Reordered, seq, at, fmt.Sprintf("record %d is out of place: it comes after record %d (%s line %d), where record %d was expected", seq, p.hi, p.at.seg, p.at.line, p.lo))
		case ok && seq == s.n && prevMatch:
			s.acceptChainOnly(seq, leaf, at)
		default:
			s.holeProblem()
		}
	}
}

// eofPending decides a pending problem when no line follows.
func (s *logScan) eofPending() {
	p := s.pend
	if p == nil {
		return
	}
	switch p.kind {
	case pendSig:
		s.fail(p.cat, p.seq, p.at, p.detail)
	case pendPrev:
		s.fail(Modified, p.seq-1, p.before, fmt.Sprintf("record %d's prev does not match record %d: record %d was changed, or record %d's prev (no record follows to tell)", p.seq, p.seq-1, p.seq-1, p.seq))
	case pendHole:
		s.holeProblem()
	}
}

func (s *logScan) holeProblem() {
	p := s.pend
	what := fmt.Sprintf("records %d…%d are missing", p.lo, p.hi-1)
	if p.hi-p.lo == 1 {
		what = fmt.Sprintf("record %d is missing", p.lo)
	}
	s.fail(Deleted, p.hi, p.at, fmt.Sprintf("%s: seq jumps from %d to %d", what, p.lo-min(p.lo, 1), p.hi))
	if p.lo == 0 {
		s.problem.Detail = fmt.Sprintf("%s: the segment starts at seq %d", what, p.hi)
	}
}

// backwards handles a seq lower than expected.
func (s *logScan) backwards(line []byte, seq uint64, prevMatch bool, leaf Hash, at lineLoc) {
	if seq == s.n-1 && leaf == s.prev {
		s.fail(Duplicate, seq, at, fmt.Sprintf("the line repeats record %d (%s line %d) byte for byte", seq, s.prevAt.seg, s.prevAt.line))
		return
	}
	if prevMatch {
		s.fail(Modified, s.n, at, fmt.Sprintf("seq %d where %d was expected, though the record chains to the one before: its seq was changed", seq, s.n))
		return
	}
	orig, origAt, err := s.findLine(seq)
	switch {
	case err != nil:
		s.fail(Reordered, seq, at, fmt.Sprintf("record %d comes after record %d (the earlier record %d could not be read back: %v)", seq, s.n-1, seq, err))
	case bytes.Equal(orig, line):
		s.fail(Duplicate, seq, at, fmt.Sprintf("the line repeats record %d (%s line %d) byte for byte", seq, origAt.seg, origAt.line))
	default:
		s.fail(Reordered, seq, at, fmt.Sprintf("a record claiming seq %d comes after record %d; record %d (%s line %d) is another record", seq, s.n-1, seq, origAt.seg, origAt.line))
	}
}

// findLine reads back the line of record seq, already verified.
func (s *logScan) findLine(seq uint64) ([]byte, lineLoc, error) {
	for _, sp := range s.spans {
		if seq < sp.first || seq >= sp.first+sp.count {
			continue
		}
		f, err := os.Open(sp.path)
		if err != nil {
			return nil, lineLoc{}, err
		}
		defer f.Close()
		lr := boundedLines{r: bufio.NewReader(f), max: s.maxLine}
		for i := uint64(0); ; i++ {
			line, _, err := lr.next()
			if err != nil {
				return nil, lineLoc{}, err
			}
			if i == seq-sp.first {
				return bytes.Clone(line), lineLoc{sp.name, int64(i) + 1}, nil
			}
		}
	}
	return nil, lineLoc{}, fmt.Errorf("record %d not found", seq)
}

// segmentGap reports a segment whose name is not the next seq.
func (s *logScan) segmentGap(first uint64, at lineLoc) {
	want := SegmentName(s.n)
	hint := s.renamedHint()
	switch {
	case s.segIdx > 0 && !s.prevSealed && first == s.seg.seq && first > s.n:
		s.fail(Deleted, first, at, fmt.Sprintf("records %d…%d are missing from the end of segment %s (it does not end with segment_sealed); the next segment %s starts at %d", s.n, first-1, s.prevSeg, s.seg.name, first))
	case s.segIdx == 0 && first == s.seg.seq && s.n == 0:
		s.fail(Gap, first, at, fmt.Sprintf("records 0…%d are missing: the log starts with segment %s (segment %s is missing%s)", first-1, s.seg.name, want, hint))
	case first == s.n:
		s.fail(Gap, s.n, at, fmt.Sprintf("segment %s holds records from %d: it was renamed (its name must be %s)", s.seg.name, s.n, want))
	case first > s.n:
		s.fail(Gap, first, at, fmt.Sprintf("records %d…%d are missing: segment %s is missing%s; the next segment is %s", s.n, first-1, want, hint, s.seg.name))
	default:
		s.fail(Gap, s.n, at, fmt.Sprintf("segment %s starts at seq %d, but %s (records from %d) was expected%s", s.seg.name, first, want, s.n, hint))
	}
}

// renamedHint looks for the missing segment under another name.
func (s *logScan) renamedHint() string {
	var found []string
	for i, sg := range s.lf.segs {
		if i == s.segIdx {
			continue
		}
		f, err := os.Open(sg.path)
		if err != nil {
			continue
		}
		lr := boundedLines{r: bufio.NewReader(f), max: s.maxLine}
		line, _, err := lr.next()
		var lf lineFields
		if err == nil && scanLine(line, &lf) == nil {
			if seq, ok := lf.uint(line, fSeq); ok && seq == s.n {
				found = append(found, sg.name)
			}
		}
		f.Close()
	}
	hint := ""
	if len(found) > 0 {
		hint = fmt.Sprintf("; %s starts at seq %d: renamed", strings.Join(found, ", "), s.n)
	}
	if len(s.lf.stray) > 0 {
		hint += fmt.Sprintf("; other files in the folder: %s", strings.Join(s.lf.stray, ", "))
	}
	return hint
}

// importTree starts the scan from the tree state of the first segment's
// segment_opened when the log's first segments were deleted (retention):
// the segment is the first present, its first record is segment_opened at
// seq = the segment's seq, carrying the tree state of that many records.
// False when it is not such a segment (a GAP then).
func (s *logScan) importTree(line []byte, seq uint64, at lineLoc) bool {
	if s.segIdx != 0 || s.n != 0 || seq != s.seg.seq || seq == 0 {
		return false
	}
	h, st, err := parseOpenedHead(line)
	if err != nil || h.Seq != seq || len(h.Prev) != len(s.prevHex) {
		return false
	}
	if _, err := hex.DecodeString(h.Prev); err != nil {
		return false
	}
	tree, err := TreeFromState(st)
	if err != nil {
		return false
	}
	s.tree, s.cachedValid = tree, false
	s.n = seq
	copy(s.prevHex[:], h.Prev)
	s.prevSeg, s.prevSealed = h.Previous, true
	s.spans[len(s.spans)-1].first = seq
	s.imported, s.importSeq, s.importAt = true, seq, at
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("records 0…%d were deleted (retention): the log starts with segment %s, from the tree state its segment_opened carries; its prev link to the deleted records cannot be checked, the next signed checkpoint vouches for the state", seq-1, s.seg.name))
	return true
}

// dropUncheckable sets aside the trusted checkpoints older than the first
// record kept: the leaves they cover are deleted.
func (s *logScan) dropUncheckable() {
	keep := s.mine[:0]
	for _, t := range s.mine {
		if t.cp.Size < s.n {
			s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("%s (size %d) covers only deleted records (the log starts at seq %d): it cannot be checked", t.res.Source, t.cp.Size, s.n))
			continue
		}
		keep = append(keep, t)
	}
	s.mine = keep
}
