package ratelimit

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Bounds a Rule must respect.
const (
	MaxKeyLen = 512            // bytes
	MaxLimit  = 1_000_000      // tokens per window
	MaxBurst  = 1_000_000      // bucket capacity
	MaxWindow = 24 * time.Hour // longest refill window
)

// ObligationType is the "type" of the obligation ParseRule reads.
const ObligationType = "rate_limit"

// Rule is one rate limit: Limit tokens are added per Window, continuously,
// to a bucket holding at most Burst tokens (0 means Limit). Every Allow that
// names the rule takes one token.
type Rule struct {
	Key    string
	Limit  int
	Window time.Duration
	Burst  int
}

// FieldError is the error ParseRule and Validate return: it names the
// obligation field at fault.
type FieldError struct {
	Field string // obligation field name: "key", "limit", "window", "per_s", "burst", "type", or the unknown field
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("rate_limit obligation: %q %s", e.Field, e.Msg)
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// capacity is the bucket size: Burst, or Limit when Burst is 0.
func (r Rule) capacity() int {
	if r.Burst == 0 {
		return r.Limit
	}
	return r.Burst
}

// Validate reports the first thing wrong with r: Key must be non-empty and at
// most MaxKeyLen bytes, Limit in 1..MaxLimit, Window in (0, MaxWindow], Burst
// 0 (meaning Limit) or in 1..MaxBurst.
func (r Rule) Validate() error {
	switch {
	case r.Key == "":
		return fieldErr("key", "must be a non-empty string")
	case len(r.Key) > MaxKeyLen:
		return fieldErr("key", "must be at most %d bytes (got %d)", MaxKeyLen, len(r.Key))
	case r.Limit < 1:
		return fieldErr("limit", "must be at least 1 (got %d)", r.Limit)
	case r.Limit > MaxLimit:
		return fieldErr("limit", "must be at most %d (got %d)", MaxLimit, r.Limit)
	case r.Window <= 0:
		return fieldErr("window", "must be greater than zero (got %s)", r.Window)
	case r.Window > MaxWindow:
		return fieldErr("window", "must be at most %s (got %s)", MaxWindow, r.Window)
	case r.Burst < 0:
		return fieldErr("burst", "must be at least 1 (got %d)", r.Burst)
	case r.Burst > MaxBurst:
		return fieldErr("burst", "must be at most %d (got %d)", MaxBurst, r.Burst)
	}
	return nil
}

// String describes r for logs and deny reasons, e.g.
// `"fs:delete:alice" 10 per 1m0s, burst 3`.
func (r Rule) String() string {
	return fmt.Sprintf("%q %d per %s, burst %d", r.Key, r.Limit, r.Window, r.capacity())
}

var knownFields = []string{"type", "key", "limit", "window", "per_s", "burst"}

// ParseRule reads a rate_limit obligation as decoded from a Rego decision
// (numbers as float64, json.Number or Go integers). See the package
// documentation for the fields. The Rule returned is valid and has Burst
// filled in (Limit when the obligation gives none). Errors are *FieldError.
func ParseRule(obligation map[string]any) (Rule, error) {
	r, err := parseRule(obligation)
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}

func parseRule(obligation map[string]any) (Rule, error) {
	var r Rule
	if obligation == nil {
		return r, fieldErr("type", "missing: the obligation is empty")
	}
	var unknown []string
	for k := range obligation {
		if !isKnownField(k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return r, fieldErr(unknown[0], "is not a rate_limit field (known: %s)", strings.Join(knownFields, ", "))
	}

	if t, ok := obligation["type"]; ok {
		if s, isStr := t.(string); !isStr || s != ObligationType {
			return r, fieldErr("type", "must be %q (got %s)", ObligationType, describe(t))
		}
	}

	switch k := obligation["key"].(type) {
	case string:
		r.Key = k
	case nil:
		return r, fieldErr("key", "is required")
	default:
		return r, fieldErr("key", "must be a string (got %s)", describe(k))
	}

	lv, ok := obligation["limit"]
	if !ok || lv == nil {
		return r, fieldErr("limit", "is required")
	}
	n, err := wholeNumber("limit", lv, MaxLimit)
	if err != nil {
		return r, err
	}
	r.Limit = n

	wv, hasWindow := obligation["window"]
	pv, hasPerS := obligation["per_s"]
	hasWindow = hasWindow && wv != nil
	hasPerS = hasPerS && pv != nil
	switch {
	case hasWindow && hasPerS:
		return r, fieldErr("per_s", "cannot be given together with \"window\" (use one)")
	case hasWindow:
		r.Window, err = duration("window", wv)
	case hasPerS:
		if _, isStr := pv.(string); isStr {
			return r, fieldErr("per_s", "must be a number of seconds (got %s); use \"window\" for a duration string", describe(pv))
		}
		r.Window, err = duration("per_s", pv)
	default:
		return r, fieldErr("window", "is required (a duration such as \"1m\" or a number of seconds)")
	}
	if err != nil {
		return r, err
	}

	r.Burst = r.Limit
	if bv, ok := obligation["burst"]; ok && bv != nil {
		n, err := wholeNumber("burst", bv, MaxBurst)
		if err != nil {
			return r, err
		}
		r.Burst = n
	}
	return r, r.Validate()
}

func isKnownField(k string) bool {
	for _, f := range knownFields {
		if k == f {
			return true
		}
	}
	return false
}

// describe renders a decoded JSON value for an error message.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		return x.String()
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	default:
		return fmt.Sprintf("%v (%T)", v, v)
	}
}

// number converts a decoded JSON number to float64 or, when it is an exact
// integer type, to int64 (isInt true).
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case float64:
		return 0, x, false, true
	case float32:
		return 0, float64(x), false, true
	case int:
		return int64(x), 0, true, true
	case int8:
		return int64(x), 0, true, true
	case int16:
		return int64(x), 0, true, true
	case int32:
		return int64(x), 0, true, true
	case int64:
		return x, 0, true, true
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, float64(x), false, true
		}
		return int64(x), 0, true, true
	case uint8:
		return int64(x), 0, true, true
	case uint16:
		return int64(x), 0, true, true
	case uint32:
		return int64(x), 0, true, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, float64(x), false, true
		}
		return int64(x), 0, true, true
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, 0, true, true
		}
		if g, err := x.Float64(); err == nil {
			return 0, g, false, true
		}
	}
	return 0, 0, false, false
}

// wholeNumber reads a whole number in 1..max.
func wholeNumber(field string, v any, max int64) (int, error) {
	i, f, isInt, ok := number(v)
	if !ok {
		return 0, fieldErr(field, "must be a whole number (got %s)", describe(v))
	}
	if !isInt {
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return 0, fieldErr(field, "must be a whole number (got %s)", describe(v))
		case f != math.Trunc(f):
			return 0, fieldErr(field, "must be a whole number (got %s)", describe(v))
		case f < 1:
			return 0, fieldErr(field, "must be at least 1 (got %s)", describe(v))
		case f > float64(max):
			return 0, fieldErr(field, "must be at most %d (got %s)", max, describe(v))
		}
		i = int64(f)
	}
	if i < 1 {
		return 0, fieldErr(field, "must be at least 1 (got %d)", i)
	}
	if i > max {
		return 0, fieldErr(field, "must be at most %d (got %d)", max, i)
	}
	return int(i), nil
}

// duration reads a Go duration string or a number of seconds, in (0, MaxWindow].
func duration(field string, v any) (time.Duration, error) {
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return 0, fieldErr(field, "must be a duration such as \"1m\", \"90s\" or \"1h30m\", or a number of seconds (got %s)", describe(v))
		}
		return checkWindow(field, d, v)
	}
	i, f, isInt, ok := number(v)
	if !ok {
		return 0, fieldErr(field, "must be a duration such as \"1m\" or a number of seconds (got %s)", describe(v))
	}
	maxS := int64(MaxWindow / time.Second)
	if isInt {
		if i <= 0 {
			return 0, fieldErr(field, "must be greater than zero (got %d)", i)
		}
		if i > maxS {
			return 0, fieldErr(field, "must be at most %s (got %d seconds)", MaxWindow, i)
		}
		return time.Duration(i) * time.Second, nil
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, fieldErr(field, "must be a finite number of seconds (got %s)", describe(v))
	case f <= 0:
		return 0, fieldErr(field, "must be greater than zero (got %s)", describe(v))
	case f > float64(maxS):
		return 0, fieldErr(field, "must be at most %s (got %s seconds)", MaxWindow, describe(v))
	}
	d := time.Duration(math.Round(f * float64(time.Second)))
	if d <= 0 {
		return 0, fieldErr(field, "must be at least 1ns (got %s seconds)", describe(v))
	}
	return d, nil
}

func checkWindow(field string, d time.Duration, v any) (time.Duration, error) {
	if d <= 0 {
		return 0, fieldErr(field, "must be greater than zero (got %s)", describe(v))
	}
	if d > MaxWindow {
		return 0, fieldErr(field, "must be at most %s (got %s)", MaxWindow, describe(v))
	}
	return d, nil
}
