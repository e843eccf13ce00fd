package textfact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// decodeHiddenChars returns s with the text hidden in Unicode tag characters
// (U+E0020…U+E007E stand for ASCII) and in variation selectors (U+FE00…
// U+FE0F and U+E0100…U+E01EF stand for the bytes 0…255, as in "emoji
// smuggling") decoded in place.
func decodeHiddenChars(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case 0xE0020 <= r && r <= 0xE007E:
			b = append(b, byte(r-0xE0000))
		case 0xE0000 <= r && r <= 0xE007F:
			// tag controls carry no text
		case 0xFE00 <= r && r <= 0xFE0F:
			b = append(b, byte(r-0xFE00))
		case 0xE0100 <= r && r <= 0xE01EF:
			b = append(b, byte(r-0xE0100+16))
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// hiddenMarkup reports whether markup hides text: an HTML comment, or CSS
// display:none, visibility:hidden, font-size:0 or opacity:0.
func hiddenMarkup(s string) bool {
	if strings.Contains(s, "<!--") {
		return true
	}
	return cssProperty(s, "display", func(v string) bool { return hasPrefixFold(v, "none") }) ||
		cssProperty(s, "visibility", func(v string) bool { return hasPrefixFold(v, "hidden") }) ||
		cssProperty(s, "font-size", zeroValue) ||
		cssProperty(s, "opacity", zeroValue)
}

// zeroValue reports whether a CSS value starts with a zero that is not the
// start of a larger or fractional number ("0", "0px", "0;" but not "0.5").
func zeroValue(v string) bool {
	if !strings.HasPrefix(v, "0") {
		return false
	}
	v = strings.TrimLeft(v, "0")
	return v == "" || !(v[0] == '.' || '0' <= v[0] && v[0] <= '9')
}

// cssProperty reports whether s holds "prop : value" (ASCII
// case-insensitive) for which match(value) holds.
func cssProperty(s, prop string, match func(string) bool) bool {
	for len(s) >= len(prop) {
		i := indexFold(s, prop)
		if i < 0 {
			return false
		}
		rest := strings.TrimLeft(s[i+len(prop):], " \t\n")
		if strings.HasPrefix(rest, ":") && match(strings.TrimLeft(rest[1:], " \t\n")) {
			return true
		}
		s = s[i+len(prop):]
	}
	return false
}

// indexFold is strings.Index with ASCII case folding; sub is lower-case.
func indexFold(s, sub string) int {
	if len(sub) == 0 {
		return 0
	}
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == first && hasPrefixFold(s[i:], sub) {
			return i
		}
	}
	return -1
}

// hasPrefixFold is strings.HasPrefix with ASCII case folding; prefix is
// lower-case letters, digits and punctuation.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// textLike reports whether s reads as text: at least 80% of its characters,
// not counting invisible ones, are printable or whitespace.
func textLike(s string) bool {
	printable, total := 0, 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			total++
			if c >= 0x20 && c < 0x7f || c == '\n' || c == '\r' || c == '\t' {
				printable++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 {
			total++
			continue
		}
		switch classify(r) {
		case clsZeroWidth, clsBidi, clsTag, clsSelector:
			continue
		}
		total++
		if unicode.IsGraphic(r) {
			printable++
		}
	}
	return total > 0 && printable*5 >= total*4
}

// lookalike returns the Latin letter a Cyrillic or Greek letter looks like,
// or 0.
func lookalike(r rune) rune {
	switch r {
	// Cyrillic lower case
	case 'а':
		return 'a'
	case 'е', 'ё':
		return 'e'
	case 'о':
		return 'o'
	case 'р':
		return 'p'
	case 'с':
		return 'c'
	case 'у':
		return 'y'
	case 'х':
		return 'x'
	case 'і':
		return 'i'
	case 'ј':
		return 'j'
	case 'ѕ':
		return 's'
	case 'ԁ':
		return 'd'
	case 'һ':
		return 'h'
	case 'ԛ':
		return 'q'
	case 'ԝ':
		return 'w'
	case 'ѵ':
		return 'v'
	// Cyrillic upper case
	case 'А':
		return 'A'
	case 'В':
		return 'B'
	case 'Е', 'Ё':
		return 'E'
	case 'К':
		return 'K'
	case 'М':
		return 'M'
	case 'Н':
		return 'H'
	case 'О':
		return 'O'
	case 'Р':
		return 'P'
	case 'С':
		return 'C'
	case 'Т':
		return 'T'
	case 'Х':
		return 'X'
	case 'У', 'Ү':
		return 'Y'
	case 'І':
		return 'I'
	case 'Ј':
		return 'J'
	case 'Ѕ':
		return 'S'
	case 'Ԛ':
		return 'Q'
	case 'Ԝ':
		return 'W'
	// Greek lower case
	case 'α':
		return 'a'
	case 'ο':
		return 'o'
	case 'ρ':
		return 'p'
	case 'ν':
		return 'v'
	case 'ι':
		return 'i'
	case 'κ':
		return 'k'
	case 'υ':
		return 'u'
	case 'χ':
		return 'x'
	case 'γ':
		return 'y'
	// Greek upper case
	case 'Α':
		return 'A'
	case 'Β':
		return 'B'
	case 'Ε':
		return 'E'
	case 'Ζ':
		return 'Z'
	case 'Η':
		return 'H'
	case 'Ι':
		return 'I'
	case 'Κ':
		return 'K'
	case 'Μ':
		return 'M'
	case 'Ν':
		return 'N'
	case 'Ο':
		return 'O'
	case 'Ρ':
		return 'P'
	case 'Τ':
		return 'T'
	case 'Υ':
		return 'Y'
	case 'Χ':
		return 'X'
	}
	return 0
}
