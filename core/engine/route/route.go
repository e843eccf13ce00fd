package route

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Outcomes of a walk.
const (
	Routed          = "routed"
	MissingMetadata = "missing_metadata"
	NoMatch         = "no_match"
)

// Bounds of a route.
const (
	MaxSegments = 64
	MaxPathLen  = 1024
)

// ErrPacket: a packet value cannot fill the route (an object where a
// string was needed, a value that leaves no segment).
var ErrPacket = errors.New("the packet cannot be routed")

// ErrEscape: the route would leave the memory root (a template's own text
// holds "..", or a segment that is not a plain name).
var ErrEscape = errors.New("the route leaves the memory root")

// Result is where a packet goes.
type Result struct {
	// Path is relative to the memory root, slash-separated, clean, never
	// empty, never absolute, never starting with "..".
	Path    string `json:"path"`
	Outcome string `json:"outcome"`
	// Missing names the key the packet lacks (missing_metadata).
	Missing string `json:"missing,omitempty"`
	// Matched are the key=branch segments walked.
	Matched []string `json:"matched"`
}

// Route walks s with packet (decoded JSON; numbers as json.Number or
// float64). At each level the keys are tried in order: a key the packet
// lacks sends it to _intake/missing_metadata; a key whose value matches a
// branch (exactly, by a numeric predicate >N <N >=N <=N ==N !=N or a range
// A-B, or as a member of a pipe list a|b) adds the segment key=branch and
// descends; when no key matches, the packet goes to _intake/no_match. The
// leaf template is filled with sanitised values, then the optional
// confidence_path value is added as one segment before the file name.
func (s *Schema) Route(packet map[string]any, now time.Time) (Result, error) {
	res := Result{Matched: []string{}}
	n := s.root
	var leaf string
walk:
	for n != nil {
		for _, k := range n.keys {
			v, ok := packet[k.name]
			if !ok || v == nil {
				return intake(res, MissingMetadata, k.name, packet, now)
			}
			b, ok := k.match(v)
			if !ok {
				continue
			}
			seg := branchName(k.name) + "=" + branchName(b.name)
			res.Matched = append(res.Matched, seg)
			if b.next == nil {
				leaf = b.template
				break walk
			}
			n = b.next
			continue walk
		}
		return intake(res, NoMatch, "", packet, now)
	}
	segs := append([]string(nil), res.Matched...)
	filled, missing, err := fill(leaf, packet)
	if err != nil {
		return Result{}, err
	}
	if missing != "" {
		return intake(res, MissingMetadata, missing, packet, now)
	}
	tail := splitSegments(filled)
	if cp, ok := packet["confidence_path"]; ok && cp != nil {
		str, err := scalar("confidence_path", cp)
		if err != nil {
			return Result{}, err
		}
		if str = strings.Trim(str, "/"); str != "" {
			seg, ok := Segment(str)
			if !ok {
				return Result{}, fmt.Errorf("%w: confidence_path %q leaves no path segment", ErrPacket, str)
			}
			// Before the file name, as the original put it.
			if len(tail) > 0 {
				tail = append(tail[:len(tail)-1:len(tail)-1], seg, tail[len(tail)-1])
			} else {
				tail = append(tail, seg)
			}
		}
	}
	segs = append(segs, tail...)
	p, err := join(segs)
	if err != nil {
		return Result{}, err
	}
	res.Path, res.Outcome = p, Routed
	return res, nil
}

// intake is the route of a packet that could not be routed:
// _intake/<outcome>/<id>_<time>.
func intake(res Result, outcome, missing string, packet map[string]any, now time.Time) (Result, error) {
	id := "unknown"
	if v, ok := packet["id"]; ok && v != nil {
		if s, err := scalar("id", v); err == nil {
			if seg, ok := Segment(s); ok {
				id = seg
			}
		}
	}
	if len(id) > 64 {
		id = id[:64]
	}
	name := id + "_" + strings.ToLower(now.UTC().Format("20060102T150405.000000Z"))
	p, err := join([]string{"_intake", outcome, name})
	if err != nil {
		return Result{}, err
	}
	res.Path, res.Outcome, res.Missing = p, outcome, missing
	return res, nil
}

// fill replaces the placeholders of a template with sanitised values; it
// returns the name of a missing value that has no default.
func fill(t string, packet map[string]any) (string, string, error) {
	parts, err := parseTemplate(t)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, p := range parts {
		if p.name == "" {
			b.WriteString(p.literal)
			continue
		}
		raw, ok := packet[p.name]
		var str string
		switch {
		case ok && raw != nil:
			if str, err = scalar(p.name, raw); err != nil {
				return "", "", err
			}
		case p.hasDef:
			str = p.def
		default:
			return "", p.name, nil
		}
		seg, ok := Segment(str)
		if !ok {
			return "", "", fmt.Errorf("%w: the value of %q leaves no path segment (it must hold a letter or digit)", ErrPacket, p.name)
		}
		b.WriteString(seg)
	}
	return b.String(), "", nil
}

// scalar is a packet value as text: strings, numbers and booleans only.
func scalar(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("%w: %q is an object or array; only strings, numbers and booleans fill a route", ErrPacket, name)
}

// splitSegments splits a filled template at '/', dropping empty segments
// (a leading '/', "//").
func splitSegments(s string) []string {
	var out []string
	for _, seg := range strings.Split(s, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}

// join checks every segment and joins them; the result is clean and
// relative.
func join(segs []string) (string, error) {
	if len(segs) == 0 {
		return "", fmt.Errorf("%w: the route is empty", ErrEscape)
	}
	if len(segs) > MaxSegments {
		return "", fmt.Errorf("%w: more than %d segments", ErrEscape, MaxSegments)
	}
	for _, s := range segs {
		if s == "." || s == ".." || !pathSegment.MatchString(s) {
			return "", fmt.Errorf("%w: segment %q is not a plain name", ErrEscape, s)
		}
	}
	p := strings.Join(segs, "/")
	if len(p) > MaxPathLen || path.Clean(p) != p || path.IsAbs(p) || strings.HasPrefix(p, "..") {
		return "", fmt.Errorf("%w: %q", ErrEscape, p)
	}
	return p, nil
}

// match finds the branch a value takes: exact, numeric predicate or
// range, pipe list (whole alternatives only, never substrings).
func (k key) match(v any) (branch, bool) {
	if s, ok := v.(string); ok {
		for _, b := range k.branches {
			if b.name == s {
				return b, true
			}
		}
		for _, b := range k.branches {
			if !strings.Contains(b.name, "|") {
				continue
			}
			for _, alt := range strings.Split(b.name, "|") {
				if strings.TrimSpace(alt) == s {
					return branch{name: strings.TrimSpace(alt), next: b.next, template: b.template}, true
				}
			}
		}
		return branch{}, false
	}
	f, ok := number(v)
	if !ok {
		return branch{}, false
	}
	for _, b := range k.branches {
		if predicate(b.name, f) {
			return b, true
		}
	}
	return branch{}, false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

var (
	rangePred = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$`)
	cmpPred   = regexp.MustCompile(`^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$`)
)

// predicate evaluates ">N", "<N", ">=N", "<=N", "==N", "!=N" or "A-B"
// (inclusive) against f.
func predicate(p string, f float64) bool {
	if m := rangePred.FindStringSubmatch(p); m != nil {
		lo, _ := strconv.ParseFloat(m[1], 64)
		hi, _ := strconv.ParseFloat(m[2], 64)
		return lo <= f && f <= hi
	}
	m := cmpPred.FindStringSubmatch(p)
	if m == nil {
		return false
	}
	n, _ := strconv.ParseFloat(m[2], 64)
	switch m[1] {
	case ">":
		return f > n
	case "<":
		return f < n
	case ">=":
		return f >= n
	case "<=":
		return f <= n
	case "==":
		return f == n
	}
	return f != n
}
