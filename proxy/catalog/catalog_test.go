package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func raws(items ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(items))
	for i, s := range items {
		out[i] = json.RawMessage(s)
	}
	return out
}

// longTool is a tool name too long to expose as is.
var longTool = "list_" + strings.Repeat("very_long_", 9) + "commits"

// buildSnapshots is a multi-server input exercising every rule of Build.
// The raw items carry odd spacing and key order on purpose: they must come
// out byte for byte.
func buildSnapshots() []Snapshot {
	return []Snapshot{
		{
			Server: "alpha", Prefix: "fs",
			Tools: raws(
				`{"name":"read_file","description":"alpha reads","inputSchema":{"type":"object"}}`,
				`{ "z": [1, 2],   "name" : "weird.name with spaces" }`,
				`{"description":"a tool without a name"}`,
				`{"name":""}`,
				`[1,2]`,
				`{"name":"dup","description":"first"}`,
				`{"name":"dup","description":"second"}`,
				`{"name":"dup","description":"third"}`,
			),
			Prompts:   raws(`{"name":"summarize","description":"alpha"}`),
			Resources: raws(`{"uri":"file:///etc/hosts","name":"hosts"}`, `{"name":"a resource without a uri"}`),
			Templates: raws(`{"uriTemplate":"file:///{path}","name":"alpha files"}`),
		},
		{
			Server: "beta", Prefix: "fs",
			Tools:     raws(`{"name":"read_file","description":"beta reads"}`, `{"name":"write_file"}`),
			Prompts:   raws(`{"name":"summarize","description":"beta"}`, `{"name":"review"}`),
			Resources: raws(`{"uri":"file:///etc/hosts","name":"beta hosts"}`, `{"uri":"https://example.com/a b?c=1#frag"}`),
			Templates: raws(`{"uriTemplate":"file:///{path}","name":"beta files"}`, `{"uriTemplate":"db://{table}"}`),
		},
		{
			Server: "delta", Prefix: "git",
			Tools:     raws(`{"name":"`+longTool+`"}`, `{"name":"log"}`),
			Resources: raws(`{"uri":"file:///etc/hosts","name":"delta hosts"}`),
			Templates: raws(`{"uriTemplate":"git://{repo}/{ref}"}`),
		},
		{
			Server: "gamma", Prefix: "",
			Tools:     raws(`{"name":"fs__read_file","description":"gamma, unprefixed"}`),
			Prompts:   raws(`{"arguments":[]}`),
			Resources: raws(`{"uri":"sovereign+upstream://alpha/x"}`, `{"uri":""}`),
			Templates: raws(`{"name":"a template without uriTemplate"}`, `{"uriTemplate":null}`),
		},
	}
}

type goldenEntry struct {
	Name     string `json:"name"`
	Server   string `json:"server"`
	Original string `json:"original"`
	Raw      string `json:"raw"` // a string, so the golden file shows the exact bytes
}

type goldenCatalog struct {
	Tools     []goldenEntry `json:"tools"`
	Prompts   []goldenEntry `json:"prompts"`
	Resources []goldenEntry `json:"resources"`
	Templates []goldenEntry `json:"templates"`
	Problems  []string      `json:"problems"`
}

func toGolden(c *Catalog) goldenCatalog {
	conv := func(es []Entry) []goldenEntry {
		out := make([]goldenEntry, 0, len(es))
		for _, e := range es {
			out = append(out, goldenEntry{e.Name, e.Server, e.Original, string(e.Raw)})
		}
		return out
	}
	return goldenCatalog{conv(c.Tools), conv(c.Prompts), conv(c.Resources), conv(c.Templates), c.Problems}
}

func checkGolden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	checkGolden(t, "build", toGolden(Build(buildSnapshots())))
}

// permutations returns every order of s.
func permutations(s []Snapshot) [][]Snapshot {
	if len(s) <= 1 {
		return [][]Snapshot{append([]Snapshot(nil), s...)}
	}
	var out [][]Snapshot
	for i := range s {
		rest := append(append([]Snapshot(nil), s[:i]...), s[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]Snapshot{s[i]}, p...))
		}
	}
	return out
}

func TestBuildIgnoresSnapshotOrder(t *testing.T) {
	t.Parallel()
	want := Build(buildSnapshots())
	perms := permutations(buildSnapshots())
	if len(perms) != 24 {
		t.Fatalf("got %d permutations, want 24", len(perms))
	}
	for _, p := range perms {
		order := make([]string, len(p))
		for i, s := range p {
			order[i] = s.Server
		}
		if got := Build(p); !reflect.DeepEqual(got, want) {
			t.Errorf("Build in order %v differs from Build in name order:\n got %+v\nwant %+v", order, toGolden(got), toGolden(want))
		}
	}
}

func TestBuildDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	in := buildSnapshots()
	in[0], in[3] = in[3], in[0]
	before := make([]string, len(in))
	for i, s := range in {
		before[i] = s.Server
	}
	Build(in)
	for i, s := range in {
		if s.Server != before[i] {
			t.Fatalf("Build reordered its input: position %d is %q, was %q", i, s.Server, before[i])
		}
	}
}

func TestBuildRoutesBack(t *testing.T) {
	t.Parallel()
	c := Build(buildSnapshots())

	betaRead := findEntry(t, c.Tools, "beta", "read_file")
	gammaRead := findEntry(t, c.Tools, "gamma", "fs__read_file")
	betaPrompt := findEntry(t, c.Prompts, "beta", "summarize")
	deltaLong := findEntry(t, c.Tools, "delta", longTool)
	for _, tt := range []struct {
		e     Entry
		plain string
	}{{betaRead, "fs__read_file"}, {gammaRead, "fs__read_file"}, {betaPrompt, "fs__summarize"}} {
		if !regexp.MustCompile(`^` + tt.plain + `_[0-9a-f]{8}$`).MatchString(tt.e.Name) {
			t.Errorf("%s's %q exposed as %q, want %s_ and 8 hex digits", tt.e.Server, tt.e.Original, tt.e.Name, tt.plain)
		}
	}
	if !hashedRE.MatchString(deltaLong.Name) {
		t.Errorf("delta's long tool exposed as %q, want a shortened, hashed name", deltaLong.Name)
	}
	if betaRead.Name == gammaRead.Name {
		t.Errorf("beta's and gamma's colliding tools share the name %q", betaRead.Name)
	}

	type route struct{ server, original string }
	tests := []struct {
		name   string
		lookup func(string) (Entry, bool)
		key    string
		want   *route // nil: not found
	}{
		{"first server keeps the plain tool name", c.Tool, "fs__read_file", &route{"alpha", "read_file"}},
		{"colliding tool of the second server", c.Tool, betaRead.Name, &route{"beta", "read_file"}},
		{"unprefixed tool colliding with a prefixed one", c.Tool, gammaRead.Name, &route{"gamma", "fs__read_file"}},
		{"cleaned tool name", c.Tool, "fs__weird_name_with_spaces", &route{"alpha", "weird.name with spaces"}},
		{"unique tool of the second server", c.Tool, "fs__write_file", &route{"beta", "write_file"}},
		{"long tool name", c.Tool, deltaLong.Name, &route{"delta", longTool}},
		{"other prefix", c.Tool, "git__log", &route{"delta", "log"}},
		{"first of a same-server duplicate", c.Tool, "fs__dup", &route{"alpha", "dup"}},
		{"unknown tool", c.Tool, "read_file", nil},
		{"tool lookup is by exposed name, not original", c.Tool, "weird.name with spaces", nil},
		{"first server keeps the plain prompt name", c.Prompt, "fs__summarize", &route{"alpha", "summarize"}},
		{"colliding prompt of the second server", c.Prompt, betaPrompt.Name, &route{"beta", "summarize"}},
		{"unique prompt", c.Prompt, "fs__review", &route{"beta", "review"}},
		{"a tool is not a prompt", c.Prompt, "fs__read_file", nil},
		{"first server keeps the resource URI", c.Resource, "file:///etc/hosts", &route{"alpha", "file:///etc/hosts"}},
		{"duplicate resource, second server", c.Resource, RewriteURI("beta", "file:///etc/hosts"), &route{"beta", "file:///etc/hosts"}},
		{"duplicate resource, third server", c.Resource, RewriteURI("delta", "file:///etc/hosts"), &route{"delta", "file:///etc/hosts"}},
		{"resource in the proxy's scheme", c.Resource, RewriteURI("gamma", "sovereign+upstream://alpha/x"), &route{"gamma", "sovereign+upstream://alpha/x"}},
		{"upstream's own use of the proxy scheme is not exposed as is", c.Resource, "sovereign+upstream://alpha/x", nil},
		{"unique resource with odd characters", c.Resource, "https://example.com/a b?c=1#frag", &route{"beta", "https://example.com/a b?c=1#frag"}},
		{"unknown resource", c.Resource, "file:///nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, ok := tt.lookup(tt.key)
			if tt.want == nil {
				if ok {
					t.Fatalf("lookup(%q) = %+v, want not found", tt.key, e)
				}
				return
			}
			if !ok {
				t.Fatalf("lookup(%q): not found", tt.key)
			}
			if e.Name != tt.key || e.Server != tt.want.server || e.Original != tt.want.original {
				t.Errorf("lookup(%q) = {Name:%q Server:%q Original:%q}, want server %q original %q",
					tt.key, e.Name, e.Server, e.Original, tt.want.server, tt.want.original)
			}
		})
	}

	// Every rewritten resource URI parses back to where it came from.
	rewritten := 0
	for _, e := range c.Resources {
		if !strings.HasPrefix(e.Name, RewrittenURIScheme) {
			continue
		}
		rewritten++
		s, o, ok := ParseRewrittenURI(e.Name)
		if !ok || s != e.Server || o != e.Original {
			t.Errorf("ParseRewrittenURI(%q) = %q, %q, %v; want %q, %q, true", e.Name, s, o, ok, e.Server, e.Original)
		}
	}
	if rewritten != 3 {
		t.Errorf("%d rewritten resources, want 3 (beta's and delta's duplicates, gamma's own-scheme URI)", rewritten)
	}
}

func findEntry(t *testing.T, es []Entry, server, original string) Entry {
	t.Helper()
	for _, e := range es {
		if e.Server == server && e.Original == original {
			return e
		}
	}
	t.Fatalf("no entry of server %q for %q", server, original)
	return Entry{}
}

func TestBuildNamesAreValidAndUnique(t *testing.T) {
	t.Parallel()
	c := Build(buildSnapshots())
	for kind, es := range map[string][]Entry{"tool": c.Tools, "prompt": c.Prompts} {
		seen := map[string]bool{}
		for _, e := range es {
			if !ValidName(e.Name) {
				t.Errorf("%s %q is not a valid name", kind, e.Name)
			}
			if seen[e.Name] {
				t.Errorf("%s %q exposed twice", kind, e.Name)
			}
			seen[e.Name] = true
		}
	}
	seen := map[string]bool{}
	for _, e := range c.Resources {
		if seen[e.Name] {
			t.Errorf("resource %q exposed twice", e.Name)
		}
		seen[e.Name] = true
	}
}

func TestBuildSkipsAndReports(t *testing.T) {
	t.Parallel()
	c := Build(buildSnapshots())
	counts := map[string]int{}
	for _, es := range [][]Entry{c.Tools, c.Prompts, c.Resources, c.Templates} {
		for _, e := range es {
			counts[e.Server]++
		}
	}
	// alpha: read_file, weird, dup (its repeats skipped) | summarize | hosts | file template
	// beta: read_file, write_file | summarize, review | hosts, example | db template
	// delta: long, log | hosts | git template
	// gamma: fs__read_file | - | own-scheme | -
	want := map[string]int{"alpha": 6, "beta": 7, "delta": 4, "gamma": 2}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("entries per server = %v, want %v", counts, want)
	}
	if n := len(c.Tools); n != 8 {
		t.Errorf("%d tools, want 8", n)
	}
	if n := len(c.Templates); n != 3 {
		t.Errorf("%d templates, want 3 (file, db, git)", n)
	}
	if e := findEntry(t, c.Templates, "alpha", "file:///{path}"); e.Name != "file:///{path}" {
		t.Errorf("template exposed as %q, want it unchanged", e.Name)
	}
	for _, e := range c.Templates {
		if e.Original == "file:///{path}" && e.Server != "alpha" {
			t.Errorf("duplicate template of %q kept too", e.Server)
		}
	}
	// A server listing a name three times: the first is kept, the others
	// are skipped (they would route to the same upstream tool).
	var dups []string
	for _, e := range c.Tools {
		if e.Original == "dup" {
			dups = append(dups, string(e.Raw))
		}
	}
	if want := []string{`{"name":"dup","description":"first"}`}; !reflect.DeepEqual(dups, want) {
		t.Errorf("same-server duplicates kept %v, want %v", dups, want)
	}

	wantProblems := []string{
		`server "alpha" listed a tool without a name; skipped`,
		`tool name "read_file" of server "beta" collides with "fs__read_file" of server "alpha"`,
		`tool name "fs__read_file" of server "gamma" collides with "fs__read_file" of server "alpha"`,
		`server "alpha" lists tool "dup" more than once; the first is kept`,
		`prompt name "summarize" of server "beta" collides with "fs__summarize" of server "alpha"`,
		`server "gamma" listed a prompt without a name; skipped`,
		`server "alpha" listed a resource without a uri; skipped`,
		`server "gamma" listed a resource without a uri; skipped`,
		`resource "file:///etc/hosts" of server "beta" is also listed by server "alpha"`,
		`resource "file:///etc/hosts" of server "delta" is also listed by server "alpha"`,
		`resource "sovereign+upstream://alpha/x" of server "gamma" uses the proxy's own scheme`,
		`resource template "file:///{path}" of server "beta" is also listed by server "alpha"; the first is kept`,
		`server "gamma" listed a resource template without a uriTemplate; skipped`,
	}
	for _, w := range wantProblems {
		found := false
		for _, p := range c.Problems {
			if strings.Contains(p, w) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no problem reports %q; problems:\n%s", w, strings.Join(c.Problems, "\n"))
		}
	}
	// Each skipped or renamed item is reported once, and a skipped one is
	// never reported as exposed.
	dupReports := 0
	for _, p := range c.Problems {
		if strings.Contains(p, `"dup"`) {
			dupReports++
		}
	}
	if dupReports != 2 {
		t.Errorf("%d problems about the duplicated tool, want 2 (one renamed, one skipped):\n%s", dupReports, strings.Join(c.Problems, "\n"))
	}
}

func TestBuildKeepsRawBytes(t *testing.T) {
	t.Parallel()
	snaps := buildSnapshots()
	c := Build(snaps)
	inputs := map[string][][]json.RawMessage{}
	for _, s := range snaps {
		inputs[s.Server] = [][]json.RawMessage{s.Tools, s.Prompts, s.Resources, s.Templates}
	}
	for k, es := range [][]Entry{c.Tools, c.Prompts, c.Resources, c.Templates} {
		for _, e := range es {
			found := false
			for _, raw := range inputs[e.Server][k] {
				if bytes.Equal(raw, e.Raw) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s %q: raw %s is not byte-for-byte one of the server's items", e.Server, e.Name, e.Raw)
			}
		}
	}
	weird := findEntry(t, c.Tools, "alpha", "weird.name with spaces")
	if want := `{ "z": [1, 2],   "name" : "weird.name with spaces" }`; string(weird.Raw) != want {
		t.Errorf("raw = %s, want %s", weird.Raw, want)
	}
}

func TestCatalogIndexes(t *testing.T) {
	t.Parallel()
	c := Build(buildSnapshots())
	for i, e := range c.Tools {
		if got := c.ToolIndex(e.Name); got != i {
			t.Errorf("ToolIndex(%q) = %d, want %d", e.Name, got, i)
		}
	}
	for i, e := range c.Prompts {
		if got := c.PromptIndex(e.Name); got != i {
			t.Errorf("PromptIndex(%q) = %d, want %d", e.Name, got, i)
		}
	}
	if got := c.ToolIndex("nope"); got != len(c.Tools) {
		t.Errorf("ToolIndex(unknown) = %d, want %d", got, len(c.Tools))
	}
	if got := c.PromptIndex("nope"); got != len(c.Prompts) {
		t.Errorf("PromptIndex(unknown) = %d, want %d", got, len(c.Prompts))
	}
	// Tools keep server name order, then each server's listing order.
	var servers []string
	for _, e := range c.Tools {
		servers = append(servers, e.Server)
	}
	want := []string{"alpha", "alpha", "alpha", "beta", "beta", "delta", "delta", "gamma"}
	if !reflect.DeepEqual(servers, want) {
		t.Errorf("tool servers in order %v, want %v", servers, want)
	}
}

func TestEmptyCatalogs(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]*Catalog{"Build(nil)": Build(nil), "zero Catalog": {}, "empty snapshot": Build([]Snapshot{{Server: "a"}})} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, ok := c.Tool("x"); ok {
				t.Error("Tool found in an empty catalog")
			}
			if _, ok := c.Prompt("x"); ok {
				t.Error("Prompt found in an empty catalog")
			}
			if _, ok := c.Resource("x"); ok {
				t.Error("Resource found in an empty catalog")
			}
			if c.ToolIndex("x") != 0 || c.PromptIndex("x") != 0 {
				t.Error("index of unknown item in an empty catalog is not 0")
			}
			if len(c.Problems) != 0 {
				t.Errorf("problems: %v", c.Problems)
			}
		})
	}
}

func TestParseRewrittenURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		in               string
		server, original string
		ok               bool
	}{
		{"simple", "sovereign+upstream://srv/file:%2F%2F%2Fx", "srv", "file:///x", true},
		{"escaped slash in server", "sovereign+upstream://a%2Fb/c", "a/b", "c", true},
		{"unescaped slashes in original", "sovereign+upstream://srv/a/b", "srv", "a/b", true},
		{"empty original", "sovereign+upstream://srv/", "srv", "", true},
		{"plus is not a space", "sovereign+upstream://a+b/c+d", "a+b", "c+d", true},
		{"other scheme", "file:///x", "", "", false},
		{"scheme only", "sovereign+upstream://", "", "", false},
		{"no separator", "sovereign+upstream://srv", "", "", false},
		{"bad escape in server", "sovereign+upstream://%zz/x", "", "", false},
		{"bad escape in original", "sovereign+upstream://srv/%z", "", "", false},
		{"scheme is case sensitive", "SOVEREIGN+UPSTREAM://srv/x", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, o, ok := ParseRewrittenURI(tt.in)
			if s != tt.server || o != tt.original || ok != tt.ok {
				t.Errorf("ParseRewrittenURI(%q) = %q, %q, %v; want %q, %q, %v", tt.in, s, o, ok, tt.server, tt.original, tt.ok)
			}
		})
	}
}

func TestRewriteURIRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct{ server, uri string }{
		{"srv", "file:///etc/hosts"},
		{"a/b", "x"},
		{"", ""},
		{"s p", "https://example.com/a b?c=1&d=%2F#frag"},
		{"ünï", "mem://ü/%zz/+"},
		{"srv", "\xff\x00"},
	}
	for _, tt := range tests {
		rw := RewriteURI(tt.server, tt.uri)
		if !strings.HasPrefix(rw, RewrittenURIScheme) {
			t.Errorf("RewriteURI(%q, %q) = %q lacks the scheme", tt.server, tt.uri, rw)
		}
		s, o, ok := ParseRewrittenURI(rw)
		if !ok || s != tt.server || o != tt.uri {
			t.Errorf("ParseRewrittenURI(RewriteURI(%q, %q) = %q) = %q, %q, %v", tt.server, tt.uri, rw, s, o, ok)
		}
	}
}

func FuzzRewriteURI(f *testing.F) {
	f.Add("srv", "file:///etc/hosts")
	f.Add("a/b", "sovereign+upstream://x/y")
	f.Add("", "")
	f.Add("%2F", "%zz")
	f.Add("s p+q", "https://e.example/a b?c#d")
	f.Add("\xff", "\x00\n")
	f.Fuzz(func(t *testing.T, server, uri string) {
		rw := RewriteURI(server, uri)
		if !strings.HasPrefix(rw, RewrittenURIScheme) {
			t.Fatalf("RewriteURI(%q, %q) = %q lacks the scheme", server, uri, rw)
		}
		s, o, ok := ParseRewrittenURI(rw)
		if !ok || s != server || o != uri {
			t.Fatalf("ParseRewrittenURI(RewriteURI(%q, %q) = %q) = %q, %q, %v", server, uri, rw, s, o, ok)
		}
		if rw2 := RewriteURI(server, uri); rw2 != rw {
			t.Fatalf("RewriteURI not deterministic: %q then %q", rw, rw2)
		}
		// Parsing arbitrary input never panics, and whatever parses
		// rewrites to something that parses back the same.
		if s, o, ok := ParseRewrittenURI(uri); ok {
			if s2, o2, ok2 := ParseRewrittenURI(RewriteURI(s, o)); !ok2 || s2 != s || o2 != o {
				t.Fatalf("re-rewriting %q: got %q, %q, %v; want %q, %q", uri, s2, o2, ok2, s, o)
			}
		}
	})
}
