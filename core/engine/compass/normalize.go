package compass

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalize returns the text compass matches on: format characters (Unicode
// Cf: zero-width space and joiners, word joiner, byte-order mark, bidi
// controls, the tag block) and variation selectors removed before and after
// NFKC (so fullwidth "ｒｍ －ｒｆ" is "rm -rf"), every dash and minus sign a
// '-', every space a ' '. Case is kept (rm -R and git branch -D are not
// their lower-case forms); words are compared in lower case.
func Normalize(s string) string {
	s = strings.Map(dropInvisible, s)
	s = norm.NFKC.String(s)
	return strings.Map(dropInvisible, s)
}

func dropInvisible(r rune) rune {
	switch {
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r):
		return -1
	case r == '\n' || r == '\r' || r == '\t':
		if r == '\r' {
			return '\n'
		}
		return r
	case unicode.Is(unicode.Pd, r), r == '\u2212', r == '\uFE63', r == '\uFF0D':
		return '-'
	case unicode.IsSpace(r), unicode.Is(unicode.Zs, r):
		return ' '
	case unicode.IsControl(r):
		return -1
	}
	return r
}

// words splits normalised text into whole words: runs of letters, digits
// and apostrophes; everything else separates. "thread-index" is "thread",
// "index".
func words(s string) []string {
	ws := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '%')
	})
	out := ws[:0]
	for _, w := range ws {
		if w = strings.Trim(w, "'"); w != "" {
			out = append(out, w)
		}
	}
	return out
}
