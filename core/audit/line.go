package audit

import "errors"

// recordHead is what recovery reads back from a record line: the common
// fields and the few others it checks (checkpoints, segment boundaries).
type recordHead struct {
	v, seq   int64
	ts, kind string
	log      string
	prev     string

	size     int64  // checkpoint
	root     string // checkpoint
	note     string // checkpoint
	segment  string // segment_sealed, segment_opened
	next     string // segment_sealed
	previous string // segment_opened

	have uint16 // the fields seen (has*)
}

const (
	hasV uint16 = 1 << iota
	hasSeq
	hasTS
	hasKind
	hasLog
	hasPrev
	hasSize
	hasRoot
	hasNote
	hasSegment
	hasNext
	hasPrevious

	hasCommon = hasV | hasSeq | hasTS | hasKind | hasLog | hasPrev
)

// parseRecordLine checks that line (without its "\n") is one JSON object in
// the canonical form records are written in (RFC 8785 with integers only,
// as AppendCanonical produces; the verifier's one-pass scanLine decides) and
// returns its common fields and the few others recovery checks.
func parseRecordLine(line []byte) (recordHead, error) {
	var h recordHead
	var lf lineFields
	if err := scanLine(line, &lf); err != nil {
		return h, err
	}
	strs := []struct {
		slot int
		dst  *string
		has  uint16
	}{
		{fTs, &h.ts, hasTS}, {fKind, &h.kind, hasKind}, {fLog, &h.log, hasLog}, {fPrev, &h.prev, hasPrev},
		{fRoot, &h.root, hasRoot}, {fNote, &h.note, hasNote}, {fSegment, &h.segment, hasSegment},
		{fNext, &h.next, hasNext}, {fPrevious, &h.previous, hasPrevious},
	}
	for _, f := range strs {
		if v, ok := lf.str(line, f.slot); ok {
			*f.dst, h.have = v, h.have|f.has
		}
	}
	ints := []struct {
		slot int
		dst  *int64
		has  uint16
	}{{fV, &h.v, hasV}, {fSeq, &h.seq, hasSeq}, {fSize, &h.size, hasSize}}
	for _, f := range ints {
		if v, ok := lf.int(line, f.slot); ok {
			*f.dst, h.have = v, h.have|f.has
		}
	}
	if h.have&hasCommon != hasCommon {
		return h, errors.New("a common field is missing or of the wrong type (v, seq, ts, kind, log, prev)")
	}
	return h, nil
}
