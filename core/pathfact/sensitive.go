package pathfact

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// SensitivePattern is one entry of the sensitive list.
type SensitivePattern struct {
	Pattern string `json:"pattern"`
	Reason  string `json:"reason"`
}

// defaultSensitive is the default sensitive list, in matching order: the
// first pattern that matches gives Fact.SensitiveReason.
var defaultSensitive = [...]SensitivePattern{
	{"**/.ssh/**", "ssh keys and configuration"},
	{"id_rsa*", "ssh private keys"},
	{"id_dsa*", "ssh private keys"},
	{"id_ecdsa*", "ssh private keys"},
	{"id_ed25519*", "ssh private keys"},
	{"*.pem", "private keys and certificates"},
	{"*.key", "private keys and certificates"},
	{"*.p12", "private keys and certificates"},
	{"*.pfx", "private keys and certificates"},
	{"**/.gnupg/**", "gpg keys"},
	{"**/.aws/**", "cloud credentials (aws)"},
	{"**/.config/gcloud/**", "cloud credentials (gcloud)"},
	{"**/.azure/**", "cloud credentials (azure)"},
	{"**/.kube/config", "cloud credentials (kubernetes)"},
	{"**/.docker/config.json", "cloud credentials (docker registries)"},
	{"**/.bash_history", "shell history"},
	{"**/.zsh_history", "shell history"},
	{"**/.history", "shell history"},
	{"**/.python_history", "shell history"},
	{"**/.node_repl_history", "shell history"},
	{"**/.psql_history", "shell history"},
	{"**/.mysql_history", "shell history"},
	{"**/.env", "environment files"},
	{"**/.env.*", "environment files"},
	{"/etc/shadow", "system password hashes"},
	{"/etc/shadow-", "system password hashes"},
	{"/etc/gshadow", "system password hashes"},
	{"/etc/gshadow-", "system password hashes"},
	{"/etc/master.passwd", "system password hashes"},
	{"/etc/sudoers", "sudo configuration"},
	{"/etc/sudoers.d/**", "sudo configuration"},
	{"**/.netrc", "credential files"},
	{"**/.git-credentials", "credential files"},
	{"**/.npmrc", "credential files"},
	{"**/.pypirc", "credential files"},
	{"**/.config/gh/hosts.yml", "credential files"},
	{"**/.password-store/**", "password stores"},
	{"~/Library/Keychains/**", "password stores"},
	{"~/.mozilla/firefox/**", "browser profiles"},
	{"~/.config/google-chrome/**", "browser profiles"},
	{"~/.config/chromium/**", "browser profiles"},
	{"~/Library/Application Support/Google/Chrome/**", "browser profiles"},
	{"~/Library/Application Support/Firefox/**", "browser profiles"},
}

// DefaultSensitive returns the default sensitive list.
//
// Syntax: a pattern is a slash-separated list of components matched
// against the components of a path, case-insensitively (so that it holds
// on case-insensitive file systems too).
//   - "~/" at the start anchors it at the home directory (both as given
//     and with its symbolic links resolved); "/" at the start anchors it at
//     the file system root; any other pattern may match at any depth, as
//     if it began with "**/" ("*.pem" matches every .pem file).
//   - "**" as a whole component matches zero or more components, so
//     "~/.ssh/**" matches ~/.ssh itself and everything below it.
//   - Any other component is matched with path.Match: '*' is any run of
//     characters inside one component, '?' one character, "[...]" a class.
//   - ".." components, "~user" and NUL bytes are rejected.
//
// Absolute patterns are also matched with the symbolic links of their
// fixed leading part resolved (/etc/shadow matches /private/etc/shadow on
// macOS). A fact is sensitive when any interpretation of the path, before
// or after its links are resolved, matches.
func DefaultSensitive() []SensitivePattern {
	return append([]SensitivePattern(nil), defaultSensitive[:]...)
}

// pattern is one compiled sensitive pattern.
type pattern struct {
	reason   string
	variants [][]component
}

// component is one compiled, lower-case pattern component.
type component struct {
	kind componentKind
	s    string
}

type componentKind uint8

const (
	anyRun  componentKind = iota // "**": zero or more components
	literal                      // no wildcard
	prefix                       // "abc*"
	suffix                       // "*abc"
	glob                         // anything else, for path.Match
)

func compileComponent(c string) component {
	switch {
	case c == "**":
		return component{kind: anyRun}
	case !hasMeta(c):
		return component{kind: literal, s: c}
	case len(c) > 1 && c[len(c)-1] == '*' && !hasMeta(c[:len(c)-1]):
		return component{kind: prefix, s: c[:len(c)-1]}
	case len(c) > 1 && c[0] == '*' && !hasMeta(c[1:]):
		return component{kind: suffix, s: c[1:]}
	}
	return component{kind: glob, s: c}
}

func (c component) match(name string) bool {
	switch c.kind {
	case literal:
		return c.s == name
	case prefix:
		return strings.HasPrefix(name, c.s)
	case suffix:
		return strings.HasSuffix(name, c.s)
	case glob:
		ok, err := path.Match(c.s, name)
		return ok && err == nil
	}
	return false
}

// compilePatterns compiles the default list (unless turned off) and the
// configured patterns, in that order.
func compilePatterns(opts Options, home string) ([]pattern, error) {
	var list []SensitivePattern
	if !opts.NoDefaultSensitive {
		list = append(list, defaultSensitive[:]...)
	}
	for _, p := range opts.Sensitive {
		list = append(list, SensitivePattern{Pattern: p, Reason: "configured pattern " + p})
	}
	out := make([]pattern, 0, len(list))
	for i, sp := range list {
		p, err := compilePattern(sp, home)
		if err != nil {
			return nil, fmt.Errorf("pathfact: sensitive pattern %d %q: %w", i, sp.Pattern, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func compilePattern(sp SensitivePattern, home string) (pattern, error) {
	p := strings.TrimSpace(sp.Pattern)
	out := pattern{reason: sp.Reason}
	switch {
	case p == "":
		return out, errEmptyPattern
	case strings.IndexByte(p, 0) >= 0:
		return out, errNUL
	}
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		p = home + p[1:]
	case strings.HasPrefix(p, "~"):
		return out, ErrTildeUser
	case strings.HasPrefix(p, "/"):
		// Absolute: anchored at the file system root.
	default:
		// Relative: matches at any depth.
		comps, err := patternComponents(p)
		if err != nil {
			return out, err
		}
		if len(comps) == 0 || comps[0].kind != anyRun {
			comps = append([]component{{kind: anyRun}}, comps...)
		}
		out.variants = [][]component{comps}
		return out, nil
	}
	// As written, and with the links of its fixed part resolved (which
	// covers a home directory reached through a link).
	for i, v := range []string{p, resolveFixedPrefix(p)} {
		if i == 1 && path.Clean(v) == path.Clean(p) {
			break
		}
		comps, err := patternComponents(v)
		if err != nil {
			return out, err
		}
		out.variants = append(out.variants, comps)
	}
	return out, nil
}

// patternComponents splits a pattern into compiled lower-case components,
// dropping empty and "." ones, and checks each.
func patternComponents(p string) ([]component, error) {
	var comps []component
	for c := range strings.SplitSeq(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, errDotDotInPattern
		}
		c = strings.ToLower(c)
		if c != "**" {
			if _, err := path.Match(c, ""); err != nil {
				return nil, err
			}
		}
		comps = append(comps, compileComponent(c))
	}
	return comps, nil
}

// resolveFixedPrefix resolves the symbolic links of the part of an
// absolute pattern before its first wildcard. On any trouble it returns
// the pattern unchanged (the pattern as written is matched anyway).
func resolveFixedPrefix(p string) string {
	p = path.Clean(p)
	fixed, tail := p, ""
	if i := strings.IndexAny(p, `*?[\`); i >= 0 {
		j := strings.LastIndexByte(p[:i], '/')
		fixed, tail = p[:j], p[j:]
		if fixed == "" {
			return p
		}
	}
	r, err := resolve(fixed)
	if err != nil {
		return p
	}
	if r.path == "/" {
		return "/" + strings.TrimPrefix(tail, "/")
	}
	return r.path + tail
}

// hasMeta reports whether a component needs path.Match.
func hasMeta(c string) bool { return strings.ContainsAny(c, `*?[\`) }

// sensitiveReason returns the reason of the first pattern that matches any
// of the clean absolute paths, or "".
func (a *Analyzer) sensitiveReason(paths []string) string {
	if len(a.sensitive) == 0 {
		return ""
	}
	split := make([][]string, 0, len(paths))
	for i, p := range paths {
		if p == "" || slices.Contains(paths[:i], p) {
			continue
		}
		split = append(split, pathComponents(strings.ToLower(p)))
	}
	for _, pat := range a.sensitive {
		for _, v := range pat.variants {
			for _, comps := range split {
				if matchComponents(v, comps) {
					return pat.reason
				}
			}
		}
	}
	return ""
}

// pathComponents splits a clean absolute path into its components.
func pathComponents(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// matchComponents matches components against a pattern in which anyRun
// stands for any run of components. It backtracks only to the last anyRun,
// which is enough because anyRun matches any run: O(len(pat)·len(name)).
func matchComponents(pat []component, name []string) bool {
	// Most patterns end with a fixed component: check it first.
	if n := len(pat); n > 0 && pat[n-1].kind != anyRun {
		if len(name) == 0 || !pat[n-1].match(name[len(name)-1]) {
			return false
		}
	}
	pi, ni := 0, 0
	starP, starN := -1, 0
	for ni < len(name) {
		if pi < len(pat) {
			if pat[pi].kind == anyRun {
				starP, starN = pi, ni
				pi++
				continue
			}
			if pat[pi].match(name[ni]) {
				pi++
				ni++
				continue
			}
		}
		if starP >= 0 {
			pi = starP + 1
			starN++
			ni = starN
			continue
		}
		return false
	}
	for pi < len(pat) && pat[pi].kind == anyRun {
		pi++
	}
	return pi == len(pat)
}
