package textfact

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/core/internal/jsonptr"
)

// errEmptyArg is NewToolArgs' complaint about a selector that names nothing.
var errEmptyArg = errors.New(`an argument name must have a character other than "_", "-", "." and blanks`)

// toolKindOrder is the order in which NewToolArgs applies the kinds: a
// selector given for several kinds gets the last of them.
var toolKindOrder = []string{KindText, KindURL, KindSQL, KindCommand}

// ToolArgs binds arguments of one tool to kinds: the configuration's
// command_args and sql_args for that tool. A selector is either an argument
// name, compared like the names of Options (case-insensitively, "_", "-",
// "." and spaces ignored, whole names only, at any depth), or a JSON pointer
// (RFC 6901, starting with "/"), matched exactly against the pointer of the
// value ("/options/script"; a "/" inside a key is written "~1" and a "~" as
// "~0"). A binding comes before every rule of kind.go: a pointer first, then
// a name. What is under a bound object or array inherits a command or sql
// kind as under a default name.
//
// A nil *ToolArgs binds nothing. A ToolArgs is immutable and safe for
// concurrent use.
type ToolArgs struct {
	names    map[string]string // lower-case, separators removed → kind
	pointers map[string]string // pointer → kind
}

// NewToolArgs compiles bindings given as kind → selectors, for instance
// {KindCommand: {"script"}, KindSQL: {"q", "/options/filter"}}. The kinds
// are KindCommand, KindSQL, KindURL and KindText; a selector listed under
// several kinds gets the most specific (command, then sql, url, text). It
// fails, naming the selector, on an unknown kind, a malformed pointer and a
// name that is empty or made only of the characters names are compared
// without.
func NewToolArgs(bindings map[string][]string) (*ToolArgs, error) {
	for kind := range bindings {
		if !slices.Contains(toolKindOrder, kind) {
			return nil, fmt.Errorf("textfact: unknown kind %q (want %s)", kind, strings.Join(toolKindOrder, ", "))
		}
	}
	t := &ToolArgs{}
	for _, kind := range toolKindOrder {
		for _, sel := range bindings[kind] {
			if jsonptr.IsPointer(sel) {
				if err := jsonptr.Check(sel); err != nil {
					return nil, fmt.Errorf("textfact: argument selector %q: %w", sel, err)
				}
				if t.pointers == nil {
					t.pointers = make(map[string]string)
				}
				t.pointers[sel] = kind
				continue
			}
			n := joinName(strings.ToLower(strings.TrimSpace(sel)))
			if n == "" {
				return nil, fmt.Errorf("textfact: argument selector %q: %w", sel, errEmptyArg)
			}
			if t.names == nil {
				t.names = make(map[string]string)
			}
			t.names[n] = kind
		}
	}
	return t, nil
}

// nameKind returns the kind t binds to an object key, or "".
func (t *ToolArgs) nameKind(key string) string {
	if t == nil || t.names == nil {
		return ""
	}
	return t.names[joinName(lowerName(key))]
}

// pointerKind returns the kind t binds to the value at ptr, or "".
func (t *ToolArgs) pointerKind(ptr []byte) string {
	if t == nil || t.pointers == nil {
		return ""
	}
	return t.pointers[string(ptr)]
}
