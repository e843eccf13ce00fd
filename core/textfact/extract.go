package textfact

import (
	"slices"
	"strconv"
)

// walker walks the decoded JSON arguments of one call. It is used once.
type walker struct {
	a          *Analyzer
	tool       *ToolArgs // the kinds the tool's configuration binds; may be nil
	ptr        []byte    // the RFC 6901 pointer of the value being visited
	facts      []Fact
	omitted    int
	incomplete bool
	visits     int
	budget     int // variant bytes left to keep in this call
	work       int // bytes decoders may still read in this call
	examine    int // bytes of strings that may still be examined in full
}

// walk visits v, which sits under the object key name (lower-case, "" above
// the first key) whose kind, inherited as documented in kind.go, is kind. A
// kind the tool's configuration binds to v's pointer replaces kind.
func (w *walker) walk(v any, name, kind string, depth int) {
	if w.visits >= maxVisits {
		w.incomplete = true
		return
	}
	w.visits++
	if k := w.tool.pointerKind(w.ptr); k != "" {
		kind = k
	}
	switch v := v.(type) {
	case string:
		if len(w.facts) >= w.a.maxStrings {
			w.omitted++
			return
		}
		if w.facts == nil {
			w.facts = make([]Fact, 0, 4)
		}
		w.facts = append(w.facts, w.fact(v, name, kind))
	case map[string]any:
		if depth >= maxDepth {
			w.incomplete = len(v) > 0 || w.incomplete
			return
		}
		var buf [16]string
		keys := buf[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		mark := len(w.ptr)
		for _, k := range keys {
			w.ptr = appendToken(append(w.ptr[:mark], '/'), k)
			ck := w.tool.nameKind(k)
			if ck == "" {
				ck = w.a.kindOf(k)
			}
			if ck == "" && (kind == KindCommand || kind == KindSQL) {
				ck = kind
			}
			w.walk(v[k], lowerName(k), ck, depth+1)
			if w.visits >= maxVisits {
				w.incomplete = true
				break
			}
		}
		w.ptr = w.ptr[:mark]
	case []any:
		if depth >= maxDepth {
			w.incomplete = len(v) > 0 || w.incomplete
			return
		}
		mark := len(w.ptr)
		for i, e := range v {
			w.ptr = strconv.AppendInt(append(w.ptr[:mark], '/'), int64(i), 10)
			w.walk(e, name, kind, depth+1)
			if w.visits >= maxVisits {
				w.incomplete = true
				break
			}
		}
		w.ptr = w.ptr[:mark]
	}
	// Numbers, booleans, null and any other type are not facts.
}

// appendToken appends an object key as an RFC 6901 reference token: "~"
// becomes "~0" and "/" becomes "~1".
func appendToken(b []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '~':
			b = append(b, '~', '0')
		case '/':
			b = append(b, '~', '1')
		default:
			b = append(b, k[i])
		}
	}
	return b
}

// fact analyses one string.
func (w *walker) fact(s, name, kind string) Fact {
	a := w.a
	f := Fact{Pointer: string(w.ptr), Name: name, Len: len(s), Kind: kind}
	if f.Kind == "" {
		f.Kind = KindText
	}
	var sig signals
	t := s
	limit := a.maxLen
	if w.examine < limit {
		// The call's budget is spent: short strings are still examined in
		// full, long ones only in part.
		limit = max(w.examine, min(examineFloor, a.maxLen))
	}
	if len(t) > limit {
		t = cutUTF8(t, limit)
		sig |= sigTruncated
	}
	w.examine -= len(t)

	h := scan(t)
	var hidden string
	if h&hNormal != 0 {
		f.Normalized = t
	} else {
		var nsig signals
		f.Normalized, nsig, hidden = normalizeHinted(t, h, a.maxLen)
		sig |= nsig
		if h&hASCII == 0 || nsig&sigControlChars != 0 {
			h = scan(f.Normalized)
		} else {
			// Collapsing whitespace changes no hint.
			h |= hNormal
		}
	}
	if h&hLess != 0 && hiddenMarkup(f.Normalized) {
		sig |= sigHiddenText
	}

	// URL facts.
	if f.Kind == KindURL || h&hColon != 0 && couldBeURL(f.Normalized) {
		u := a.urlText(t, f.Normalized)
		if f.Kind == KindURL {
			uf := parseURLFact(u, true)
			f.URL = &uf
		} else if looksLikeURL(u) {
			uf := parseURLFact(u, false)
			f.URL = &uf
			if f.Kind == KindText {
				f.Kind = KindURL
			}
		}
	}

	// Variants.
	if h&hDecode != 0 || hidden != "" || sig&sigMixedScripts != 0 {
		if w.work > 0 && w.budget > 0 {
			f.Variants, sig = w.variants(f.Normalized, h, hidden, sig)
		} else {
			sig |= sigVariantsCapped
		}
	}
	f.Truncated = sig&sigTruncated != 0
	f.Signals = sig.list()
	return f
}
