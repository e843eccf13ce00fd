package config

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration. Load, Parse and Validate
// return all the problems they find joined by errors.Join, so
//
//	var p *config.Problem
//	errors.As(err, &p)
//
// finds the first, and err.(interface{ Unwrap() []error }) gives them all, in
// the order they occur in the file.
type Problem struct {
	// Source is the name given to Parse (the path given to Load); empty for
	// problems found by Validate on a Config built in code.
	Source string
	// Line and Column locate the problem in Source, both counted from 1;
	// 0 when unknown (a default value, or a Config built in code).
	Line, Column int
	// Path is the key path of the offending value, such as
	// "servers.remote.url" or "servers.x.args[2]"; empty for a problem with
	// the file as a whole, such as a syntax error. Keys that are not plain
	// words are quoted: servers."my server".
	Path string
	// Message says what is wrong, and where useful what would be right. It
	// never contains a resolved secret.
	Message string
}

// Error formats the problem as "source:line:column: path: message", leaving
// out the parts that are unknown.
func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Source != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", p.Source, p.Line, p.Column)
	case p.Source != "":
		b.WriteString(p.Source + ": ")
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
	}
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// pos is a place in the source; the zero pos means unknown.
type pos struct{ line, col int }

// problems collects Problems.
type problems struct {
	list []*Problem
}

// add records a problem at path.
func (ps *problems) add(path string, at pos, format string, args ...any) {
	ps.list = append(ps.list, &Problem{
		Line:    at.line,
		Column:  at.col,
		Path:    path,
		Message: fmt.Sprintf(format, args...),
	})
}

// err joins the problems, or returns nil when there are none.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	errs := make([]error, len(ps.list))
	for i, p := range ps.list {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// sortByPosition orders the problems as they occur in the file, problems
// without a position first, keeping the order of problems at the same place.
func (ps *problems) sortByPosition() {
	slices.SortStableFunc(ps.list, func(a, b *Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// plainKey matches the keys written unquoted in a path.
var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// keyPath returns the path of key within the mapping at parent.
func keyPath(parent, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexPath returns the path of item i of the sequence at parent.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}
