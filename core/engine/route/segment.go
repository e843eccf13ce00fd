package route

import (
	"regexp"
	"strings"
)

// MaxSegment is the longest segment made from a value.
const MaxSegment = 128

// valueSegment matches what a packet value becomes.
var valueSegment = regexp.MustCompile(`^[a-z0-9][a-z0-9._,=-]{0,127}$`)

// pathSegment matches every segment of a route (values, key=branch
// segments, the template's own text).
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._,=+-]{0,254}$`)

// Segment turns a value into one path segment: lower case, every
// character outside a-z 0-9 . _ , = - replaced by '-', leading characters
// other than a letter or digit dropped, at most MaxSegment bytes. It
// returns false when nothing is left ("", "..", "/", "\x00").
func Segment(v string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == ',', r == '=', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.TrimLeft(b.String(), ".,=-")
	if len(s) > MaxSegment {
		s = s[:MaxSegment]
	}
	if !valueSegment.MatchString(s) {
		return "", false
	}
	return s, true
}

// branchName is how a branch names its segment, as the original wrote it:
// comparison operators spelt out (>= is gte_), other characters dropped.
func branchName(s string) string {
	s = strings.NewReplacer(">=", "gte_", "<=", "lte_", "==", "eq_", "!=", "ne_", ">", "gt_", "<", "lt_").Replace(s)
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
