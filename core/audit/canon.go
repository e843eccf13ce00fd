package audit

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ErrNotCanonical is returned for a value the canonical encoding cannot
// represent: a float, invalid UTF-8, or a type it does not know.
var ErrNotCanonical = errors.New("value has no canonical JSON form")

// AppendCanonical appends the RFC 8785 (JCS) encoding of v to dst. v is built
// from map[string]any, []any, []string, string, bool, nil and integers
// (int, int64, uint64… within ±2^53, where doubles are exact): records
// hold no floating-point numbers, so the number rules of JCS reduce to plain
// decimal integers. Object keys are
// sorted by their UTF-16 code units, strings are escaped as JCS says (only
// '"', '\\' and control characters), and nothing else is escaped.
func AppendCanonical(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return appendString(dst, x)
	case int:
		return appendInt(dst, int64(x))
	case int32:
		return appendInt(dst, int64(x))
	case int64:
		return appendInt(dst, x)
	case uint32:
		return appendInt(dst, int64(x))
	case uint64:
		if x > maxSafeInteger {
			return nil, fmt.Errorf("%w: integer %d beyond 2^53", ErrNotCanonical, x)
		}
		return appendInt(dst, int64(x))
	case []string:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, s); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonical(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeysUTF16)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendString(dst, k); err != nil {
				return nil, err
			}
			dst = append(dst, ':')
			if dst, err = AppendCanonical(dst, x[k]); err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("%w: %T", ErrNotCanonical, v)
}

// maxSafeInteger is 2^53-1: JCS numbers are IEEE 754 doubles, exact for
// integers up to here.
const maxSafeInteger = 1<<53 - 1

func appendInt(dst []byte, x int64) ([]byte, error) {
	if x > maxSafeInteger || x < -maxSafeInteger {
		return nil, fmt.Errorf("%w: integer %d beyond 2^53", ErrNotCanonical, x)
	}
	return strconv.AppendInt(dst, x, 10), nil
}

const hexDigits = "0123456789abcdef"

func appendString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: invalid UTF-8 in a string", ErrNotCanonical)
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}
