package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mark3labs/mcp-go/server/servertest"

	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// rawSchema keeps keywords that mcp-go's typed schema would drop.
const rawSchema = `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","title":"Echo input",` +
	`"properties":{"text":{"type":"string"},"n":{"anyOf":[{"type":"integer"},{"type":"null"}]}},"required":["text"],"additionalProperties":false}`

// fixture is an upstream MCP server run in-process over Streamable HTTP.
type fixture struct {
	url       string
	cancelled chan string // names of tools whose handler saw its context end
}

func newFixture(t testing.TB, name string) *fixture {
	t.Helper()
	f := &fixture{cancelled: make(chan string, 4)}
	srv := server.NewMCPServer(name, "1.0", server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true), server.WithPromptCapabilities(true), server.WithLogging())
	srv.AddTool(mcp.NewToolWithRawSchema("echo", "echoes "+name, json.RawMessage(rawSchema)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(name + ":" + req.GetString("text", "")), nil
		})
	srv.AddTool(mcp.NewTool("wait", mcp.WithDescription("waits until cancelled")),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-ctx.Done():
				f.cancelled <- "wait"
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
				return mcp.NewToolResultText("not cancelled"), nil
			}
		})
	srv.AddTool(mcp.NewTool("fail", mcp.WithDescription("answers a JSON-RPC error")),
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return nil, fmt.Errorf("%s broke on purpose", name)
		})
	srv.AddPrompt(mcp.NewPrompt("greet", mcp.WithArgument("who")),
		func(_ context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return mcp.NewGetPromptResult("greeting", []mcp.PromptMessage{
				mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(name+" greets "+req.Params.Arguments["who"])),
			}), nil
		})
	srv.AddResource(mcp.NewResource("res://shared", "shared"),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, Text: "from " + name}}, nil
		})
	srv.AddResourceTemplate(mcp.NewResourceTemplate("res://"+name+"/{id}", name+" items"),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, Text: name + " item"}}, nil
		})
	ts := servertest.NewTestStreamableHTTPServer(srv)
	t.Cleanup(ts.Close)
	f.url = ts.URL + "/mcp"
	return f
}

// denyGate records requests, denies the tools it is told to, and withholds
// or redacts the results it is told to (by tool name or resource URI).
type denyGate struct {
	mu       sync.Mutex
	seen     []Request
	deny     map[string]bool
	withhold map[string]bool
	redact   map[string][]string
	hide     map[string]bool
	outcomes []Outcome
	calls    int
}

func (g *denyGate) Decide(_ context.Context, r *Request) Decision {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, *r)
	target := r.Name + r.URI
	switch {
	case g.hide[target] && r.Phase == PhaseList:
		return Decision{Allow: false, Reason: "hidden", ID: "dec-4"}
	case g.deny[r.Name] && r.Phase == PhaseCall:
		return Decision{Allow: false, Reason: "tool is on the deny list", ID: "dec-1"}
	case g.withhold[target] && r.Phase == PhaseResult:
		return Decision{Allow: false, Reason: "the result carries a secret", ID: "dec-2", Rules: []string{"SEC-001"}}
	case g.redact[target] != nil && r.Phase == PhaseResult:
		return Decision{Allow: true, ID: "dec-3", Redact: g.redact[target]}
	}
	return AllowKnown{}.Decide(context.Background(), r)
}

func (g *denyGate) RecordOutcome(_ context.Context, r *Request, d Decision, o Outcome) {
	g.mu.Lock()
	defer g.mu.Unlock()
	o.ResultDecision = r.Method + " " + d.ID + " " + o.ResultDecision // what the test checks
	g.outcomes = append(g.outcomes, o)
}

func (g *denyGate) requests(phase, method string) []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Request
	for _, r := range g.seen {
		if r.Method == method && r.Phase == phase {
			out = append(out, r)
		}
	}
	return out
}

type harness struct {
	p      *Proxy
	gate   *denyGate
	client *client.Client
	alpha  *fixture
	beta   *fixture
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{alpha: newFixture(t, "alpha"), beta: newFixture(t, "beta"), gate: &denyGate{deny: map[string]bool{"b__echo": true}}}
	spec := func(name, url string) upstream.Spec {
		return upstream.Spec{Name: name, Transport: upstream.TransportStreamableHTTP, URL: url, Timeout: 5 * time.Second}
	}
	h.p = New(Options{
		Upstreams: []Upstream{
			{Spec: spec("alpha", h.alpha.url), Prefix: "a"},
			{Spec: spec("beta", h.beta.url), Prefix: "b"},
			{Spec: spec("gamma", "http://127.0.0.1:1/mcp"), Prefix: "c", Disabled: true},
			{Spec: spec("delta", "http://127.0.0.1:1/mcp"), Prefix: "d"}, // never starts
		},
		Gate:    h.gate,
		Logger:  hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug}),
		Version: "test",
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	c, err := client.NewInProcessClient(h.p.Server())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "unit", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	h.client = c
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestAggregatesAndForwardsSchemasVerbatim(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	res, err := h.client.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	want := "a__echo a__fail a__wait b__echo b__fail b__wait"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("tools = %s, want %s", got, want)
	}
	// The raw tools/list through the proxy carries the upstream schema byte for byte.
	raw := h.p.Server().HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	b, _ := json.Marshal(raw)
	if !strings.Contains(string(b), rawSchema) {
		t.Fatalf("schema not forwarded verbatim:\n%s", b)
	}
}

func TestCallRoutesToTheRightUpstream(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	req := mcp.CallToolRequest{}
	req.Params.Name = "a__echo"
	req.Params.Arguments = map[string]any{"text": "hi"}
	res, err := h.client.CallTool(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || mcp.GetTextFromContent(res.Content[0]) != "alpha:hi" {
		t.Fatalf("unexpected result %+v", res)
	}
	calls := h.gate.requests(PhaseCall, "tools/call")
	if len(calls) != 1 || calls[0].Server != "alpha" || calls[0].Original != "echo" || string(calls[0].Arguments) != `{"text":"hi"}` {
		t.Fatalf("gate saw %+v", calls)
	}
}

func TestDenialIsAToolErrorWithDecisionMeta(t *testing.T) {
	h := newHarness(t)
	req := mcp.CallToolRequest{}
	req.Params.Name = "b__echo"
	req.Params.Arguments = map[string]any{"text": "hi"}
	res, err := h.client.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !res.IsError {
		t.Fatalf("denied call was not an error result: %+v", res)
	}
	text := mcp.GetTextFromContent(res.Content[0])
	if !strings.Contains(text, "tool is on the deny list") || !strings.Contains(text, "dec-1") {
		t.Fatalf("denial text %q lacks reason or decision id", text)
	}
	meta, _ := res.Meta.AdditionalFields[DecisionMetaKey].(map[string]any)
	if meta["id"] != "dec-1" || meta["allow"] != false {
		t.Fatalf("denial _meta = %v", res.Meta)
	}
}

func TestUpstreamErrorsAndDisabledServers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	req := mcp.CallToolRequest{}
	req.Params.Name = "a__fail"
	_, err := h.client.CallTool(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "alpha broke on purpose") {
		t.Fatalf("upstream error not passed on: %v", err)
	}
	req.Params.Name = "c__anything"
	_, err = h.client.CallTool(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("call to a disabled server: %v", err)
	}
	req.Params.Name = "d__anything"
	_, err = h.client.CallTool(ctx, req)
	if err == nil || !strings.Contains(err.Error(), `server "delta" is down`) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("call to a server that never started: %v", err)
	}
	resp := h.p.Server().HandleMessage(ctx, json.RawMessage(`{"jsonrpc":"2.0","id":9,"method":"no/such"}`))
	b, _ := json.Marshal(resp)
	if !strings.Contains(string(b), `"error"`) || !strings.Contains(string(b), "not known") {
		t.Fatalf("unknown method: %s", b)
	}
}

func TestCancellationReachesTheUpstream(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = "a__wait"
	if _, err := h.client.CallTool(ctx, req); err == nil {
		t.Fatal("call outlived its context")
	}
	select {
	case <-h.alpha.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream handler was not cancelled")
	}
}

func TestPromptsResourcesAndTemplates(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pr := mcp.GetPromptRequest{}
	pr.Params.Name = "b__greet"
	pr.Params.Arguments = map[string]string{"who": "you"}
	got, err := h.client.GetPrompt(ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if text := mcp.GetTextFromContent(got.Messages[0].Content); text != "beta greets you" {
		t.Fatalf("prompt text %q", text)
	}
	list, err := h.client.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range list.Resources {
		uris[r.URI] = true
	}
	rewritten := "sovereign+upstream://beta/res:%2F%2Fshared"
	if !uris["res://shared"] || !uris[rewritten] || len(uris) != 2 {
		t.Fatalf("resources = %v", uris)
	}
	for uri, want := range map[string]string{"res://shared": "from alpha", rewritten: "from beta", "res://beta/7": "beta item"} {
		rr := mcp.ReadResourceRequest{}
		rr.Params.URI = uri
		res, err := h.client.ReadResource(ctx, rr)
		if err != nil {
			t.Fatalf("read %s: %v", uri, err)
		}
		tc := res.Contents[0].(mcp.TextResourceContents)
		if tc.Text != want || tc.URI != uri {
			t.Fatalf("read %s = %+v, want text %q and the exposed uri", uri, tc, want)
		}
	}
}
