package catalog

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Snapshot is what one upstream offers, as raw JSON items from its list
// methods.
type Snapshot struct {
	Server    string
	Prefix    string
	Tools     []json.RawMessage
	Prompts   []json.RawMessage
	Resources []json.RawMessage
	Templates []json.RawMessage
}

// Entry is one exposed item and where it comes from.
type Entry struct {
	Name     string          // exposed name (tools, prompts) or URI (resources, templates)
	Server   string          // upstream server key
	Original string          // the upstream's own name, URI or URI template
	Raw      json.RawMessage // the item exactly as the upstream listed it
	// Annotations are a tool's "annotations" object as listed (tools only).
	Annotations json.RawMessage
}

// Catalog is the merged, routed view of all upstreams. It is immutable once
// built; the proxy swaps whole catalogs.
type Catalog struct {
	Tools     []Entry
	Prompts   []Entry
	Resources []Entry
	Templates []Entry
	// Problems lists what Build resolved or skipped: collisions, malformed
	// items. Each is a complete sentence for the operational log.
	Problems []string

	tools     map[string]int
	prompts   map[string]int
	resources map[string]int
}

// RewrittenURIScheme starts a resource URI the proxy rewrote because two
// upstreams listed the same URI.
const RewrittenURIScheme = "sovereign+upstream://"

// Build merges snapshots. Servers are taken in name order and items in the
// order each server listed them, so the same inputs always give the same
// names.
func Build(snaps []Snapshot) *Catalog {
	sorted := append([]Snapshot(nil), snaps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Server < sorted[j].Server })
	c := &Catalog{tools: map[string]int{}, prompts: map[string]int{}, resources: map[string]int{}}
	for _, s := range sorted {
		c.Tools = c.addNamed(c.Tools, c.tools, s, "tool", s.Tools)
		c.Prompts = c.addNamed(c.Prompts, c.prompts, s, "prompt", s.Prompts)
		c.addResources(s)
		c.addTemplates(s)
	}
	return c
}

func (c *Catalog) problem(format string, args ...any) {
	c.Problems = append(c.Problems, fmt.Sprintf(format, args...))
}

// rawField returns one field of a raw item as raw JSON, nil when absent.
func rawField(raw json.RawMessage, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m[key]
}

// field reads one string field of a raw item.
func field(raw json.RawMessage, key string) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return "", false
	}
	var v string
	if json.Unmarshal(m[key], &v) != nil || v == "" {
		return "", false
	}
	return v, true
}

func (c *Catalog) addNamed(list []Entry, index map[string]int, s Snapshot, kind string, items []json.RawMessage) []Entry {
	for _, raw := range items {
		orig, ok := field(raw, "name")
		if !ok {
			c.problem("server %q listed a %s without a name; skipped", s.Server, kind)
			continue
		}
		name := Expose(s.Prefix, orig)
		if i, taken := index[name]; taken && list[i].Server == s.Server && list[i].Original == orig {
			c.problem("server %q lists %s %q more than once; the first is kept", s.Server, kind, orig)
			continue
		}
		if _, taken := index[name]; taken {
			resolved := disambiguate(name, s.Server, orig)
			if _, still := index[resolved]; still {
				c.problem("%s %q of server %q collides with %q of server %q, and still after disambiguation; skipped",
					kind, orig, s.Server, name, list[index[name]].Server)
				continue
			}
			c.problem("%s name %q of server %q collides with %q of server %q; exposed as %q",
				kind, orig, s.Server, name, list[index[name]].Server, resolved)
			name = resolved
		}
		index[name] = len(list)
		entry := Entry{Name: name, Server: s.Server, Original: orig, Raw: raw}
		if kind == "tool" {
			entry.Annotations = rawField(raw, "annotations")
		}
		list = append(list, entry)
	}
	return list
}

func (c *Catalog) addResources(s Snapshot) {
	for _, raw := range s.Resources {
		orig, ok := field(raw, "uri")
		if !ok {
			c.problem("server %q listed a resource without a uri; skipped", s.Server)
			continue
		}
		uri := orig
		if i, taken := c.resources[uri]; taken {
			uri = RewriteURI(s.Server, orig)
			c.problem("resource %q of server %q is also listed by server %q; exposed as %q",
				orig, s.Server, c.Resources[i].Server, uri)
		} else if strings.HasPrefix(orig, RewrittenURIScheme) {
			uri = RewriteURI(s.Server, orig)
			c.problem("resource %q of server %q uses the proxy's own scheme; exposed as %q", orig, s.Server, uri)
		}
		if uri != orig {
			if _, still := c.resources[uri]; still {
				c.problem("resource %q of server %q listed twice; skipped", orig, s.Server)
				continue
			}
		}
		c.resources[uri] = len(c.Resources)
		c.Resources = append(c.Resources, Entry{Name: uri, Server: s.Server, Original: orig, Raw: raw})
	}
}

func (c *Catalog) addTemplates(s Snapshot) {
	for _, raw := range s.Templates {
		orig, ok := field(raw, "uriTemplate")
		if !ok {
			c.problem("server %q listed a resource template without a uriTemplate; skipped", s.Server)
			continue
		}
		dup := false
		for _, t := range c.Templates {
			if t.Original == orig {
				c.problem("resource template %q of server %q is also listed by server %q; the first is kept",
					orig, s.Server, t.Server)
				dup = true
				break
			}
		}
		if !dup {
			c.Templates = append(c.Templates, Entry{Name: orig, Server: s.Server, Original: orig, Raw: raw})
		}
	}
}

// RewriteURI makes the exposed URI of a resource whose URI another upstream
// already uses. ParseRewrittenURI reverses it.
func RewriteURI(server, uri string) string {
	return RewrittenURIScheme + url.PathEscape(server) + "/" + url.PathEscape(uri)
}

// ParseRewrittenURI returns the server and original URI of a rewritten URI.
func ParseRewrittenURI(uri string) (server, original string, ok bool) {
	rest, found := strings.CutPrefix(uri, RewrittenURIScheme)
	if !found {
		return "", "", false
	}
	s, o, found := strings.Cut(rest, "/")
	if !found {
		return "", "", false
	}
	server, err1 := url.PathUnescape(s)
	original, err2 := url.PathUnescape(o)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return server, original, true
}

// Tool finds an exposed tool.
func (c *Catalog) Tool(name string) (Entry, bool) { return lookup(c.Tools, c.tools, name) }

// Prompt finds an exposed prompt.
func (c *Catalog) Prompt(name string) (Entry, bool) { return lookup(c.Prompts, c.prompts, name) }

// Resource finds a listed resource by its exposed URI.
func (c *Catalog) Resource(uri string) (Entry, bool) { return lookup(c.Resources, c.resources, uri) }

// ToolIndex is the position of an exposed tool in the catalog's order, or
// len(Tools) when unknown.
func (c *Catalog) ToolIndex(name string) int { return position(c.tools, name, len(c.Tools)) }

// PromptIndex is the position of an exposed prompt, or len(Prompts).
func (c *Catalog) PromptIndex(name string) int { return position(c.prompts, name, len(c.Prompts)) }

func position(index map[string]int, key string, missing int) int {
	if i, ok := index[key]; ok {
		return i
	}
	return missing
}

func lookup(list []Entry, index map[string]int, key string) (Entry, bool) {
	if c := index; c != nil {
		if i, ok := c[key]; ok {
			return list[i], true
		}
	}
	return Entry{}, false
}
