package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/sovereign-stack/sovereign/core/internal/anchorspec"
)

// Load reads the configuration file at path and returns it as Parse does,
// naming path in every problem. It reports every problem it finds at once.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading configuration: %w", err)
	}
	return Parse(data, path)
}

// Parse reads a configuration file's content; source names it in problems
// (usually its path). It starts from Default(), decodes data strictly over
// it (YAML, or JSON, which is YAML too), resolves ${env:...} and
// ${file:...} references from the process environment and file system,
// expands paths, infers transports, then validates. On failure it returns
// the zero Config and every problem found, joined by errors.Join, each a
// *Problem with its key path and, where known, its line and column.
func Parse(data []byte, source string) (Config, error) {
	return parse(data, source, osEnv())
}

// parse is Parse with the operating system passed in.
func parse(data []byte, source string, e env) (Config, error) {
	ps := &problems{}
	root := parseYAML(data, ps)
	if root == nil {
		return Config{}, finish(ps, source)
	}
	cfg := defaults(e)
	d := newDecoder(ps)
	d.config(root, &cfg)
	d.normalise(&cfg, e)

	// Validate last, leaving out what is already reported for the same key
	// (a value that failed to decode or expand keeps its default, or its
	// text as written).
	reported := make(map[string]bool, len(ps.list))
	for _, p := range ps.list {
		reported[p.Path] = true
	}
	found := &problems{}
	cfg.validate(found, func(path string) bool { return reported[path] })
	for _, p := range found.list {
		if reported[p.Path] {
			continue
		}
		p.Line, p.Column = d.position(p.Path)
		ps.list = append(ps.list, p)
	}
	if err := finish(ps, source); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// finish names source in every problem, sorts them by position and joins
// them.
func finish(ps *problems, source string) error {
	for _, p := range ps.list {
		p.Source = source
	}
	ps.sortByPosition()
	return ps.err()
}

// utf8BOM is the byte order mark some editors write at the start of a file.
var utf8BOM = []byte("\xef\xbb\xbf")

// parseYAML parses data into a node tree, or reports why it cannot and
// returns nil. An empty document is a null node.
func parseYAML(data []byte, ps *problems) *node {
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		ps.add("", invalidUTF8At(data), "the file is not valid UTF-8 text")
		return nil
	}
	file, err := parseBytes(data)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
			at := ye.GetToken().Position
			ps.add("", pos{at.Line, at.Column}, "invalid YAML: %s", ye.GetMessage())
		} else {
			ps.add("", pos{}, "invalid YAML: %v", err)
		}
		return nil
	}
	var bodies []ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.DirectiveNode); ok {
			continue
		}
		bodies = append(bodies, doc.Body)
	}
	switch len(bodies) {
	case 0:
		return &node{kind: kindNull}
	case 1:
		c := &converter{probs: ps, anchors: map[string]*node{}}
		return c.convert(bodies[0], "")
	default:
		ps.add("", posOf(bodies[1]), "the file holds %d YAML documents; it must hold exactly one", len(bodies))
		return nil
	}
}

// parseBytes runs the YAML parser, turning a panic in it into an error: the
// parser is a dependency, and a malformed file must never crash Sovereign.
func parseBytes(data []byte) (file *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			file, err = nil, fmt.Errorf("the YAML parser failed on this file (%v)", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// invalidUTF8At returns the position of the first byte of data that is not
// valid UTF-8.
func invalidUTF8At(data []byte) pos {
	at := pos{line: 1, col: 1}
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return at
		}
		if r == '\n' {
			at.line++
			at.col = 1
		} else {
			at.col++
		}
		data = data[size:]
	}
	return at
}

// normalise completes the decoded configuration: it applies "type" aliases,
// resolves references, expands paths and infers transports.
func (d *decoder) normalise(cfg *Config, e env) {
	if cfg.DataDir == "" {
		d.probs.add("data_dir", d.at["data_dir"], "must not be empty; leave it out for the default")
	} else if p, err := expandPath(cfg.DataDir, e); err != nil {
		d.probs.add("data_dir", d.at["data_dir"], "%v", err)
	} else {
		cfg.DataDir = p
	}
	expandAll := func(list []string, path string) {
		for i, p := range list {
			if abs, err := expandPath(p, e); err != nil {
				d.probs.add(indexPath(path, i), d.at[indexPath(path, i)], "%v", err)
			} else {
				list[i] = abs
			}
		}
	}
	expandAll(cfg.Roots, "roots")
	expandAll(cfg.Policy.Paths, "policy.paths")
	expandAll(cfg.Policy.Data, "policy.data")
	for i, a := range cfg.Audit.Anchors {
		// Only directories are paths; URLs (and bad entries, which
		// Validate reports) stay as written.
		if spec, err := anchorspec.Parse(a); err != nil || spec.Kind != anchorspec.Dir {
			continue
		}
		path := indexPath("audit.anchors", i)
		if abs, err := expandPath(a, e); err != nil {
			d.probs.add(path, d.at[path], "%v", err)
		} else {
			cfg.Audit.Anchors[i] = abs
		}
	}
	for path, v := range map[string]*string{"audit.dir": &cfg.Audit.Dir, "audit.keys_dir": &cfg.Audit.KeysDir} {
		if *v == "" {
			continue // Config.AuditDir and AuditKeysDir give the defaults
		}
		if abs, err := expandPath(*v, e); err != nil {
			d.probs.add(path, d.at[path], "%v", err)
		} else {
			*v = abs
		}
	}
	for _, name := range d.names {
		s := cfg.Servers[name]
		sp := keyPath("servers", name)
		if t, ok := d.types[name]; ok {
			switch s.Transport {
			case "":
				s.Transport = t
			case t:
			default:
				d.probs.add(sp+".type", d.at[sp+".type"],
					"means %s but transport says %q; set only one of them", t, s.Transport)
			}
		}

		s.URL = d.expand(s.URL, sp+".url", e)
		for i := range s.Args {
			s.Args[i] = d.expand(s.Args[i], indexPath(sp+".args", i), e)
		}
		for _, k := range sortedKeys(s.Env) {
			s.Env[k] = d.expand(s.Env[k], keyPath(sp+".env", k), e)
		}
		for _, k := range sortedKeys(s.Headers) {
			s.Headers[k] = d.expand(s.Headers[k], keyPath(sp+".headers", k), e)
		}

		if s.Cwd != "" {
			if p, err := expandPath(s.Cwd, e); err != nil {
				d.probs.add(sp+".cwd", d.at[sp+".cwd"], "%v", err)
			} else {
				s.Cwd = p
			}
		}
		if s.Transport == "" {
			s.Transport = inferTransport(s)
		}
		cfg.Servers[name] = s
	}
}

// expand resolves the references in the value at path, reporting those that
// cannot be. When one cannot, the value is kept as written, so that later
// checks see that it is there.
func (d *decoder) expand(v, path string, e env) string {
	out, errs := expandRefs(v, e)
	for _, msg := range errs {
		d.probs.add(path, d.at[path], "%s", msg)
	}
	if len(errs) > 0 {
		return v
	}
	return out
}

// position returns where path, or failing that the nearest enclosing key
// written in the file, is.
func (d *decoder) position(path string) (line, col int) {
	for p := path; p != ""; {
		if at, ok := d.at[p]; ok {
			return at.line, at.col
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0, 0
}

// inferTransport returns the transport of a server that does not name one:
// stdio for a command; for a URL, sse when its path ends in /sse, else
// streamable-http. It returns "" when the server has both or neither.
func inferTransport(s Server) string {
	switch {
	case s.Command != "" && s.URL == "":
		return TransportStdio
	case s.URL != "" && s.Command == "":
		u, err := url.Parse(s.URL)
		if err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/sse") {
			return TransportSSE
		}
		return TransportStreamableHTTP
	default:
		return ""
	}
}
