package tests

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// directTarget is one upstream reached without the proxy, with the prefix it
// has behind the proxy.
type directTarget struct {
	prefix string
	conn   *mcpConn
}

// toolCall is a call whose result must be the same directly and through the
// proxy.
type toolCall struct {
	prefix string
	tool   string
	args   map[string]any
}

// TestAllUpstreamsBehindOneProxy puts server-everything (stdio, Streamable
// HTTP and SSE), server-filesystem and server-memory behind one `sovereign
// serve` and checks that the client sees each upstream's tools exactly as
// the upstream lists them (schemas, annotations, _meta), under its prefix,
// and that calls give the same results as calling the upstream directly.
func TestAllUpstreamsBehindOneProxy(t *testing.T) {
	p := startEverythingHTTP(t)
	fsDir := t.TempDir()
	memProxy, memDirect := t.TempDir(), t.TempDir()
	cfg := writeConfig(t, "roots: ["+strconv.Quote(fsDir)+"]\nservers:\n"+
		stdioServer("ev", node22(), []string{nodeBin("mcp-server-everything")}, "")+
		"  evhttp: {url: \""+p.everythingHTTP+"\"}\n"+
		"  evsse: {url: \""+p.everythingSSE+"\", transport: sse}\n"+
		stdioServer("fs", node22(), fsArgs(fsDir), "")+
		stdioServer("mem", node22(), []string{nodeBin("mcp-server-memory")}, memoryEnv(memProxy)))

	proxy := dialStdio(t, "sovereign", clientCaps{}, nil, sovereignBin(t), "serve", "--config", cfg)
	direct := []directTarget{
		{"ev", dialStdio(t, "ev", clientCaps{}, nil, node22(), nodeBin("mcp-server-everything"))},
		{"evhttp", dialHTTP(t, p.everythingHTTP, clientCaps{})},
		{"evsse", dialSSE(t, p.everythingSSE, clientCaps{})},
		{"fs", dialStdio(t, "fs", clientCaps{}, nil, node22(), fsArgs(fsDir)...)},
		{"mem", dialStdio(t, "mem", clientCaps{}, []string{"MEMORY_FILE_PATH=" + filepath.Join(memDirect, "memory.jsonl")},
			node22(), nodeBin("mcp-server-memory"))},
	}

	proxied := proxy.tools(t)
	total := 0
	for _, d := range direct {
		want := d.conn.tools(t)
		if len(want) == 0 {
			t.Fatalf("%s lists no tools directly", d.prefix)
		}
		total += len(want)
		for name, raw := range want {
			got, ok := proxied[d.prefix+"__"+name]
			if !ok {
				t.Errorf("%s: tool %q missing through the proxy", d.prefix, name)
				continue
			}
			if a, b := withoutName(t, raw), withoutName(t, got); a != b {
				t.Errorf("%s: tool %q differs through the proxy:\ndirect: %s\nproxy:  %s", d.prefix, name, a, b)
			}
		}
	}
	// The built-in engine's tools come unprefixed, beside the upstreams'.
	builtin := 0
	for name := range proxied {
		if !strings.Contains(name, "__") {
			builtin++
		}
	}
	if _, ok := proxied["my_toolkit"]; !ok || builtin == 0 {
		t.Errorf("the built-in engine's tools are not listed beside the upstreams'")
	}
	if len(proxied)-builtin != total {
		t.Errorf("proxy lists %d upstream tools, the upstreams %d", len(proxied)-builtin, total)
	}

	calls := []toolCall{
		{"ev", "get-sum", map[string]any{"a": 2, "b": 3}},
		{"ev", "echo", map[string]any{"message": "héllo ✓"}},
		{"ev", "get-structured-content", map[string]any{"location": "New York"}},
		{"ev", "get-resource-links", map[string]any{"count": 2}},
		{"ev", "get-tiny-image", map[string]any{}},
		{"evhttp", "get-sum", map[string]any{"a": 1.5, "b": 9007199254740993}},
		{"evsse", "echo", map[string]any{"message": "over sse"}},
		{"fs", "list_allowed_directories", map[string]any{}},
		{"fs", "write_file", map[string]any{"path": filepath.Join(fsDir, "note.txt"), "content": "first line\nsecond"}},
		{"fs", "read_text_file", map[string]any{"path": filepath.Join(fsDir, "note.txt")}},
		{"mem", "create_entities", map[string]any{"entities": []any{map[string]any{"name": "Ada", "entityType": "person", "observations": []any{"wrote the first program"}}}}},
		{"mem", "read_graph", map[string]any{}},
	}
	conns := map[string]*mcpConn{}
	for _, d := range direct {
		conns[d.prefix] = d.conn
	}
	for _, c := range calls {
		want := conns[c.prefix].call(t, "tools/call", map[string]any{"name": c.tool, "arguments": c.args})
		got := proxy.call(t, "tools/call", map[string]any{"name": c.prefix + "__" + c.tool, "arguments": c.args})
		if a, b := canonical(t, want), canonical(t, got); a != b {
			t.Errorf("%s %s: result differs through the proxy:\ndirect: %s\nproxy:  %s", c.prefix, c.tool, a, b)
		}
	}

	// A path outside the roots is denied by the default policy before the
	// upstream sees it: a tool error naming the rule and the decision.
	denied := proxy.call(t, "tools/call", map[string]any{"name": "fs__read_text_file", "arguments": map[string]any{"path": "/etc/hostname"}})
	if !strings.Contains(string(denied), `"isError":true`) || !strings.Contains(string(denied), "dev.sovereign/decision") {
		t.Errorf("a read outside the roots was not denied by policy: %s", denied)
	}

	// Resources and prompts of the stdio server-everything pass too.
	var prompts struct {
		Prompts []struct{ Name string } `json:"prompts"`
	}
	_ = json.Unmarshal(proxy.call(t, "prompts/list", map[string]any{}), &prompts)
	found := false
	for _, pr := range prompts.Prompts {
		found = found || pr.Name == "ev__simple-prompt"
	}
	if !found {
		t.Errorf("ev__simple-prompt missing from prompts/list: %+v", prompts)
	}
	want := conns["ev"].call(t, "prompts/get", map[string]any{"name": "args-prompt", "arguments": map[string]any{"city": "Oslo"}})
	got := proxy.call(t, "prompts/get", map[string]any{"name": "ev__args-prompt", "arguments": map[string]any{"city": "Oslo"}})
	if canonical(t, want) != canonical(t, got) {
		t.Errorf("prompts/get differs:\ndirect: %s\nproxy:  %s", want, got)
	}
	read := proxy.call(t, "resources/read", map[string]any{"uri": "demo://resource/static/document/architecture.md"})
	if !strings.Contains(string(read), "architecture.md") {
		t.Errorf("resources/read through the proxy: %s", read)
	}
}

// TestLoggingSubscriptionsAndCompletions checks the rest of the passthrough:
// log messages, logging/setLevel, resource subscriptions and their updates,
// and completions.
func TestLoggingSubscriptionsAndCompletions(t *testing.T) {
	cfg := writeConfig(t, "servers:\n"+stdioServer("ev", node22(), []string{nodeBin("mcp-server-everything")}, ""))
	proxy := dialStdio(t, "sovereign", clientCaps{}, nil, sovereignBin(t), "serve", "--config", cfg)
	direct := dialStdio(t, "ev", clientCaps{}, nil, node22(), nodeBin("mcp-server-everything"))

	proxy.call(t, "logging/setLevel", map[string]any{"level": "debug"})
	proxy.call(t, "tools/call", map[string]any{"name": "ev__toggle-simulated-logging", "arguments": map[string]any{}})
	waitFor(t, 10*time.Second, "a log message from the upstream", func() bool {
		return len(proxy.notifications("notifications/message")) > 0
	})

	uri := "demo://resource/static/document/architecture.md"
	proxy.call(t, "resources/subscribe", map[string]any{"uri": uri})
	proxy.call(t, "tools/call", map[string]any{"name": "ev__toggle-subscriber-updates", "arguments": map[string]any{}})
	waitFor(t, 10*time.Second, "a resource update", func() bool {
		for _, n := range proxy.notifications("notifications/resources/updated") {
			if n.Params.AdditionalFields["uri"] == uri {
				return true
			}
		}
		return false
	})
	proxy.call(t, "resources/unsubscribe", map[string]any{"uri": uri})

	// mcp-go re-encodes the completion: "hasMore": false is omitted, which
	// means the same; values and total must be identical.
	complete := func(c *mcpConn, prompt string) string {
		var r struct {
			Completion struct {
				Values  []string `json:"values"`
				Total   int      `json:"total"`
				HasMore bool     `json:"hasMore"`
			} `json:"completion"`
		}
		_ = json.Unmarshal(c.call(t, "completion/complete", map[string]any{
			"ref":      map[string]any{"type": "ref/prompt", "name": prompt},
			"argument": map[string]any{"name": "department", "value": "E"},
		}), &r)
		b, _ := json.Marshal(r)
		return string(b)
	}
	want, got := complete(direct, "completable-prompt"), complete(proxy, "ev__completable-prompt")
	if want != got || !strings.Contains(got, "Engineering") {
		t.Fatalf("completion differs:\ndirect: %s\nproxy:  %s", want, got)
	}
}
