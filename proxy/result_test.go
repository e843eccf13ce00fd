package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

func TestRedact(t *testing.T) {
	const note = "[gone]"
	doc := `{"content":[{"type":"text","text":"AKIA…"},{"type":"text","text":"fine"}],"a/b":{"~k":"x"},"n":1.50,` +
		`"contents":[{"uri":"res://x","blob":"c2VjcmV0"}]}`
	for _, tc := range []struct {
		name     string
		pointers []string
		want     string // substring of the output
		err      bool
	}{
		{"array element field", []string{"/content/0/text"}, `{"text":"[gone]","type":"text"},{"text":"fine","type":"text"}`, false},
		{"escaped tokens", []string{"/a~1b/~0k"}, `"a/b":{"~k":"[gone]"}`, false},
		{"blob stays base64", []string{"/contents/0/blob"}, `"blob":"W2dvbmVd"`, false},
		{"numbers kept exact", []string{"/content/1/text"}, `"n":1.50`, false},
		{"missing key", []string{"/content/0/missing"}, "", true},
		{"index out of range", []string{"/content/9/text"}, "", true},
		{"leading zero index", []string{"/content/00/text"}, "", true},
		{"not a string", []string{"/n"}, "", true},
		{"not a pointer", []string{"content"}, "", true},
		{"whole document", []string{""}, "", true},
		{"through a string", []string{"/content/0/text/x"}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := redact(json.RawMessage(doc), tc.pointers, note)
			if tc.err {
				if !errors.Is(err, errRedact) {
					t.Fatalf("err = %v, want errRedact", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("out = %s, want it to contain %s", out, tc.want)
			}
		})
	}
	if _, err := redact(json.RawMessage(`{"x":`), []string{"/x"}, note); !errors.Is(err, errRedact) {
		t.Fatalf("malformed result: err = %v", err)
	}
}

func (g *denyGate) set(f func(g *denyGate)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func TestResultPhaseSeesWhatTheUpstreamAnswered(t *testing.T) {
	h := newHarness(t)
	callTool(t, h, "a__echo", "hi")
	results := h.gate.requests(PhaseResult, "tools/call")
	if len(results) != 1 || results[0].Server != "alpha" || results[0].Original != "echo" ||
		!strings.Contains(string(results[0].Result), `"alpha:hi"`) || string(results[0].Arguments) != `{"text":"hi"}` {
		t.Fatalf("result phase saw %+v", results)
	}
}

func TestResultRedactedBeforeTheClientSeesIt(t *testing.T) {
	h := newHarness(t)
	h.gate.set(func(g *denyGate) { g.redact = map[string][]string{"a__echo": {"/content/0/text"}} })
	res := callTool(t, h, "a__echo", "AKIAZ3MQWERTYUIOP123")
	if res.IsError || mcp.GetTextFromContent(res.Content[0]) != "[redacted by policy: decision dec-3]" {
		t.Fatalf("result %+v", res)
	}
}

func TestResultWithheld(t *testing.T) {
	h := newHarness(t)
	h.gate.set(func(g *denyGate) {
		g.withhold = map[string]bool{"a__echo": true, "res://shared": true, "b__greet": true}
	})
	res := callTool(t, h, "a__echo", "hi")
	if !res.IsError || strings.Contains(mcp.GetTextFromContent(res.Content[0]), "alpha:hi") {
		t.Fatalf("withheld result reached the client: %+v", res)
	}
	meta, _ := res.Meta.AdditionalFields[DecisionMetaKey].(map[string]any)
	if meta["id"] != "dec-2" || meta["reason"] != "the result carries a secret" {
		t.Fatalf("decision meta %+v", meta)
	}
	rr := mcp.ReadResourceRequest{}
	rr.Params.URI = "res://shared"
	if _, err := h.client.ReadResource(context.Background(), rr); err == nil || !strings.Contains(err.Error(), "dec-2") {
		t.Fatalf("withheld resource read: err = %v", err)
	}
	pr := mcp.GetPromptRequest{}
	pr.Params.Name = "b__greet"
	pr.Params.Arguments = map[string]string{"who": "you"}
	if _, err := h.client.GetPrompt(context.Background(), pr); err == nil || !strings.Contains(err.Error(), "dec-2") {
		t.Fatalf("withheld prompt: err = %v", err)
	}
}

func TestResultWithheldWhenRedactionIsImpossible(t *testing.T) {
	h := newHarness(t)
	h.gate.set(func(g *denyGate) { g.redact = map[string][]string{"a__echo": {"/content/7/text"}} })
	res := callTool(t, h, "a__echo", "hi")
	if !res.IsError || !strings.Contains(mcp.GetTextFromContent(res.Content[0]), "could not be") {
		t.Fatalf("result %+v", res)
	}
}

func callTool(t *testing.T, h *harness, name, text string) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = map[string]any{"text": text}
	res, err := h.client.CallTool(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestResourceListsFilteredByTheListPhase(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.gate.set(func(g *denyGate) { g.hide = map[string]bool{"res://shared": true, "res://beta/{id}": true} })
	list, err := h.client.ListResources(ctx, mcp.ListResourcesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Resources) != 1 || list.Resources[0].URI != "sovereign+upstream://beta/res:%2F%2Fshared" {
		t.Fatalf("resources = %+v", list.Resources)
	}
	templates, err := h.client.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(templates.ResourceTemplates) != 1 || templates.ResourceTemplates[0].URITemplate.Raw() != "res://alpha/{id}" {
		t.Fatalf("templates = %+v", templates.ResourceTemplates)
	}
	var sawOriginal bool
	for _, r := range h.gate.requests(PhaseList, "resources/list") {
		if r.URI == "sovereign+upstream://beta/res:%2F%2Fshared" {
			sawOriginal = r.Original == "res://shared" && r.Server == "beta"
		}
	}
	if !sawOriginal {
		t.Fatal("the list phase did not see the rewritten resource's server and original URI")
	}
}

func TestOutcomesRecorded(t *testing.T) {
	h := newHarness(t)
	h.gate.set(func(g *denyGate) { g.withhold = map[string]bool{"a__fail": true} })
	callTool(t, h, "a__echo", "hi")
	callTool(t, h, "b__echo", "denied at the call phase: no outcome")
	pr := mcp.GetPromptRequest{}
	pr.Params.Name = "b__greet"
	pr.Params.Arguments = map[string]string{"who": "you"}
	if _, err := h.client.GetPrompt(context.Background(), pr); err != nil {
		t.Fatal(err)
	}
	h.gate.mu.Lock()
	outcomes := slices.Clone(h.gate.outcomes)
	h.gate.mu.Unlock()
	if len(outcomes) != 2 {
		t.Fatalf("outcomes %+v", outcomes)
	}
	for i, want := range []string{"tools/call", "prompts/get"} {
		o := outcomes[i]
		if o.Status != OutcomeOK || o.IsError || len(o.Result) == 0 || o.Duration <= 0 || !strings.HasPrefix(o.ResultDecision, want+" ") {
			t.Errorf("outcome %d: %+v", i, o)
		}
	}
	if len(h.gate.requests(PhaseCall, "prompts/get")) != 1 {
		t.Error("prompts/get was not decided exactly once")
	}
}
