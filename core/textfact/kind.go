package textfact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The kind of an argument comes first from the tool's own bindings, when
// the call has a ToolArgs: the JSON pointer of the value, then its name.
// Otherwise it comes from its name (the last object key on the way to the
// string), in this order:
//
//  1. a name configured in Options (CommandArgs, SQLArgs, URLArgs), compared
//     lower-cased with "_", "-", "." and spaces removed (whole names only);
//  2. a default name, compared the same way (so "command_line" is
//     "commandline");
//  3. the last word of a compound name ("run_command", "baseURL",
//     "webhook-url"), when that word is one of the unambiguous defaults (not
//     "args", "query" or "statement", which are common words in other
//     settings: "search_query", "bank_statement");
//  4. any word "sql", "url" or "uri" in a compound name ("sqlQuery",
//     "url_template").
//
// A string under a key without a kind inherits the command or sql kind of the
// nearest ancestor key that has one ({"command": {"argv": [...]}}); the url
// kind is not inherited ({"webhook": {"secret": ...}} is text). A string
// whose name gives it no kind is "url" when its value reads as an absolute
// URL, else "text".

// defaultKind returns the kind of a default argument name (lower-case,
// separators removed), or "".
func defaultKind(n string) string {
	switch n {
	case "command", "commands", "cmd", "cmds", "script", "scripts", "shell",
		"exec", "args", "argv", "commandline":
		return KindCommand
	case "sql", "query", "queries", "statement", "statements", "stmt", "stmts":
		return KindSQL
	case "url", "urls", "uri", "uris", "href", "hrefs", "endpoint", "endpoints",
		"link", "links", "webhook", "webhooks":
		return KindURL
	}
	return ""
}

// lastWordKind returns the kind of the last word of a compound name: the
// defaults that are unambiguous on their own.
func lastWordKind(w string) string {
	switch w {
	case "args", "argv", "query", "queries", "statement", "statements":
		return ""
	}
	return defaultKind(w)
}

// anyWordKind returns the kind given by any word of a compound name.
func anyWordKind(w string) string {
	switch w {
	case "sql":
		return KindSQL
	case "url", "urls", "uri", "uris":
		return KindURL
	}
	return ""
}

// kindOf returns the kind bound to an object key, or "".
func (a *Analyzer) kindOf(key string) string {
	j := joinName(lowerName(key))
	if j == "" {
		return ""
	}
	if k, ok := a.names[j]; ok {
		return k
	}
	if k := defaultKind(j); k != "" {
		return k
	}
	if !compound(key) {
		return ""
	}
	words := splitWords(key)
	if k := lastWordKind(words[len(words)-1]); k != "" {
		return k
	}
	for _, w := range words {
		if k := anyWordKind(w); k != "" {
			return k
		}
	}
	return ""
}

// lowerName lower-cases a key, without allocating when it is already
// lower-case ASCII.
func lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.ToLower(s)
		}
	}
	return s
}

func isNameSep(c byte) bool { return c == '_' || c == '-' || c == '.' || c == ' ' }

// joinName removes the separators "_", "-", "." and " " from a name.
func joinName(s string) string {
	for i := 0; i < len(s); i++ {
		if isNameSep(s[i]) {
			b := make([]byte, 0, len(s))
			for j := 0; j < len(s); j++ {
				if !isNameSep(s[j]) {
					b = append(b, s[j])
				}
			}
			return string(b)
		}
	}
	return s
}

// compound reports whether a key has more than one word: a separator, a
// lower-case letter followed by an upper-case one, or an upper-case letter
// starting a word after an acronym ("URLPath"). Non-ASCII keys count as
// compound.
func compound(s string) bool {
	upper := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	lower := func(c byte) bool { return 'a' <= c && c <= 'z' }
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isNameSep(c), c >= utf8.RuneSelf:
			return true
		case i > 0 && upper(c) && lower(s[i-1]):
			return true
		case i > 0 && upper(c) && upper(s[i-1]) && i+1 < len(s) && lower(s[i+1]):
			return true
		}
	}
	return false
}

// splitWords splits a key into lower-case words at separators and case
// changes: "webhookURL" → [webhook url], "URLPath" → [url path],
// "sql_query" → [sql query]. It returns at least one word.
func splitWords(s string) []string {
	var words []string
	rs := []rune(s)
	start := 0
	flush := func(end int) {
		if end > start {
			words = append(words, strings.ToLower(string(rs[start:end])))
		}
		start = end
	}
	for i, r := range rs {
		switch {
		case r < utf8.RuneSelf && isNameSep(byte(r)):
			flush(i)
			start = i + 1
		case i > start && unicode.IsUpper(r) && unicode.IsLower(rs[i-1]):
			flush(i) // fooBar
		case i > start && unicode.IsUpper(r) && unicode.IsUpper(rs[i-1]) &&
			i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			flush(i) // URLPath: the P starts a word
		}
	}
	flush(len(rs))
	if len(words) == 0 {
		words = append(words, "")
	}
	return words
}
