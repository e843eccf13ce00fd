package audit

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// RecordValue converts decoded JSON (numbers as float64 or json.Number) to a
// value a record can hold (AppendCanonical): integers within ±2^53 stay
// numbers, any other number becomes its decimal text; invalid UTF-8 in
// strings is replaced. Maps and slices are copied.
func RecordValue(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= maxSafeInteger {
			return int64(x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil && n <= maxSafeInteger && n >= -maxSafeInteger {
			return n
		}
		return string(x)
	case string:
		return toValidUTF8(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[toValidUTF8(k)] = RecordValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = RecordValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toValidUTF8(e)
		}
		return out
	case nil, bool, int, int64, uint64, int32, uint32:
		return x
	}
	return strconv.Quote(toValidUTF8(jsonText(v)))
}

// Redacted is v with every string, number and boolean replaced by its keyed
// digest (HashValue of its JSON text, strings without quotes), keeping the
// shape: what a record may show of arguments a policy wants kept.
func Redacted(key []byte, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[toValidUTF8(k)] = Redacted(key, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Redacted(key, e)
		}
		return out
	case nil:
		return nil
	case string:
		return HashValue(key, x)
	}
	return HashValue(key, jsonText(v))
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func toValidUTF8(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return stringsToValidUTF8(s)
		}
	}
	return s
}

func stringsToValidUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
