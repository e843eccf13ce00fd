package pathfact

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/core/internal/hexdigit"
	"golang.org/x/text/unicode/norm"
)

// confusables maps characters that look like the ASCII characters a path
// is made of to those characters. It covers what NFKC leaves alone (NFKC
// already folds the fullwidth and small forms, U+2024 and U+2025). Letters
// of real scripts (katakana NO, for one) are left out on purpose: mapping
// them would break ordinary file names.
var confusables = map[rune]string{
	// '/'
	0x1735: "/", // PHILIPPINE SINGLE PUNCTUATION
	0x2044: "/", // FRACTION SLASH
	0x2215: "/", // DIVISION SLASH
	0x2571: "/", // BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT
	0x27CB: "/", // MATHEMATICAL RISING DIAGONAL
	0x29F8: "/", // BIG SOLIDUS
	0xFF0F: "/", // FULLWIDTH SOLIDUS (also folded by NFKC)
	// '\\'
	0x2216: `\`, // SET MINUS
	0x2572: `\`, // BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT
	0x27CD: `\`, // MATHEMATICAL FALLING DIAGONAL
	0x29F5: `\`, // REVERSE SOLIDUS OPERATOR
	0x29F9: `\`, // BIG REVERSE SOLIDUS
	0xFE68: `\`, // SMALL REVERSE SOLIDUS (also folded by NFKC)
	0xFF3C: `\`, // FULLWIDTH REVERSE SOLIDUS (also folded by NFKC)
	// '.'
	0x0701:  ".", // SYRIAC SUPRALINEAR FULL STOP
	0x0702:  ".", // SYRIAC SUBLINEAR FULL STOP
	0x06D4:  ".", // ARABIC FULL STOP
	0x2024:  ".", // ONE DOT LEADER (also folded by NFKC)
	0x2E3C:  ".", // STENOGRAPHIC FULL STOP
	0x3002:  ".", // IDEOGRAPHIC FULL STOP
	0xA4F8:  ".", // LISU LETTER TONE MYA TI
	0xA60E:  ".", // VAI FULL STOP
	0xFE52:  ".", // SMALL FULL STOP (also folded by NFKC)
	0xFF0E:  ".", // FULLWIDTH FULL STOP (also folded by NFKC)
	0xFF61:  ".", // HALFWIDTH IDEOGRAPHIC FULL STOP
	0x10A50: ".", // KHAROSHTHI PUNCTUATION DOT
	// ':'
	0x0589: ":", // ARMENIAN FULL STOP
	0x2236: ":", // RATIO
	0xA789: ":", // MODIFIER LETTER COLON
	0xFE13: ":", // PRESENTATION FORM FOR VERTICAL COLON
	// '~'
	0x2053: "~", // SWUNG DASH
	0x223C: "~", // TILDE OPERATOR
	// '%'
	0x066A: "%", // ARABIC PERCENT SIGN
}

// isIgnorable reports invisible characters that change which file a path
// names without changing how it looks: format characters (zero-width
// spaces and joiners, bidirectional controls, the BOM, soft hyphens, tags)
// and a few fillers. Variation selectors are not listed: they only change
// how an emoji is drawn.
func isIgnorable(r rune) bool {
	switch r {
	case 0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// isASCII reports whether s is pure ASCII, for which normalise is the
// identity.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalise returns s in NFKC with look-alike characters mapped to the
// ASCII they imitate and invisible characters removed. s must be valid
// UTF-8. normalise(s) != s is the Lookalike signal.
func normalise(s string) string {
	if isASCII(s) {
		return s
	}
	n := norm.NFKC.String(s)
	if !changedByMap(n) {
		return n
	}
	var b strings.Builder
	b.Grow(len(n))
	for _, r := range n {
		if rep, ok := confusables[r]; ok {
			b.WriteString(rep)
			continue
		}
		if isIgnorable(r) {
			continue
		}
		b.WriteRune(r)
	}
	// Removing an invisible character can bring a combining mark next
	// to a base it composes with.
	return norm.NFKC.String(b.String())
}

// changedByMap reports whether n holds a look-alike or an invisible
// character.
func changedByMap(n string) bool {
	for _, r := range n {
		if _, ok := confusables[r]; ok || isIgnorable(r) {
			return true
		}
	}
	return false
}

// percentDecode decodes every well-formed %XX escape of s once and reports
// whether there was one. A '%' not followed by two hex digits stays as it
// is: file names may contain '%'. The result may be invalid UTF-8.
func percentDecode(s string) (string, bool) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, false
	}
	var b []byte
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := hexdigit.Value(s[i+1])
			lo, ok2 := hexdigit.Value(s[i+2])
			if ok1 && ok2 {
				if b == nil {
					b = make([]byte, 0, len(s))
					b = append(b, s[:i]...)
				}
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return s, false
	}
	return string(b), true
}

// isSep reports a separator on either family of systems.
func isSep(c byte) bool { return c == '/' || c == '\\' }

// hasDotSegment reports a segment (between '/' or '\\') made only of dots
// and spaces with at least two dots: "..", and the forms that reach ".."
// on Windows (which strips trailing dots and spaces) or through filters
// that remove "../" once ("....//").
func hasDotSegment(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !isSep(s[i]) {
			continue
		}
		if dotSegment(s[start:i]) {
			return true
		}
		start = i + 1
	}
	return false
}

func dotSegment(seg string) bool {
	if strings.HasPrefix(seg, "..;") {
		return true // "..;" is ".." to servers that strip path parameters (Tomcat, Spring)
	}
	dots := 0
	for i := 0; i < len(seg); i++ {
		switch seg[i] {
		case '.':
			dots++
		case ' ':
		default:
			return false
		}
	}
	return dots >= 2
}

// hasParentSegment reports an exact ".." segment, the stricter test used to
// decide whether a string under an unknown name is a path.
func hasParentSegment(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !isSep(s[i]) {
			continue
		}
		if s[start:i] == ".." {
			return true
		}
		start = i + 1
	}
	return false
}

// cutNUL returns s up to its first NUL byte and whether there was one.
func cutNUL(s string) (string, bool) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i], true
	}
	return s, false
}

// hasUEncoding reports a non-standard "%uXXXX" escape (IIS), which some
// servers decode and which hides characters from percent-decoding.
func hasUEncoding(s string) bool {
	for i := 0; i+6 <= len(s); i++ {
		if s[i] == '%' && (s[i+1] == 'u' || s[i+1] == 'U') {
			ok := true
			for j := i + 2; j < i+6; j++ {
				if _, isHex := hexdigit.Value(s[j]); !isHex {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
	}
	return false
}
