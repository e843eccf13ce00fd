package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// preparedEntry is an entry whose body was encoded in the caller's
// goroutine (Append, AppendAsync), so that the writer goroutine, which
// orders the records and is the one serial part of the log, only splices
// the common fields in: it costs the writer about a tenth of EncodeRecord.
// appendPrepared produces exactly EncodeRecord's bytes.
type preparedEntry struct {
	kind    string
	time    time.Time
	keys    []string // the body's keys, in canonical (UTF-16) order
	members []byte   // the body's members, `"key":value` each, in that order, no separators
	ends    []int    // where each member ends in members
}

// prepare encodes e's body into p (reusing p's buffers). Errors wrap
// ErrInvalidEntry.
func (p *preparedEntry) prepare(e Entry) error {
	p.kind, p.time = e.Kind, e.Time
	p.keys, p.members, p.ends = p.keys[:0], p.members[:0], p.ends[:0]
	if e.Kind == "" {
		return fmt.Errorf("%w: entry has no kind", ErrInvalidEntry)
	}
	if _, err := appendString(nil, e.Kind); err != nil {
		return fmt.Errorf("%w: kind: %w", ErrInvalidEntry, err)
	}
	for k := range e.Body {
		switch k {
		case FieldVersion, FieldSeq, FieldTime, FieldKind, FieldLog, FieldPrev:
			return fmt.Errorf("%w: %w: %q", ErrInvalidEntry, ErrReservedField, k)
		}
		p.keys = append(p.keys, k)
	}
	slices.SortFunc(p.keys, compareKeysUTF16)
	for _, k := range p.keys {
		out, err := appendString(p.members, k)
		if err == nil {
			out, err = AppendCanonical(append(out, ':'), e.Body[k])
		}
		if err != nil {
			return fmt.Errorf("%w: %q: %w", ErrInvalidEntry, k, err)
		}
		p.members = out
		p.ends = append(p.ends, len(out))
	}
	if len(p.members) > maxRecordLine-maxCommonFields-len(p.kind) {
		return fmt.Errorf("%w: the record would be longer than %d bytes", ErrInvalidEntry, maxRecordLine)
	}
	return nil
}

// maxCommonFields bounds the length of the common fields of a line (with an
// origin of up to 512 bytes), for the check that a record fits in
// maxRecordLine.
const maxCommonFields = 1024

// commonKeys are the fields every record has, in canonical order.
var commonKeys = [...]string{FieldKind, FieldLog, FieldPrev, FieldSeq, FieldTime, FieldVersion}

func init() {
	if !slices.IsSortedFunc(commonKeys[:], compareKeysUTF16) {
		panic(errors.New("audit: common keys out of canonical order"))
	}
}

// appendPrepared appends the canonical line of p as record seq of the log
// origin, chained to prev, written at ts (UTC, as TimeFormat).
func appendPrepared(dst []byte, origin string, seq uint64, prev Hash, ts time.Time, p *preparedEntry) []byte {
	dst = append(dst, '{')
	i, start := 0, 0
	for n, ck := range commonKeys {
		for i < len(p.keys) && compareKeysUTF16(p.keys[i], ck) < 0 {
			if n > 0 || i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, p.members[start:p.ends[i]]...)
			start = p.ends[i]
			i++
		}
		if n > 0 || i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, ck...)
		dst = append(dst, '"', ':')
		switch ck {
		case FieldKind:
			dst, _ = appendString(dst, p.kind) // checked by prepare
		case FieldLog:
			dst, _ = appendString(dst, origin)
		case FieldPrev:
			dst = append(dst, '"')
			dst = hex.AppendEncode(dst, prev[:])
			dst = append(dst, '"')
		case FieldSeq:
			dst = strconv.AppendUint(dst, seq, 10)
		case FieldTime:
			dst = append(dst, '"')
			dst = ts.UTC().AppendFormat(dst, TimeFormat)
			dst = append(dst, '"')
		case FieldVersion:
			dst = strconv.AppendInt(dst, FormatVersion, 10)
		}
	}
	for ; i < len(p.keys); i++ {
		dst = append(dst, ',')
		dst = append(dst, p.members[start:p.ends[i]]...)
		start = p.ends[i]
	}
	return append(dst, '}')
}

// compareKeysUTF16 orders strings by their UTF-16 code units, as JCS sorts
// object keys (it differs from byte order only beyond the BMP), without
// allocating: a rune beyond the BMP compares by
// its high surrogate, and two with the same high surrogate by their low
// one, which follows the rune's order.
func compareKeysUTF16(a, b string) int {
	for i := 0; i < len(a) && i < len(b); {
		ca, cb := a[i], b[i]
		if ca < utf8.RuneSelf && cb < utf8.RuneSelf {
			if ca != cb {
				return int(ca) - int(cb)
			}
			i++
			continue
		}
		ra, na := utf8.DecodeRuneInString(a[i:])
		rb, nb := utf8.DecodeRuneInString(b[i:])
		if ra != rb {
			ua, ub := firstUTF16Unit(ra), firstUTF16Unit(rb)
			if ua != ub {
				return int(ua) - int(ub)
			}
			return int(ra) - int(rb)
		}
		if na != nb { // cannot happen for equal runes of valid UTF-8
			return na - nb
		}
		i += na
	}
	return len(a) - len(b)
}

func firstUTF16Unit(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
