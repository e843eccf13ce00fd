package pathfact

import (
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Analyze canonicalises one raw path string and returns its Fact, with
// pointer as its Pointer. It never panics.
func (a *Analyzer) Analyze(pointer, raw string) (f Fact) {
	defer func() {
		if recover() != nil {
			f = Fact{Pointer: pointer, Raw: keptRaw(raw), Error: ErrInternal.Error()}
		}
	}()
	f.Pointer = pointer
	f.Raw = raw
	if len(raw) > MaxRawBytes {
		f.Raw = keptRaw(raw)
		f.Error = ErrTooLong.Error()
		return f
	}
	if err := a.analyze(&f, raw); err != nil {
		f.Error = err.Error()
		f.Canonical, f.Root = "", ""
		f.WithinRoots, f.Exists, f.Writable = false, false, false
	}
	return f
}

// keptRaw is the part of a raw value kept in a Fact when the value is too
// long to analyse: its first maxRawKept bytes, cut at a rune boundary.
func keptRaw(raw string) string {
	if len(raw) <= maxRawKept {
		return raw
	}
	n := maxRawKept
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return raw[:n]
}

// interpretation is one way a tool may read a raw path: an absolute path
// (lexically cleaned, and as joined, before cleaning), or a Windows
// absolute path that no unix root can hold.
type interpretation struct {
	clean  string
	joined string // "" when no ".." segment makes it differ from clean
	winAbs bool
}

// analyze fills f. It computes two interpretations of raw:
//
//   - full: everything a lenient tool might do, applied until stable —
//     NFKC and look-alike folding, file URI parsing, percent-decoding (up
//     to maxDecodeRounds rounds), backslashes as separators, surrounding
//     white space trimmed, "~" expansion, joined to Cwd;
//   - literal: what a plain unix tool hands to open(2) — the raw value (the
//     path of a file URI decoded once), "~" expanded, joined to Cwd.
//
// Each is resolved twice when it holds a ".." segment: cleaned first, as
// path.resolve and os.path.abspath do, and as the kernel walks it, where
// ".." after a symbolic link climbs from the link's target.
//
// Canonical is the full interpretation, cleaned, with its links resolved.
// WithinRoots needs every resolution to be within the roots; Sensitive needs
// any of them, or any cleaned interpretation, to match.
func (a *Analyzer) analyze(f *Fact, raw string) error {
	if !utf8.ValidString(raw) {
		return ErrInvalidUTF8
	}
	if hasDotSegment(raw) {
		f.Traversal = true
	}
	if hasUEncoding(raw) {
		return ErrUEncoding
	}
	if strings.IndexByte(raw, '\\') >= 0 || isDrive(raw) {
		f.WindowsForm = true
	}
	lit, nul := cutNUL(raw)
	f.NUL = nul

	full, err := a.fullInterpretation(f, lit)
	if err != nil {
		return err
	}
	literal, err := a.literalInterpretation(f, lit)
	if err != nil {
		return err
	}

	var rf resolution
	if full.winAbs {
		// A Windows absolute path names nothing on this system.
		rf.path = full.clean
	} else if rf, err = resolve(full.clean); err != nil {
		return err
	}
	f.Canonical = rf.path
	f.Exists = rf.exists
	f.Writable = rf.writable
	f.IsSymlink = rf.symlink
	if !full.winAbs {
		f.Root = a.rootOf(rf.path)
	}
	f.WithinRoots = f.Root != ""

	// The other readings, each resolved once.
	candidates := make([]string, 0, 6)
	candidates = append(candidates, full.clean, rf.path)
	others := [3]string{full.joined, literal.clean, literal.joined}
	for i, p := range others {
		if p == "" || p == full.clean || slices.Contains(others[:i], p) {
			continue
		}
		r, err := resolve(p)
		if err != nil {
			return err
		}
		f.IsSymlink = f.IsSymlink || r.symlink
		if a.rootOf(r.path) == "" {
			f.WithinRoots = false
		}
		candidates = append(candidates, r.path)
		if i == 1 {
			candidates = append(candidates, p)
		}
	}
	if !f.WithinRoots {
		f.Root = ""
	}
	if reason := a.sensitiveReason(candidates); reason != "" {
		f.Sensitive, f.SensitiveReason = true, reason
	}
	return nil
}

// fullInterpretation applies every normalisation a lenient tool might.
func (a *Analyzer) fullInterpretation(f *Fact, s string) (interpretation, error) {
	n := normalise(s)
	if n != s {
		f.Lookalike = true
	}
	s = strings.TrimSpace(n)
	uri := false
	if isFileURI(s) {
		p, err := fileURIPath(s)
		if err != nil {
			return interpretation{}, err
		}
		s, uri, f.URI = p, true, true
	}
	uriAtStart := uri
	limit := maxDecodeRounds
	if uriAtStart {
		limit++ // the URI's own decoding
	}
	rounds := 0
	for {
		if hasDotSegment(s) {
			f.Traversal = true
		}
		if len(s) > MaxRawBytes {
			return interpretation{}, ErrTooLong
		}
		d, decoded := percentDecode(s)
		if !decoded {
			break
		}
		if rounds++; rounds > limit {
			return interpretation{}, ErrEncodedTooDeep
		}
		if !utf8.ValidString(d) {
			return interpretation{}, ErrInvalidUTF8
		}
		if hasDotSegment(d) {
			f.Traversal = true
		}
		if cut, nul := cutNUL(d); nul {
			f.NUL = true
			d = cut
		}
		if n := normalise(d); n != d {
			f.Lookalike = true
			d = n
		}
		s = strings.TrimSpace(d)
		if !uri && isFileURI(s) {
			// Decoding turned it into a URI: read it as one too.
			p, err := fileURIPath(s)
			if err != nil {
				return interpretation{}, err
			}
			s, uri, f.URI = p, true, true
		}
	}
	if uriAtStart {
		rounds--
	}
	f.Encoded = rounds > 0
	s = strings.TrimSpace(s)
	if hasDotSegment(s) {
		f.Traversal = true
	}

	if strings.IndexByte(s, '\\') >= 0 || isDrive(s) || (uri && isDrive(strings.TrimPrefix(s, "/"))) {
		f.WindowsForm = true
	}
	if f.WindowsForm {
		unc := strings.HasPrefix(s, `\\`)
		s = strings.ReplaceAll(s, `\`, "/")
		if uri {
			s = strings.TrimPrefix(s, "/")
		}
		switch {
		case isDrive(s):
			return windowsAbs("/"+strings.ToUpper(s[:1])+":", s[2:]), nil
		case unc || strings.HasPrefix(s, "//"):
			return windowsAbs("/UNC", s[2:]), nil
		case uri:
			s = "/" + s
		}
	}
	return a.absolute(s, true)
}

// windowsAbs maps a Windows absolute path to a unix-looking one: "C:\x\y"
// to "/C:/x/y" and "\\server\share\x" to "/UNC/server/share/x". The tail
// is cleaned as if rooted, so ".." cannot climb out of the drive or share.
func windowsAbs(prefix, tail string) interpretation {
	t := path.Clean("/" + tail)
	if t == "/" {
		return interpretation{clean: prefix, winAbs: true}
	}
	return interpretation{clean: prefix + t, winAbs: true}
}

// literalInterpretation reads s as a plain unix tool would.
func (a *Analyzer) literalInterpretation(f *Fact, s string) (interpretation, error) {
	if isFileURI(s) {
		p, err := fileURIPath(s)
		if err != nil {
			return interpretation{}, err
		}
		d, _ := percentDecode(p)
		if !utf8.ValidString(d) {
			return interpretation{}, ErrInvalidUTF8
		}
		if hasDotSegment(d) {
			f.Traversal = true
		}
		if cut, nul := cutNUL(d); nul {
			f.NUL = true
			d = cut
		}
		s = d
		f.URI = true
	}
	return a.absolute(s, false)
}

// absolute expands "~" and joins a relative path to Cwd. A "~user" form
// is an error when strict, a relative name otherwise.
func (a *Analyzer) absolute(s string, strict bool) (interpretation, error) {
	switch {
	case s == "~" || strings.HasPrefix(s, "~/"):
		s = a.home + s[1:]
	case strict && strings.HasPrefix(s, "~"):
		return interpretation{}, ErrTildeUser
	}
	if !strings.HasPrefix(s, "/") {
		s = a.cwd + "/" + s
	}
	p := path.Clean(s)
	if len(p) > maxPathBytes {
		return interpretation{}, ErrPathMax
	}
	in := interpretation{clean: p}
	if hasParentSegment(s) {
		in.joined = s
	}
	return in, nil
}

// isDrive reports a Windows drive prefix: a letter, ':', then the end or a
// separator ("C:", "C:\x", "c:/x").
func isDrive(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20
	if c < 'a' || c > 'z' {
		return false
	}
	return len(s) == 2 || isSep(s[2])
}

// isFileURI reports a "file:" scheme (in any case) followed by '/' — or by
// a drive letter, which RFC 8089 also allows.
func isFileURI(s string) bool {
	if len(s) < 6 || !strings.EqualFold(s[:5], "file:") {
		return false
	}
	return s[5] == '/' || isDrive(s[5:])
}

// fileURIPath returns the still percent-encoded path of a file URI. The
// host must be empty or "localhost"; a query or fragment is refused,
// because tools disagree on whether '?' and '#' end the path.
func fileURIPath(s string) (string, error) {
	rest := s[5:]
	if strings.ContainsAny(rest, "?#") {
		return "", ErrURIQuery
	}
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:]
		host := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			host, rest = rest[:i], rest[i:]
		} else {
			rest = "/"
		}
		if host != "" && !strings.EqualFold(host, "localhost") {
			return "", ErrURIHost
		}
		return rest, nil
	}
	return rest, nil // "file:/x" or "file:C:/x": isFileURI checked the form
}
