// Package jsonptr checks the JSON pointers (RFC 6901) with which the
// configuration selects a tool's arguments, for core/config (validation)
// and the fact packages (per-tool argument selectors). A pointer is
// compared with the pointers the fact walkers build, which escape "~" as
// "~0" and "/" as "~1", so a valid pointer is already in that form.
package jsonptr

import (
	"errors"
	"strings"
)

// The problems Check reports.
var (
	errNoSlash = errors.New(`a JSON pointer must start with "/"`)
	errTilde   = errors.New(`in a JSON pointer "~" must be followed by "0" or "1" (write "~0" for "~" and "~1" for "/")`)
)

// IsPointer reports whether an argument selector is a JSON pointer (it
// starts with "/") rather than an argument name.
func IsPointer(sel string) bool { return strings.HasPrefix(sel, "/") }

// Check returns what is wrong with p as a JSON pointer to an argument, or
// nil: it must start with "/" (the empty pointer, the arguments as a whole,
// selects no argument), and every "~" must start one of the escapes "~0" or
// "~1".
func Check(p string) error {
	if !IsPointer(p) {
		return errNoSlash
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '~' && (i+1 == len(p) || (p[i+1] != '0' && p[i+1] != '1')) {
			return errTilde
		}
	}
	return nil
}
