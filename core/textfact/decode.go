package textfact

import (
	"encoding/base64"
	"html"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/core/internal/hexdigit"
)

// Variants are found breadth first: the normal form is decoded by each
// decoder, each new variant is decoded again, up to maxRounds rounds (so
// "%2527" yields "%27" and then "'", and base64 inside percent-encoding is
// found). A decoded form becomes a variant when it reads as text (textLike),
// and once normalised differs from the normal form and from every earlier
// variant. At most maxVariants per string, and the variants of one call
// share a byte budget; what the caps leave out is signalled
// "variants_capped".

type variantItem struct {
	text  string
	h     hints
	round int
}

// variants returns the variants of the normal form n (with hints h), given
// the text hidden in invisible characters (decodeHiddenChars) and the
// signals so far; it returns the signals updated.
func (w *walker) variants(n string, h hints, hidden string, sig signals) ([]string, signals) {
	var out []string
	var qbuf [1 + maxVariants]variantItem
	queue := append(qbuf[:0], variantItem{text: n, h: h})
	full := false

	// keep keeps a normalised variant found in round r, unless it repeats
	// the normal form or an earlier variant, or a cap is reached.
	keep := func(v string, r int) {
		if full || v == n || v == "" || slices.Contains(out, v) {
			return
		}
		if len(out) == maxVariants || len(v) > w.budget {
			sig |= sigVariantsCapped
			full = true
			return
		}
		w.budget -= len(v)
		out = append(out, v)
		queue = append(queue, variantItem{text: v, h: scan(v), round: r})
	}
	// add offers a decoded form found in round r; it reports whether the
	// form reads as text.
	add := func(dec string, r int) bool {
		if !textLike(dec) {
			return false
		}
		if full {
			return true
		}
		v, vsig, vhidden := normalize(dec, w.a.maxLen)
		sig |= vsig
		keep(v, r)
		if vhidden != "" && textLike(vhidden) {
			// Text hidden in invisible characters inside a decoded form.
			v2, vsig2, _ := normalize(vhidden, w.a.maxLen)
			sig |= vsig2
			keep(v2, r)
		}
		return true
	}

	if hidden != "" {
		add(hidden, 1)
	}
	for qi := 0; qi < len(queue) && !full; qi++ {
		it := queue[qi]
		if it.round >= maxRounds {
			continue
		}
		// Each decoder reads the text once: charge the call's work budget.
		if cost := len(it.text) * (bits.OnesCount8(uint8(it.h&hDecode)) + 1); cost > w.work {
			sig |= sigVariantsCapped
			break
		} else {
			w.work -= cost
		}
		r := it.round + 1
		if it.h&hPercent != 0 {
			if dec, ok := percentDecode(it.text); ok && add(dec, r) {
				sig |= sigPercentEncoded
			}
		}
		if it.h&hAmp != 0 {
			if dec, ok := htmlDecode(it.text); ok && add(dec, r) {
				sig |= sigHTMLEntities
			}
		}
		if it.h&hBackslash != 0 {
			if dec, ok := unescape(it.text); ok && add(dec, r) {
				sig |= sigEscapes
			}
		}
		if it.h&hBase64 != 0 {
			if dec, ok := base64Decode(it.text); ok && add(dec, r) {
				sig |= sigBase64
			}
		}
		if sig&sigMixedScripts != 0 && it.h&hASCII == 0 {
			if dec, ok := foldLookalikes(it.text); ok {
				add(dec, r)
			}
		}
	}
	return out, sig
}

// hexValue parses s, all of which must be hex digits, as a code point no
// larger than utf8.MaxRune.
func hexValue(s string) (rune, bool) {
	var v uint32
	for i := 0; i < len(s); i++ {
		d, ok := hexdigit.Value(s[i])
		if !ok || v > utf8.MaxRune {
			return 0, false
		}
		v = v<<4 | uint32(d)
	}
	if v > utf8.MaxRune {
		return 0, false
	}
	return rune(v), true
}

// appendUTF16 appends the UTF-16 code unit u, pairing a high surrogate with
// the low surrogate that low returns when the next escape holds one; a lone
// surrogate becomes U+FFFD.
func appendUTF16(b []byte, u rune, low func() (rune, bool)) []byte {
	if utf16.IsSurrogate(u) {
		if u < 0xDC00 {
			if l, ok := low(); ok && 0xDC00 <= l && l <= 0xDFFF {
				return utf8.AppendRune(b, utf16.DecodeRune(u, l))
			}
		}
		return utf8.AppendRune(b, utf8.RuneError)
	}
	return utf8.AppendRune(b, u)
}

// replaceEscapes rewrites s with every escape that decodeAt decodes
// replaced by its decoding; escapes start with marker. decodeAt appends the
// decoding of the escape at s[i] to dec and returns it with the end of the
// escape, or end == i when there is none there; next is where the search
// for the next marker starts. It reports false when nothing was decoded.
func replaceEscapes(s string, marker byte, decodeAt func(dec []byte, s string, i int) (out []byte, end, next int)) (string, bool) {
	var b, dec []byte
	last := 0
	for i := strings.IndexByte(s, marker); i >= 0; {
		var end, next int
		dec, end, next = decodeAt(dec[:0], s, i)
		if end > i {
			b = append(append(b, s[last:i]...), dec...)
			last = end
		}
		if next >= len(s) {
			break
		}
		j := strings.IndexByte(s[next:], marker)
		if j < 0 {
			break
		}
		i = next + j
	}
	if last == 0 {
		return "", false
	}
	b = append(b, s[last:]...)
	return string(b), true
}

// percentDecode decodes %XX and %uXXXX sequences. It reports false when
// there is none.
func percentDecode(s string) (string, bool) { return replaceEscapes(s, '%', percentAt) }

func percentAt(b []byte, s string, i int) ([]byte, int, int) {
	if i+2 < len(s) {
		if hi, ok := hexdigit.Value(s[i+1]); ok {
			if lo, ok := hexdigit.Value(s[i+2]); ok {
				return append(b, hi<<4|lo), i + 3, i + 3
			}
		}
	}
	if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
		if u, ok := hexValue(s[i+2 : i+6]); ok {
			end := i + 6
			b = appendUTF16(b, u, func() (rune, bool) {
				if end+5 < len(s) && s[end] == '%' && (s[end+1] == 'u' || s[end+1] == 'U') {
					if l, ok := hexValue(s[end+2 : end+6]); ok && 0xDC00 <= l && l <= 0xDFFF {
						end += 6
						return l, true
					}
				}
				return 0, false
			})
			return b, end, end
		}
	}
	return b, i, i + 1
}

// htmlDecode decodes HTML character references: numeric ones (&#39; &#x27;,
// the ";" optional as browsers allow) and named ones followed by ";"
// (&lt; &quot;). It reports false when there is none.
func htmlDecode(s string) (string, bool) { return replaceEscapes(s, '&', htmlAt) }

func htmlAt(b []byte, s string, i int) ([]byte, int, int) {
	if end := entityEnd(s, i); end > i {
		span := s[i:end]
		if dec := html.UnescapeString(span); dec != span {
			return append(b, dec...), end, end
		}
	}
	return b, i, i + 1
}

// entityEnd returns the end of the character reference at s[i] == '&', or i.
func entityEnd(s string, i int) int {
	const maxRef = 32
	k := i + 1
	if k < len(s) && s[k] == '#' {
		k++
		hex := k < len(s) && (s[k] == 'x' || s[k] == 'X')
		if hex {
			k++
		}
		start := k
		for k < len(s) && k-start < maxRef {
			c := s[k]
			if '0' <= c && c <= '9' || hex && ('a' <= c|0x20 && c|0x20 <= 'f') {
				k++
				continue
			}
			break
		}
		if k == start {
			return i
		}
		if k < len(s) && s[k] == ';' {
			k++
		}
		return k
	}
	start := k
	for k < len(s) && k-start < maxRef {
		c := s[k]
		if 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' {
			k++
			continue
		}
		break
	}
	if k == start || k >= len(s) || s[k] != ';' {
		return i
	}
	return k + 1
}

// unescape decodes \uXXXX (with surrogate pairs), \u{X…}, \UXXXXXXXX and
// \xNN escapes; "\\" stays as it is. It reports false when there is none.
func unescape(s string) (string, bool) { return replaceEscapes(s, '\\', unescapeAt) }

func unescapeAt(b []byte, s string, i int) ([]byte, int, int) {
	if i+1 >= len(s) {
		return b, i, len(s)
	}
	switch s[i+1] {
	case '\\':
		return b, i, i + 2
	case 'x':
		if i+3 < len(s) {
			if hi, ok := hexdigit.Value(s[i+2]); ok {
				if lo, ok := hexdigit.Value(s[i+3]); ok {
					return append(b, hi<<4|lo), i + 4, i + 4
				}
			}
		}
	case 'u':
		if i+2 < len(s) && s[i+2] == '{' {
			j := strings.IndexByte(s[i+3:min(len(s), i+10)], '}')
			if j > 0 {
				if r, ok := hexValue(s[i+3 : i+3+j]); ok {
					return utf8.AppendRune(b, r), i + 4 + j, i + 4 + j // surrogates become U+FFFD
				}
			}
		} else if i+5 < len(s) {
			if u, ok := hexValue(s[i+2 : i+6]); ok {
				end := i + 6
				b = appendUTF16(b, u, func() (rune, bool) {
					if end+5 < len(s) && s[end] == '\\' && s[end+1] == 'u' {
						if l, ok := hexValue(s[end+2 : end+6]); ok && 0xDC00 <= l && l <= 0xDFFF {
							end += 6
							return l, true
						}
					}
					return 0, false
				})
				return b, end, end
			}
		}
	case 'U':
		if i+9 < len(s) {
			if r, ok := hexValue(s[i+2 : i+10]); ok {
				return utf8.AppendRune(b, r), i + 10, i + 10
			}
		}
	}
	return b, i, i + 1
}

// base64Decode replaces each base64 token that decodes to text by its
// decoding. A token is a run of at least 16 characters of the standard or
// the URL alphabet, with its padding, possibly wrapped over lines of at
// least 16 characters; it must mix upper- and lower-case letters (so that
// words, hex digests and paths in one case are never tried), and its
// decoding must read as text. A run that fails whole is tried again piece
// by piece between "/" (a token at the end of a URL path). It reports false
// when no token decoded.
func base64Decode(s string) (string, bool) {
	var b []byte
	last := 0
	for i := 0; i < len(s); {
		if !isBase64Char(s[i]) {
			i++
			continue
		}
		start, lineStart := i, i
		for i < len(s) {
			if isBase64Char(s[i]) {
				i++
				continue
			}
			if s[i] == '\n' && i-lineStart >= minBase64 && i+1 < len(s) && isBase64Char(s[i+1]) {
				i++
				lineStart = i
				continue
			}
			break
		}
		for pad := 0; pad < 2 && i < len(s) && s[i] == '='; pad++ {
			i++
		}
		tok := s[start:i]
		if len(tok) < minBase64 {
			continue
		}
		dec, ok := decodeToken(tok)
		if !ok && strings.IndexByte(tok, '/') >= 0 {
			dec, ok = decodePieces(tok)
		}
		if !ok {
			continue
		}
		b = append(b, s[last:start]...)
		b = append(b, dec...)
		last = i
	}
	if last == 0 {
		return "", false
	}
	b = append(b, s[last:]...)
	return string(b), true
}

// decodePieces decodes the pieces of tok between "/" that are tokens.
func decodePieces(tok string) (string, bool) {
	var b []byte
	last := 0
	for start := 0; start < len(tok); {
		end := strings.IndexByte(tok[start:], '/')
		if end < 0 {
			end = len(tok)
		} else {
			end += start
		}
		if end-start >= minBase64 {
			if dec, ok := decodeToken(tok[start:end]); ok {
				b = append(b, tok[last:start]...)
				b = append(b, dec...)
				last = end
			}
		}
		start = end + 1
	}
	if last == 0 {
		return "", false
	}
	b = append(b, tok[last:]...)
	return string(b), true
}

// decodeToken decodes one base64 token, reporting whether it is one and its
// decoding reads as text.
func decodeToken(tok string) (string, bool) {
	core := strings.TrimRight(tok, "=")
	var upper, lower, std, url bool
	n := 0
	for i := 0; i < len(core); i++ {
		switch c := core[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z':
			lower = true
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		case c == '\n':
			continue
		}
		n++
	}
	if !upper || !lower || std && url || n < minBase64 || n%4 == 1 {
		return "", false
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	dec, err := enc.DecodeString(core)
	if err != nil {
		return "", false
	}
	s := string(dec)
	if !utf8.ValidString(s) || !textLike(s) || hasControl(s) {
		return "", false
	}
	return s, true
}

// hasControl reports a C0 or C1 control character other than tab, line feed
// and carriage return: text rarely holds one, random bytes often do.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || 0x7f <= r && r <= 0x9f {
			return true
		}
	}
	return false
}

// foldLookalikes maps Cyrillic and Greek letters that look like Latin ones
// to those Latin letters. It reports false when nothing changed.
func foldLookalikes(s string) (string, bool) {
	var b []byte
	for i, r := range s {
		l := lookalike(r)
		if l == 0 {
			if b != nil {
				b = utf8.AppendRune(b, r)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)), s[:i]...)
		}
		b = append(b, byte(l))
	}
	if b == nil {
		return "", false
	}
	return string(b), true
}
