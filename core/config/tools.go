package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sovereign-stack/sovereign/core/internal/jsonptr"
)

// Effect classes a Tool may set.
const (
	// EffectRead: the tool only reads.
	EffectRead = "read"
	// EffectWrite: the tool changes things, without destroying any.
	EffectWrite = "write"
	// EffectDestructive: the tool may delete or overwrite.
	EffectDestructive = "destructive"
	// EffectExec: the tool runs commands or code; its text arguments are
	// checked as commands by the default policy.
	EffectExec = "exec"
)

// toolEffects are the values Tool.Effect may take besides "".
var toolEffects = []string{EffectRead, EffectWrite, EffectDestructive, EffectExec}

// toolWildcards are the characters of a Tools key that match more than
// themselves: "*" any run of characters (none included), "?" one character.
const toolWildcards = "*?"

// Tool is one entry under a server's "tools": what the policy gate takes
// for a tool instead of, or besides, what its server announces. Server
// annotations are untrusted hints; these settings are the operator's.
//
// An argument selector (in PathArgs, CommandArgs and SQLArgs) is either an
// argument name, matched at any depth, case-insensitively and ignoring "_",
// "-", "." and spaces (so "work_dir" also matches "workDir"), or a JSON
// pointer (RFC 6901) starting with "/", matched exactly against the place of
// the argument ("/options/output"; "~1" stands for a "/" inside a key and
// "~0" for "~").
type Tool struct {
	// Effect is key "effect": "read", "write", "destructive" or "exec". When
	// set it replaces the effect class derived from the tool's annotations
	// (policies see input.tool.effect_source "config"). Default (empty):
	// the annotations decide.
	Effect string `json:"effect,omitempty" yaml:"effect,omitempty"`
	// PathArgs is key "path_args": arguments that are paths whatever their
	// values look like, so they are canonicalised and checked against the
	// roots, besides the arguments found by their names or values.
	PathArgs []string `json:"path_args,omitempty" yaml:"path_args,omitempty"`
	// CommandArgs is key "command_args": arguments that are shell commands
	// (string facts of kind "command"), whatever their names.
	CommandArgs []string `json:"command_args,omitempty" yaml:"command_args,omitempty"`
	// SQLArgs is key "sql_args": arguments that are SQL (string facts of
	// kind "sql"), whatever their names.
	SQLArgs []string `json:"sql_args,omitempty" yaml:"sql_args,omitempty"`
}

// MatchTool returns the key of s.Tools whose entry applies to the tool the
// server calls name: the key equal to name; else, among the keys with
// wildcards ("*" matches any run of characters, "?" one character) that
// match name, the one with the most other characters, and of those the
// first in byte order. ok is false when no key applies.
func (s Server) MatchTool(name string) (key string, ok bool) {
	if _, exact := s.Tools[name]; exact {
		return name, true
	}
	best := -1
	for k := range s.Tools {
		if !strings.ContainsAny(k, toolWildcards) || !globMatch(k, name) {
			continue
		}
		lit := len(k) - strings.Count(k, "*") - strings.Count(k, "?")
		if lit > best || (lit == best && k < key) {
			key, best = k, lit
		}
	}
	return key, best >= 0
}

// globMatch reports whether name matches pattern, where "*" matches any run
// of bytes and "?" one character; every other byte matches itself.
func globMatch(pattern, name string) bool {
	// The classic linear-time algorithm: on a mismatch, let the last "*"
	// take one more character.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == '?':
			p++
			n += runeLen(name[n:])
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark += runeLen(name[mark:])
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// runeLen is the length in bytes of the first UTF-8 character of s (one
// for an invalid byte).
func runeLen(s string) int {
	for i := 1; i < len(s) && i < 4; i++ {
		if s[i]&0xC0 != 0x80 {
			return i
		}
	}
	return min(len(s), 4)
}

// validate adds the problems of the tool entry at tp, whose key is key.
func (t Tool) validate(ps *problems, tp, key string) {
	switch {
	case key == "":
		ps.add(tp, pos{}, "a tool name must not be empty")
	case hasControl(key) || strings.ContainsAny(key, "\t"):
		ps.add(tp, pos{}, "a tool name must not contain control characters")
	case strings.ContainsAny(key, "[]{}"):
		ps.add(tp, pos{}, "only \"*\" and \"?\" are wildcards in a tool name; \"[\", \"]\", \"{\" and \"}\" are not supported")
	}
	if t.Effect != "" && !slices.Contains(toolEffects, t.Effect) {
		ps.add(tp+".effect", pos{}, "must be one of %s, not %q", strings.Join(toolEffects, ", "), t.Effect)
	}
	for _, list := range []struct {
		key  string
		sels []string
	}{{"path_args", t.PathArgs}, {"command_args", t.CommandArgs}, {"sql_args", t.SQLArgs}} {
		for i, sel := range list.sels {
			if msg := checkArgSelector(sel); msg != "" {
				ps.add(indexPath(tp+"."+list.key, i), pos{}, "%s", msg)
			}
		}
	}
}

// checkArgSelector checks an argument name or JSON pointer and returns what
// is wrong with it, or "".
func checkArgSelector(sel string) string {
	if jsonptr.IsPointer(sel) {
		if err := jsonptr.Check(sel); err != nil {
			return fmt.Sprintf("%v, not %q", err, sel)
		}
		return ""
	}
	if strings.Trim(sel, "_-. \t") == "" {
		return fmt.Sprintf("must be an argument name or a JSON pointer starting with \"/\", not %q", sel)
	}
	if strings.Contains(sel, "/") {
		return fmt.Sprintf("an argument name cannot contain \"/\" and a JSON pointer starts with one (\"/%s\"), not %q", strings.TrimLeft(sel, "~/"), sel)
	}
	return ""
}
