package pathfact

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pathNames are the argument names that hold paths, normalised (lower case,
// without '_', '-', '.' and spaces), so that file_path, filePath and
// file-path are one name.
var pathNames = map[string]struct{}{
	"path": {}, "paths": {}, "file": {}, "files": {}, "filename": {}, "filepath": {},
	"dir": {}, "directory": {}, "folder": {}, "cwd": {},
	"workdir": {}, "workingdirectory": {},
}

// ambiguousNames often hold paths and often do not ("source": "wikipedia",
// "target": "fr"): a string under them is a path when it has the shape of
// one (a separator, or a leading '.', '~' or "file:"), besides the value
// rules every string gets.
var ambiguousNames = map[string]struct{}{
	"source": {}, "src": {}, "destination": {}, "dest": {}, "dst": {}, "target": {},
	"root": {}, "location": {},
}

// pathShaped reports whether a string under an ambiguous name is a path.
func pathShaped(s string) bool {
	return strings.ContainsAny(s, "/\\") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") ||
		strings.HasPrefix(strings.ToLower(s), "file:")
}

// How a name marks the strings under it.
type nameKind int

const (
	notPathName   nameKind = iota
	pathName               // every string under it is a path
	maybePathName          // a string under it is a path when pathShaped
)

// pathWords are the last words that make a compound name a path name:
// sourcePath, output_file, log-dir, baseDirectory, inputFiles.
var pathWords = map[string]struct{}{
	"path": {}, "paths": {}, "file": {}, "files": {}, "filename": {}, "filenames": {},
	"filepath": {}, "filepaths": {}, "dir": {}, "dirs": {}, "directory": {},
	"directories": {}, "folder": {}, "folders": {},
}

// normaliseName lower-cases name and drops '_', '-', '.' and spaces.
func normaliseName(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch r {
		case '_', '-', '.', ' ':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// lastWord returns the last word of a snake_case, kebab-case or camelCase
// name, lower-cased: "sourcePath" → "path", "URLPath" → "path",
// "FILE_PATH" → "path", "output_file" → "file", "FILEPATH" → "filepath".
func lastWord(name string) string {
	name = strings.TrimRight(name, "_-. ")
	i := len(name)
	tail := false // a lower-case (or caseless) tail was taken
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(name[:i])
		if isWordSep(r) || unicode.IsUpper(r) {
			break
		}
		tail = true
		i -= size
	}
	// The capital that starts the word, or a whole run of capitals.
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(name[:i])
		if !unicode.IsUpper(r) {
			break
		}
		i -= size
		if tail {
			break
		}
	}
	return strings.ToLower(name[i:])
}

func isWordSep(r rune) bool { return r == '_' || r == '-' || r == '.' || r == ' ' }

// nameKind says whether an argument name holds paths, for a call of a tool
// whose own path arguments t names (t may be nil).
func (a *Analyzer) nameKind(name string, t *ToolArgs) nameKind {
	n := normaliseName(name)
	if _, ok := pathNames[n]; ok {
		return pathName
	}
	if _, ok := a.names[n]; ok {
		return pathName
	}
	if t.hasName(n) {
		return pathName
	}
	if _, ok := ambiguousNames[n]; ok {
		return maybePathName
	}
	if _, ok := pathWords[lastWord(name)]; ok {
		return pathName
	}
	return notPathName
}

// Facts finds every path-like string in a tool call's arguments (decoded
// JSON: map[string]any, []any, string, float64, bool, nil; []string and
// map[string]string are accepted too) and returns one Fact per path,
// ordered by JSON pointer (object keys in byte order, array elements in
// index order, depth first). A value of any other type gets a Fact with
// ErrUnsupported. It never panics and never returns nil.
func (a *Analyzer) Facts(args any) []Fact {
	return a.FactsFor(args, nil)
}

// FactsFor is Facts for a call of a tool whose configured path arguments t
// selects (see ToolArgs): those arguments are paths whatever their values
// look like, besides every argument Facts finds. A nil t is Facts.
func (a *Analyzer) FactsFor(args any, t *ToolArgs) (facts []Fact) {
	w := walker{a: a, tool: t, facts: []Fact{}}
	defer func() {
		if recover() != nil {
			facts = []Fact{{Pointer: "", Error: ErrInternal.Error()}}
		}
	}()
	w.walk(args, 0, notPathName)
	return w.facts
}

type walker struct {
	a       *Analyzer
	tool    *ToolArgs // the tool's own path arguments; may be nil
	facts   []Fact
	ptr     []byte
	nodes   int
	stopped bool
}

func (w *walker) walk(v any, depth int, kind nameKind) {
	if w.stopped {
		return
	}
	if w.nodes++; w.nodes > MaxNodes {
		w.stop(ErrTooLarge)
		return
	}
	if depth > MaxDepth {
		w.fail(ErrTooDeep)
		return
	}
	if kind != pathName && w.tool.hasPointer(w.ptr) {
		kind = pathName
	}
	switch v := v.(type) {
	case string:
		if kind == pathName || (kind == maybePathName && pathShaped(v)) || w.a.looksLikePath(v) {
			w.add(v)
		}
	case map[string]any:
		for _, k := range sortedKeys(v) {
			n := w.push(k)
			w.walk(v[k], depth+1, w.a.nameKind(k, w.tool))
			w.ptr = w.ptr[:n]
		}
	case map[string]string:
		for _, k := range sortedKeys(v) {
			n := w.push(k)
			w.walk(v[k], depth+1, w.a.nameKind(k, w.tool))
			w.ptr = w.ptr[:n]
		}
	case []any:
		for i, e := range v {
			n := w.pushIndex(i)
			w.walk(e, depth+1, kind)
			w.ptr = w.ptr[:n]
		}
	case []string:
		for i, e := range v {
			n := w.pushIndex(i)
			w.walk(e, depth+1, kind)
			w.ptr = w.ptr[:n]
		}
	case nil, bool, float64, float32, json.Number,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
	default:
		// Not decoded JSON (json.RawMessage, []byte, a struct…): what
		// it holds is unknown, so say so rather than report nothing.
		w.fail(ErrUnsupported)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// push appends an escaped reference token (RFC 6901: "~" as "~0", "/" as
// "~1") and returns the length to truncate back to.
func (w *walker) push(key string) int {
	n := len(w.ptr)
	w.ptr = append(w.ptr, '/')
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '~':
			w.ptr = append(w.ptr, '~', '0')
		case '/':
			w.ptr = append(w.ptr, '~', '1')
		default:
			w.ptr = append(w.ptr, key[i])
		}
	}
	return n
}

func (w *walker) pushIndex(i int) int {
	n := len(w.ptr)
	w.ptr = append(w.ptr, '/')
	w.ptr = strconv.AppendInt(w.ptr, int64(i), 10)
	return n
}

// add records the fact of one path, or the end of the walk when MaxPaths
// facts are already there.
func (w *walker) add(raw string) {
	if len(w.facts) >= MaxPaths {
		w.stop(ErrTooManyPaths)
		return
	}
	w.facts = append(w.facts, w.a.Analyze(string(w.ptr), raw))
}

// fail records a problem at the current pointer; the walk goes on.
func (w *walker) fail(err error) {
	if len(w.facts) >= MaxPaths {
		w.stop(ErrTooManyPaths)
		return
	}
	w.facts = append(w.facts, Fact{Pointer: string(w.ptr), Error: err.Error()})
}

// stop records a problem at the current pointer and ends the walk.
func (w *walker) stop(err error) {
	w.facts = append(w.facts, Fact{Pointer: string(w.ptr), Error: err.Error()})
	w.stopped = true
}

// looksLikePath decides whether a string under a name that is not a path
// name is a path anyway. It is a safety net, not the rule: tools' path
// arguments belong in path_args. Prose, URLs and data are left out:
// multi-line text, "scheme://" URLs other than file://, base64 data, a
// leading "/" followed by a blank, "*" or a first component with blanks
// ("/help me", "/* comment */", "// note"), and a ".." segment in a string
// with blanks or an embedded URL ("see https://x/a/../b", "cat ../../x").
func (a *Analyzer) looksLikePath(s string) bool {
	if s == "" || strings.ContainsAny(s, "\n\r") {
		return false
	}
	t := strings.TrimSpace(s)
	if isURL(t) {
		return false
	}
	if pathPrefix(t) {
		return true
	}
	if len(s) > MaxRawBytes {
		return false
	}
	if strings.ContainsFunc(t, unicode.IsSpace) || strings.Contains(t, "://") {
		// Prose, or a URL inside text: a ".." there is not a path.
		return false
	}
	if parentSegment(t) {
		return true
	}
	if isASCII(s) && strings.IndexByte(s, '%') < 0 {
		return false
	}
	// Look again at what decoding and NFKC make of it.
	n, ok := decodedForm(t)
	if !ok {
		// A single token that decodes to invalid UTF-8 ("..%c0%af")
		// or is encoded too many times: treat it as a path, whose
		// Fact will carry the error.
		return true
	}
	n = strings.TrimSpace(n)
	if isURL(n) {
		return false
	}
	if pathPrefix(n) {
		return true
	}
	return !strings.ContainsFunc(n, unicode.IsSpace) && !strings.Contains(n, "://") && parentSegment(n)
}

// parentSegment: an exact ".." segment, in a string that has a separator
// or is "..".
func parentSegment(s string) bool {
	return hasParentSegment(s) && (s == ".." || strings.ContainsAny(s, `/\`))
}

// decodedForm applies normalise and percent-decoding until stable, as
// fullInterpretation does; ok is false when that fails.
func decodedForm(s string) (string, bool) {
	if !utf8.ValidString(s) {
		return "", false
	}
	s = normalise(s)
	for round := 0; ; round++ {
		d, decoded := percentDecode(s)
		if !decoded {
			return s, true
		}
		if round >= maxDecodeRounds || !utf8.ValidString(d) {
			return "", false
		}
		d, _ = cutNUL(d)
		s = normalise(d)
	}
}

// pathPrefix reports the starts that make a string a path.
func pathPrefix(s string) bool {
	switch {
	case s == "":
		return false
	case s[0] == '/':
		return slashPath(s)
	case s[0] == '~':
		return tildePath(s)
	case isFileURI(s):
		return true
	case len(s) >= 3 && isDrive(s) && isSep(s[2]):
		return true
	case strings.HasPrefix(s, `\\`) && len(s) > 2 && !unicode.IsSpace(rune(s[2])):
		return true
	}
	return false
}

// slashPath decides whether a string starting with '/' is a path.
func slashPath(s string) bool {
	if len(s) == 1 {
		return true
	}
	switch c := s[1]; {
	case c == '*', c == ' ', c == '\t':
		return false
	case c == '/' && len(s) > 2 && (s[2] == ' ' || s[2] == '\t'):
		return false
	}
	first := strings.TrimLeft(s, "/")
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	if strings.ContainsFunc(first, unicode.IsSpace) {
		return false
	}
	return !isBase64Data(s)
}

// tildePath: "~", "~/…", "~\…" or "~name/…".
func tildePath(s string) bool {
	if len(s) == 1 || isSep(s[1]) {
		return true
	}
	i := 1
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	return i > 1 && i < len(s) && isSep(s[i])
}

func isNameByte(c byte) bool {
	return c == '.' || c == '_' || c == '-' ||
		('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// isURL reports a "scheme://" prefix with a scheme of two characters or
// more other than file (one letter is a drive).
func isURL(s string) bool {
	i := strings.Index(s, "://")
	if i < 2 {
		return false
	}
	scheme := s[:i]
	if strings.EqualFold(scheme, "file") {
		return false
	}
	for j := 0; j < len(scheme); j++ {
		c := scheme[j]
		alpha := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !alpha && (j == 0 || !(('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// isBase64Data reports a long run of base64 characters, such as an image
// ("/9j/4AAQSkZJRg…" is a JPEG), which would otherwise pass for a path.
func isBase64Data(s string) bool {
	if len(s) < 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}
