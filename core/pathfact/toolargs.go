package pathfact

import (
	"errors"
	"fmt"

	"github.com/sovereign-stack/sovereign/core/internal/jsonptr"
)

// errEmptyArg is NewToolArgs' complaint about a selector that names nothing.
var errEmptyArg = errors.New("an argument name must have a character other than '_', '-', '.' and space")

// ToolArgs selects the arguments of one tool that hold paths whatever their
// values look like: the configuration's path_args for that tool. A selector
// is either an argument name, matched at any depth like the built-in names
// (case-insensitively, ignoring '_', '-', '.' and spaces, whole names only),
// or a JSON pointer (RFC 6901, starting with "/"), matched exactly against
// the pointer of the argument ("/options/output"; a "/" inside a key is
// written "~1" and a "~" as "~0"). A string selected so, or in an array (at
// any depth of arrays) selected so, is a path; an object selected so is
// walked with its own keys.
//
// A nil *ToolArgs selects nothing. A ToolArgs is immutable and safe for
// concurrent use.
type ToolArgs struct {
	names    map[string]struct{} // normalised names
	pointers map[string]struct{}
}

// NewToolArgs compiles selectors. It fails, naming the selector, on a
// malformed pointer and on a name that is empty or made only of the
// characters names are matched without.
func NewToolArgs(selectors []string) (*ToolArgs, error) {
	t := &ToolArgs{}
	for _, sel := range selectors {
		if jsonptr.IsPointer(sel) {
			if err := jsonptr.Check(sel); err != nil {
				return nil, fmt.Errorf("pathfact: argument selector %q: %w", sel, err)
			}
			if t.pointers == nil {
				t.pointers = make(map[string]struct{})
			}
			t.pointers[sel] = struct{}{}
			continue
		}
		n := normaliseName(sel)
		if n == "" {
			return nil, fmt.Errorf("pathfact: argument selector %q: %w", sel, errEmptyArg)
		}
		if t.names == nil {
			t.names = make(map[string]struct{})
		}
		t.names[n] = struct{}{}
	}
	return t, nil
}

// hasName reports whether t selects the normalised argument name n.
func (t *ToolArgs) hasName(n string) bool {
	if t == nil || t.names == nil {
		return false
	}
	_, ok := t.names[n]
	return ok
}

// hasPointer reports whether t selects the argument at ptr.
func (t *ToolArgs) hasPointer(ptr []byte) bool {
	if t == nil || t.pointers == nil {
		return false
	}
	_, ok := t.pointers[string(ptr)]
	return ok
}
