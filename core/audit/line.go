package audit

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

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

// maxLineDepth bounds the nesting of arrays and objects in a line, so that
// a hostile line cannot exhaust the stack. Records nest what callers give
// them (args_redacted mirrors a tool call's arguments, which encoding/json
// decodes up to 10,000 deep), so the bound is above that; the verifier
// (verify_line.go) uses the same.
const maxLineDepth = 10_100

// parseRecordLine checks that line (without its "\n") is one JSON object in
// the canonical form records are written in (RFC 8785 with integers only,
// as AppendCanonical produces) and returns its common fields. It never
// re-serialises: canonical form is checked byte by byte, in one pass.
func parseRecordLine(line []byte) (recordHead, error) {
	var h recordHead
	if len(line) == 0 || line[0] != '{' {
		return h, errors.New("not a JSON object")
	}
	s := lineScanner{b: line}
	if err := s.object(&h); err != nil {
		return h, err
	}
	if s.i != len(line) {
		return h, fmt.Errorf("bytes after the object at offset %d", s.i)
	}
	if h.have&hasCommon != hasCommon {
		return h, errors.New("a common field is missing (v, seq, ts, kind, log, prev)")
	}
	return h, nil
}

// checkCanonical checks that b is one canonical JSON value.
func checkCanonical(b []byte) error {
	s := lineScanner{b: b}
	if err := s.value(); err != nil {
		return err
	}
	if s.i != len(b) {
		return fmt.Errorf("bytes after the value at offset %d", s.i)
	}
	return nil
}

type lineScanner struct {
	b     []byte
	i     int
	depth int
}

func (s *lineScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *lineScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

func (s *lineScanner) value() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(nil)
	case c == '[':
		return s.array()
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case s.i >= len(s.b):
		return s.errorf("unexpected end")
	default:
		return s.errorf("unexpected %q", c)
	}
}

func (s *lineScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.errorf("bad literal")
	}
	s.i += len(lit)
	return nil
}

func (s *lineScanner) enter() error {
	s.depth++
	if s.depth > maxLineDepth {
		return s.errorf("nested deeper than %d", maxLineDepth)
	}
	return nil
}

func (s *lineScanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.i++ // '['
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errorf("want ',' or ']'")
		}
	}
}

// object reads an object whose keys must be sorted by UTF-16 code units,
// without duplicates. With h, it is the record itself and the fields
// recovery needs are kept.
func (s *lineScanner) object(h *recordHead) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.i++ // '{'
	if s.peek() == '}' {
		s.i++
		return nil
	}
	var prevKey []byte
	for {
		if s.peek() != '"' {
			return s.errorf("want a key")
		}
		raw, esc, err := s.str()
		if err != nil {
			return err
		}
		key := raw
		if esc {
			key = unescapeCanonical(raw)
		}
		if prevKey != nil && compareKeys(prevKey, key) >= 0 {
			return s.errorf("key %q is not after %q in canonical order", key, prevKey)
		}
		prevKey = key
		if s.peek() != ':' {
			return s.errorf("want ':'")
		}
		s.i++
		if h != nil {
			err = s.field(h, key)
		} else {
			err = s.value()
		}
		if err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("want ',' or '}'")
		}
	}
}

// field reads the value of a top-level field. The common fields must have
// their type; the others are kept when their type is the expected one (a
// kind this writer does not know may use the name otherwise).
func (s *lineScanner) field(h *recordHead, key []byte) error {
	var (
		sp   *string
		ip   *int64
		flag uint16
	)
	common := true
	switch string(key) {
	case FieldVersion:
		ip, flag = &h.v, hasV
	case FieldSeq:
		ip, flag = &h.seq, hasSeq
	case FieldTime:
		sp, flag = &h.ts, hasTS
	case FieldKind:
		sp, flag = &h.kind, hasKind
	case FieldLog:
		sp, flag = &h.log, hasLog
	case FieldPrev:
		sp, flag = &h.prev, hasPrev
	default:
		common = false
		switch string(key) {
		case "size":
			ip, flag = &h.size, hasSize
		case "root":
			sp, flag = &h.root, hasRoot
		case "note":
			sp, flag = &h.note, hasNote
		case "segment":
			sp, flag = &h.segment, hasSegment
		case "next":
			sp, flag = &h.next, hasNext
		case "previous":
			sp, flag = &h.previous, hasPrevious
		default:
			return s.value()
		}
	}
	c := s.peek()
	switch {
	case sp != nil && c == '"':
		raw, esc, err := s.str()
		if err != nil {
			return err
		}
		if esc {
			raw = unescapeCanonical(raw)
		}
		*sp = string(raw)
	case ip != nil && (c == '-' || c >= '0' && c <= '9'):
		n, err := s.number()
		if err != nil {
			return err
		}
		*ip = n
	case common:
		return s.errorf("field %q has the wrong type", key)
	default:
		return s.value()
	}
	h.have |= flag
	return nil
}

// str reads a string and returns its raw bytes (between the quotes) and
// whether they hold escapes. Canonical strings escape '"', '\\' and the
// control characters only, with the short forms where JSON has them and
// \u00xx (lower-case hex) otherwise; they are valid UTF-8.
func (s *lineScanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // '"'
	start, ascii := s.i, true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(raw) {
				return nil, false, s.errorf("invalid UTF-8 in a string")
			}
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				return nil, false, s.errorf("unterminated escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, false, s.errorf("unterminated escape")
				}
				x := s.b[s.i+2 : s.i+6]
				hi, lo := canonHexDigit(x[2]), canonHexDigit(x[3])
				if x[0] != '0' || x[1] != '0' || hi < 0 || lo < 0 {
					return nil, false, s.errorf("escape \\u%s is not canonical", x)
				}
				switch v := hi<<4 | lo; {
				case v >= 0x20, v == '\b', v == '\f', v == '\n', v == '\r', v == '\t':
					return nil, false, s.errorf("escape \\u%s is not canonical", x)
				}
				s.i += 6
			default:
				return nil, false, s.errorf("escape \\%c is not canonical", s.b[s.i+1])
			}
		case c < 0x20:
			return nil, false, s.errorf("unescaped control character")
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			s.i++
		}
	}
	return nil, false, s.errorf("unterminated string")
}

// number reads an integer in canonical form: no sign but '-', no leading
// zero, no "-0", no fraction or exponent, within ±(2^53−1).
func (s *lineScanner) number() (int64, error) {
	neg := false
	if s.peek() == '-' {
		neg = true
		s.i++
	}
	c := s.peek()
	if c < '0' || c > '9' {
		return 0, s.errorf("bad number")
	}
	var n int64
	if c == '0' {
		s.i++
		if neg {
			return 0, s.errorf("-0 is not canonical")
		}
	} else {
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			n = n*10 + int64(s.b[s.i]-'0')
			if n > maxSafeInteger {
				return 0, s.errorf("integer beyond 2^53")
			}
			s.i++
		}
	}
	switch s.peek() {
	case '.', 'e', 'E':
		return 0, s.errorf("records hold integers only")
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 0, s.errorf("leading zero")
	}
	if neg {
		n = -n
	}
	return n, nil
}

func canonHexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// unescapeCanonical decodes the escapes of a string str has checked.
func unescapeCanonical(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			out = append(out, byte(canonHexDigit(raw[i+3])<<4|canonHexDigit(raw[i+4])))
			i += 4
		default: // '"', '\\'
			out = append(out, raw[i])
		}
	}
	return out
}

// compareKeys orders decoded keys as JCS does, by UTF-16 code units (byte
// order for ASCII).
func compareKeys(a, b []byte) int {
	if isASCII(a) && isASCII(b) {
		return bytes.Compare(a, b)
	}
	return compareKeysUTF16(string(a), string(b))
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
