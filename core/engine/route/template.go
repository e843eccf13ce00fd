package route

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrTemplate: a leaf template is malformed.
var ErrTemplate = errors.New("invalid route template")

// part is a piece of a template: literal text, or a placeholder.
type part struct {
	literal string
	name    string // placeholder when not empty
	def     string
	hasDef  bool
}

// placeholderName is a packet key a template may name: a word, nothing
// more (no attribute access, indexing or format spec).
var placeholderName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// parseTemplate splits a template into literals and {name} or
// {name=default} placeholders.
func parseTemplate(t string) ([]part, error) {
	var parts []part
	for len(t) > 0 {
		open := strings.IndexAny(t, "{}")
		if open < 0 {
			parts = append(parts, part{literal: t})
			break
		}
		if t[open] == '}' {
			return nil, fmt.Errorf("%w: %q has a '}' without its '{'", ErrTemplate, t)
		}
		if open > 0 {
			parts = append(parts, part{literal: t[:open]})
		}
		end := strings.IndexByte(t[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("%w: %q has a '{' without its '}'", ErrTemplate, t)
		}
		body := t[open+1 : open+end]
		p := part{name: body}
		if n, d, ok := strings.Cut(body, "="); ok {
			p.name, p.def, p.hasDef = n, d, true
			if d == "" || strings.ContainsAny(d, "{") {
				return nil, fmt.Errorf("%w: the default of {%s} is empty or malformed", ErrTemplate, body)
			}
		}
		if !placeholderName.MatchString(p.name) {
			return nil, fmt.Errorf("%w: {%s} is not a placeholder: only {name} and {name=default} are supported (no attribute access, indexing or format specs)", ErrTemplate, body)
		}
		parts = append(parts, p)
		t = t[open+end+1:]
	}
	return parts, nil
}
