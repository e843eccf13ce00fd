package textfact

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// hints describe a text for the fast paths; scan computes them in one pass.
type hints uint8

const (
	hNormal    hints = 1 << iota // printable ASCII already in normal form
	hPercent                     // has '%'
	hAmp                         // has '&'
	hBackslash                   // has '\\'
	hBase64                      // has a run of ≥ 16 base64-alphabet bytes
	hLess                        // has '<'
	hColon                       // has ':'
	hASCII                       // all bytes are ASCII

	hDecode = hPercent | hAmp | hBackslash | hBase64
)

const minBase64 = 16 // shortest base64 token decoded

func isBase64Char(c byte) bool { return byteClass[c] == bcBase64 }

// byteClass maps each byte to its class for scan: bcBase64 (the standard
// and URL alphabets), bcSpace (space, line feed), bcMark (% & \\ < :, which
// start an encoding, markup or a scheme), bcControl (other controls and
// DEL), bcHigh (non-ASCII), bcOther (other printable ASCII).
const byteClass = "" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x02\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04" +
	"\x02\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x01\x00\x01\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x03\x00\x03\x00\x00\x00" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x03\x00\x00\x01" +
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x04" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05" +
	"\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05"

// Byte classes (byteClass).
const (
	bcOther = iota
	bcBase64
	bcSpace
	bcMark
	bcControl
	bcHigh
)

// scan computes the hints of s. hNormal is set when s is printable ASCII
// (plus "\n") with no run of two whitespace characters: normalize would
// return it unchanged.
func scan(s string) hints {
	h := hNormal | hASCII
	run := 0
	ws := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch byteClass[c] {
		case bcOther:
			run, ws = 0, false
		case bcBase64:
			run++
			if run >= minBase64 {
				h |= hBase64
			}
			ws = false
		case bcSpace:
			if ws {
				h &^= hNormal
			}
			run, ws = 0, true
		case bcMark:
			switch c {
			case '%':
				h |= hPercent
			case '&':
				h |= hAmp
			case '\\':
				h |= hBackslash
			case '<':
				h |= hLess
			case ':':
				h |= hColon
			}
			run, ws = 0, false
		case bcControl:
			h &^= hNormal
			run, ws = 0, false
		default:
			h &^= hNormal | hASCII
			run, ws = 0, false
		}
	}
	return h
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for j := 0; j < utf8.UTFMax && i > 0 && !utf8.RuneStart(s[i]); j++ {
		i--
	}
	if i > 0 && !utf8.RuneStart(s[i]) {
		i = n // not UTF-8 here anyway
	}
	return s[:i]
}

// Character classes removed by normalisation.
type charClass uint8

const (
	clsKeep      charClass = iota
	clsZeroWidth           // zero-width and other invisible characters
	clsBidi                // bidi controls
	clsTag                 // Unicode tag characters
	clsSelector            // variation selectors
	clsControl             // other control and format characters
)

// classify returns the class of a non-ASCII rune.
func classify(r rune) charClass {
	switch {
	case r == 0x200B, r == 0x200C, r == 0x200D, 0x2060 <= r && r <= 0x2064,
		r == 0xFEFF, r == 0x00AD, r == 0x180E, r == 0x034F, r == 0x17B4, r == 0x17B5:
		return clsZeroWidth
	case 0x202A <= r && r <= 0x202E, 0x2066 <= r && r <= 0x2069,
		r == 0x200E, r == 0x200F, r == 0x061C:
		return clsBidi
	case 0xE0000 <= r && r <= 0xE007F:
		return clsTag
	case 0xFE00 <= r && r <= 0xFE0F, 0xE0100 <= r && r <= 0xE01EF:
		return clsSelector
	case r == 0x85:
		return clsKeep // NEL is whitespace
	case 0x80 <= r && r <= 0x9F:
		return clsControl
	case r < 0x600:
		return clsKeep // no other format character below U+0600
	case unicode.Is(unicode.Cf, r):
		return clsControl
	}
	return clsKeep
}

// legitInvisible reports the invisible characters that ordinary text holds,
// which normalisation removes without a signal: a byte order mark at the
// start, and a zero-width joiner or non-joiner between two characters that
// are neither ASCII nor Latin, Greek or Cyrillic letters (emoji sequences,
// Persian and Indic scripts). Between such letters they can hide a word, and
// are signalled.
func legitInvisible(r rune, at int, prev rune, rest string) bool {
	switch r {
	case 0xFEFF:
		return at == 0
	case 0x200C, 0x200D:
		next, _ := utf8.DecodeRuneInString(rest)
		return joinable(prev) && joinable(next)
	}
	return false
}

func joinable(r rune) bool {
	if r < utf8.RuneSelf || r == utf8.RuneError {
		return false
	}
	switch scriptOf(r) {
	case scriptLatin, scriptLookalike:
		return false
	}
	return classify(r) == clsKeep
}

// isRTL reports a letter of a right-to-left script (Hebrew, Arabic, Syriac,
// Thaana, N'Ko and their presentation forms).
func isRTL(r rune) bool {
	return 0x590 <= r && r <= 0x8FF || 0xFB1D <= r && r <= 0xFDFF || 0xFE70 <= r && r <= 0xFEFC
}

func isASCIIKeep(c byte) bool {
	return c >= 0x20 && c != 0x7f || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// isSpace reports whether r is whitespace for collapsing: Unicode white
// space and the characters that render as a blank (Hangul fillers, the
// blank braille pattern).
func isSpace(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r == ' ' || '\t' <= r && r <= '\r'
	case r < 0x115F:
		return r == 0x85 || r == 0xA0
	}
	return unicode.IsSpace(r) || r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 || r == 0x2800
}

// Scripts of a letter, for the mixed-script signal.
const (
	scriptNone = iota // not a letter: ends a word
	scriptMark        // a combining mark, or a letter of another script
	scriptLatin
	scriptLookalike // Cyrillic or Greek
)

// scriptOf returns the script class of a non-ASCII rune, with fast paths for
// the Latin, Greek and Cyrillic blocks.
func scriptOf(r rune) int {
	switch {
	case r < 0xC0:
		return scriptNone
	case r < 0x250:
		if r == 0xD7 || r == 0xF7 {
			return scriptNone
		}
		return scriptLatin
	case 0x300 <= r && r < 0x370:
		return scriptMark
	case 0x370 <= r && r < 0x530:
		return scriptLookalike
	case 0x1E00 <= r && r < 0x1F00:
		return scriptLatin
	case 0x1F00 <= r && r < 0x2000:
		return scriptLookalike
	case unicode.IsLetter(r):
		if unicode.Is(unicode.Latin, r) {
			return scriptLatin
		}
		if unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r) {
			return scriptLookalike
		}
		return scriptMark
	case unicode.Is(unicode.Mn, r):
		return scriptMark
	}
	return scriptNone
}

func isLineBreak(r rune) bool {
	return r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
}

// normalize returns the normal form of s: invisible, bidi, tag, variation
// selector and control characters removed (tab, CR and LF are whitespace),
// invalid UTF-8 replaced by U+FFFD, NFKC applied, runs of whitespace
// collapsed to one "\n" when they hold a line break and to one space
// otherwise; the result is cut at maxLen bytes. It also returns the signals
// observed and, when s hides text in tag characters or variation selectors,
// that text decoded in place (not normalised).
func normalize(s string, maxLen int) (string, signals, string) {
	return normalizeHinted(s, scan(s), maxLen)
}

// normalizeHinted is normalize given the hints of s.
func normalizeHinted(s string, h hints, maxLen int) (string, signals, string) {
	if h&hASCII != 0 {
		n, sig := normalizeASCII(s)
		return n, sig, ""
	}
	var sig signals
	b := make([]byte, 0, len(s))
	hiddenChars := false
	track := false // Cyrillic or Greek seen: look for mixed words
	rtl := false   // right-to-left letters seen
	marks := false // LRM, RLM or ALM seen
	prev := rune(0)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			j := i
			for j < len(s) && s[j] >= 0x20 && s[j] < 0x7f {
				j++
			}
			if j > i {
				b = append(b, s[i:j]...)
				prev = rune(s[j-1])
				i = j
				continue
			}
			if isASCIIKeep(c) {
				b = append(b, c)
				prev = rune(c)
			} else {
				sig |= sigControlChars
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sig |= sigInvalidUTF8
			b = utf8.AppendRune(b, utf8.RuneError)
			prev = utf8.RuneError
			i++
			continue
		}
		switch classify(r) {
		case clsKeep:
			b = append(b, s[i:i+size]...)
			prev = r
			track = track || 0x370 <= r && r <= 0x52F || 0x1C80 <= r && r <= 0x1FFF || 0x2DE0 <= r && r <= 0x2DFF || 0xA640 <= r && r <= 0xA69F
			rtl = rtl || isRTL(r)
		case clsZeroWidth:
			if !legitInvisible(r, i, prev, s[i+size:]) {
				sig |= sigZeroWidth | sigHiddenText
			}
		case clsBidi:
			if r == 0x200E || r == 0x200F || r == 0x061C {
				marks = true
			} else {
				sig |= sigBidi | sigHiddenText
			}
		case clsTag:
			sig |= sigTagChars | sigHiddenText
			hiddenChars = true
		case clsSelector:
			if r >= 0xE0100 {
				sig |= sigHiddenText
				hiddenChars = true
			}
		case clsControl:
			sig |= sigControlChars
		}
		i += size
	}
	if marks && !rtl {
		sig |= sigBidi | sigHiddenText
	}

	if !norm.NFKC.IsNormal(b) {
		b = norm.NFKC.Append(make([]byte, 0, len(b)+len(b)/8+4), b...)
		sig |= sigNFKCChanged
		track = true // NFKC maps mathematical letters to Greek, among others
	}

	// Collapse whitespace in place (the output never outgrows the input) and
	// look for words mixing Latin with Cyrillic or Greek.
	out := b[:0]
	inSpace, lineBreak := false, false
	latin, other := false, false
	for i := 0; i < len(b); {
		if b[i] > ' ' && b[i] < 0x7f {
			j := i
			if track {
				for ; j < len(b) && b[j] > ' ' && b[j] < 0x7f; j++ {
					if c := b[j] | 0x20; 'a' <= c && c <= 'z' {
						latin = true
					} else {
						if latin && other {
							sig |= sigMixedScripts
						}
						latin, other = false, false
					}
				}
			} else {
				for j < len(b) && b[j] > ' ' && b[j] < 0x7f {
					j++
				}
			}
			if inSpace {
				out = appendSpace(out, lineBreak)
				inSpace, lineBreak = false, false
			}
			out = append(out, b[i:j]...)
			i = j
			continue
		}
		r, size := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		j := i
		i += size
		if isSpace(r) {
			inSpace = true
			lineBreak = lineBreak || isLineBreak(r)
			if latin && other {
				sig |= sigMixedScripts
			}
			latin, other = false, false
			continue
		}
		if r >= utf8.RuneSelf && classify(r) != clsKeep {
			continue // NFKC does not produce these; kept for safety
		}
		if inSpace {
			out = appendSpace(out, lineBreak)
			inSpace, lineBreak = false, false
		}
		if size == 1 {
			out = append(out, byte(r))
		} else {
			out = append(out, b[j:i]...)
		}
		if !track {
			continue
		}
		sc := scriptNone
		if r >= utf8.RuneSelf {
			sc = scriptOf(r)
		} else if 'a' <= r|0x20 && r|0x20 <= 'z' {
			sc = scriptLatin
		}
		switch sc {
		case scriptLatin:
			latin = true
		case scriptLookalike:
			other = true
		case scriptMark:
			// stays in its word
		default:
			if latin && other {
				sig |= sigMixedScripts
			}
			latin, other = false, false
		}
	}
	if inSpace {
		out = appendSpace(out, lineBreak)
	}
	if latin && other {
		sig |= sigMixedScripts
	}
	if len(out) > maxLen {
		out = cutNormalized(out, maxLen)
		sig |= sigTruncated
	}

	hidden := ""
	if hiddenChars {
		hidden = decodeHiddenChars(s)
	}
	return string(out), sig, hidden
}

// appendSpace appends the one character a run of whitespace collapses to.
func appendSpace(b []byte, lineBreak bool) []byte {
	if lineBreak {
		return append(b, '\n')
	}
	return append(b, ' ')
}

// normalizeASCII is normalize for ASCII text: controls removed, whitespace
// collapsed; the result is never longer than s.
func normalizeASCII(s string) (string, signals) {
	var sig signals
	b := make([]byte, 0, len(s))
	inSpace, lineBreak := false, false
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] > ' ' && s[j] != 0x7f {
			j++
		}
		if j > i {
			if inSpace {
				b = appendSpace(b, lineBreak)
				inSpace, lineBreak = false, false
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		switch c := s[i]; c {
		case ' ', '\t':
			inSpace = true
		case '\n', '\r', '\v', '\f':
			inSpace, lineBreak = true, true
		default:
			sig |= sigControlChars
		}
		i++
	}
	if inSpace {
		b = appendSpace(b, lineBreak)
	}
	return string(b), sig
}

// cutNormalized cuts normalised text at most n bytes long at a
// normalisation boundary, so that the result is still normalised.
func cutNormalized(b []byte, n int) []byte {
	i := n
	for i > 0 && !utf8.RuneStart(b[i]) {
		i--
	}
	c := b[:i]
	if lb := norm.NFKC.LastBoundary(c); lb > 0 {
		c = c[:lb]
	}
	return c
}
