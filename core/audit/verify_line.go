package audit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// This file reads one record line for the verifier: in a single pass it
// checks that the line is exactly its own RFC 8785 (JCS) form, as the writer
// produces it with AppendCanonical, and notes where the fields the verifier
// needs are. It never re-serialises: a line is canonical when every byte is
// the one JCS would write, which for the values records hold (objects,
// arrays, strings, integers within ±(2^53−1), true, false, null) comes down
// to: no whitespace; object keys in strictly increasing UTF-16 order (so no
// duplicates); strings that are valid UTF-8 escaping exactly '"', '\\' and the
// control characters, the latter as \b \f \n \r \t or \u00xx (lower-case hex)
// and nothing else; integers without leading zeros, "-0", fraction or
// exponent. A number with a fraction or exponent, or beyond ±(2^53−1), is not
// a version-1 record value and is refused as not canonical. The differential
// fuzz test checks this canonScanner against github.com/gowebpki/jcs.

// maxRecordDepth bounds nesting (encoding/json, which decodes the arguments the
// proxy records, stops at 10,000 levels; a record adds a few).
const maxRecordDepth = 10_100

// canonError is the error of every line the canonScanner refuses; the detail
// says why and where.
type canonError struct {
	at     int
	msg    string
	number bool // refused because of a number outside the record domain
}

func (e *canonError) Error() string {
	return fmt.Sprintf("not canonical JSON at byte %d: %s", e.at, e.msg)
}

// Field slots the verifier reads from a record's top-level object.
const (
	fV = iota
	fSeq
	fTs
	fKind
	fLog
	fPrev
	fSize
	fRoot
	fNote
	fSegment
	fPrevious
	fNext
	numFields
)

// fieldSlot maps a top-level key to its slot, or -1.
func fieldSlot(key []byte) int {
	switch string(key) {
	case FieldVersion:
		return fV
	case FieldSeq:
		return fSeq
	case FieldTime:
		return fTs
	case FieldKind:
		return fKind
	case FieldLog:
		return fLog
	case FieldPrev:
		return fPrev
	case "size":
		return fSize
	case "root":
		return fRoot
	case "note":
		return fNote
	case "segment":
		return fSegment
	case "previous":
		return fPrevious
	case "next":
		return fNext
	}
	return -1
}

// Value types of a fieldSpan.
const (
	tNone byte = iota
	tString
	tNumber
	tOther
)

// fieldSpan is where a top-level value is in the line: for a string the bytes
// between the quotes (still escaped when esc is set).
type fieldSpan struct {
	start, end int
	typ        byte
	esc        bool
}

// lineFields is what the canonScanner found in a line.
type lineFields struct {
	f [numFields]fieldSpan
}

// canonScanner checks one line.
type canonScanner struct {
	b   []byte
	i   int
	out *lineFields
}

// plainByte marks the bytes a string may hold unescaped without further checks:
// printable ASCII other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanLine checks that line is one canonical JSON object and fills out.
func scanLine(line []byte, out *lineFields) error {
	*out = lineFields{}
	s := canonScanner{b: line, out: out}
	if len(line) == 0 || line[0] != '{' {
		return s.fail("a record is a JSON object")
	}
	if err := s.object(1); err != nil {
		return err
	}
	if s.i != len(line) {
		return s.fail("bytes after the record")
	}
	return nil
}

func (s *canonScanner) fail(msg string) error { return &canonError{at: s.i, msg: msg} }

func (s *canonScanner) value(depth int) (fieldSpan, error) {
	if s.i >= len(s.b) {
		return fieldSpan{}, s.fail("unexpected end of line")
	}
	start := s.i
	switch c := s.b[s.i]; {
	case c == '"':
		esc, err := s.str()
		return fieldSpan{start: start + 1, end: s.i - 1, typ: tString, esc: esc}, err
	case c == '-' || (c >= '0' && c <= '9'):
		err := s.number()
		return fieldSpan{start: start, end: s.i, typ: tNumber}, err
	case c == '{':
		return fieldSpan{start: start, typ: tOther}, s.object(depth + 1)
	case c == '[':
		return fieldSpan{start: start, typ: tOther}, s.array(depth + 1)
	case c == 't':
		return fieldSpan{typ: tOther}, s.literal("true")
	case c == 'f':
		return fieldSpan{typ: tOther}, s.literal("false")
	case c == 'n':
		return fieldSpan{typ: tOther}, s.literal("null")
	}
	return fieldSpan{}, s.fail("not a JSON value (or whitespace)")
}

func (s *canonScanner) literal(w string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return s.fail("not a JSON value")
	}
	s.i += len(w)
	return nil
}

// object reads {…} at s.i; depth 1 is the record itself, whose fields are
// noted.
func (s *canonScanner) object(depth int) error {
	if depth > maxRecordDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '{'
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	var prev fieldSpan
	for first := true; ; first = false {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.fail("expected a key")
		}
		kstart := s.i
		esc, err := s.str()
		if err != nil {
			return err
		}
		key := fieldSpan{start: kstart + 1, end: s.i - 1, esc: esc}
		if !first && !s.keyLess(prev, key) {
			s.i = kstart
			return s.fail("keys not in strictly increasing UTF-16 order")
		}
		prev = key
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.fail("expected ':'")
		}
		s.i++
		v, err := s.value(depth)
		if err != nil {
			return err
		}
		if depth == 1 && !key.esc {
			if slot := fieldSlot(s.b[key.start:key.end]); slot >= 0 {
				s.out.f[slot] = v
			}
		}
		if s.i >= len(s.b) {
			return s.fail("unexpected end of line")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or '}'")
		}
	}
}

func (s *canonScanner) array(depth int) error {
	if depth > maxRecordDepth {
		return s.fail("nested too deeply")
	}
	s.i++ // '['
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if _, err := s.value(depth); err != nil {
			return err
		}
		if s.i >= len(s.b) {
			return s.fail("unexpected end of line")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("expected ',' or ']'")
		}
	}
}

// str reads a string at s.i (the opening quote) and reports whether it has
// escapes.
func (s *canonScanner) str() (esc bool, err error) {
	b := s.b
	i := s.i + 1
	for {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			s.i = i
			return esc, s.fail("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				s.i = i
				return esc, s.fail("unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				// Only control characters without a short form are written
				// as \u00xx, in lower-case hex.
				if i+6 > len(b) || b[i+2] != '0' || b[i+3] != '0' || !isLowerHex(b[i+4]) || !isLowerHex(b[i+5]) {
					s.i = i
					return esc, s.fail("\\u escape JCS does not write")
				}
				switch v := lowerHexVal(b[i+4])<<4 | lowerHexVal(b[i+5]); v {
				case '\b', '\f', '\n', '\r', '\t':
					s.i = i
					return esc, s.fail("\\u escape of a character with a short escape")
				default:
					if v >= 0x20 {
						s.i = i
						return esc, s.fail("\\u escape JCS does not write")
					}
				}
				i += 6
			default:
				s.i = i
				return esc, s.fail("escape JCS does not write")
			}
		case c < 0x20:
			s.i = i
			return esc, s.fail("unescaped control character")
		default: // c >= 0x80
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				s.i = i
				return esc, s.fail("invalid UTF-8")
			}
			i += n
		}
	}
}

func isLowerHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') }

func lowerHexVal(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// number reads an integer in its shortest form within ±(2^53−1).
func (s *canonScanner) number() error {
	b := s.b
	start := s.i
	i := s.i
	neg := b[i] == '-'
	if neg {
		i++
	}
	if i >= len(b) || b[i] < '0' || b[i] > '9' {
		s.i = i
		return s.fail("malformed number")
	}
	digits := i
	if b[i] == '0' {
		i++
		if neg {
			s.i = start
			return &canonError{at: start, msg: "-0 is written 0"}
		}
	} else {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	if i < len(b) {
		switch b[i] {
		case '.', 'e', 'E':
			return &canonError{at: start, msg: "a number with a fraction or exponent (records hold integers only)", number: true}
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			return &canonError{at: start, msg: "a number with a leading zero"}
		}
	}
	if i-digits > 16 {
		return &canonError{at: start, msg: "an integer beyond ±(2^53−1)", number: true}
	}
	if v, _ := strconv.ParseUint(string(b[digits:i]), 10, 64); v > maxSafeInteger {
		return &canonError{at: start, msg: "an integer beyond ±(2^53−1)", number: true}
	}
	return nil
}

// keyLess reports whether key a sorts strictly before key b (UTF-16 code
// units of the decoded strings).
func (s *canonScanner) keyLess(a, b fieldSpan) bool {
	ka, kb := s.b[a.start:a.end], s.b[b.start:b.end]
	if !a.esc && !b.esc && allASCII(ka) && allASCII(kb) {
		return bytes.Compare(ka, kb) < 0
	}
	da, _ := unescapeString(ka)
	db, _ := unescapeString(kb)
	return compareKeysUTF16(string(da), string(db)) < 0
}

func allASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// unescapeString decodes the escapes the canonScanner accepted (it is only called on
// checked strings).
func unescapeString(b []byte) ([]byte, error) {
	if bytes.IndexByte(b, '\\') < 0 {
		return b, nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 >= len(b) {
			return nil, errors.New("unterminated escape")
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
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
			if i+5 > len(b) {
				return nil, errors.New("short \\u escape")
			}
			v, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 16)
			if err != nil {
				return nil, err
			}
			out = utf8.AppendRune(out, rune(v))
			i += 4
		default:
			return nil, fmt.Errorf("unknown escape \\%c", b[i])
		}
	}
	return out, nil
}

// str returns a string field's decoded value.
func (lf *lineFields) str(line []byte, slot int) (string, bool) {
	sp := lf.f[slot]
	if sp.typ != tString {
		return "", false
	}
	raw := line[sp.start:sp.end]
	if !sp.esc {
		return string(raw), true
	}
	v, err := unescapeString(raw)
	return string(v), err == nil
}

// raw returns a string field's bytes as written (escaped), without copying.
func (lf *lineFields) raw(line []byte, slot int) ([]byte, bool) {
	sp := lf.f[slot]
	if sp.typ != tString {
		return nil, false
	}
	return line[sp.start:sp.end], true
}

// uint returns a non-negative integer field.
func (lf *lineFields) uint(line []byte, slot int) (uint64, bool) {
	sp := lf.f[slot]
	if sp.typ != tNumber || line[sp.start] == '-' {
		return 0, false
	}
	var v uint64
	for _, c := range line[sp.start:sp.end] {
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// int returns an integer field (records hold integers within ±(2^53−1)).
func (lf *lineFields) int(line []byte, slot int) (int64, bool) {
	sp := lf.f[slot]
	if sp.typ != tNumber {
		return 0, false
	}
	digits, neg := line[sp.start:sp.end], false
	if digits[0] == '-' {
		digits, neg = digits[1:], true
	}
	var v int64
	for _, c := range digits {
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}
