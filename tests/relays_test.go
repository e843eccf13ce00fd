package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

// fakeLLM answers sampling requests.
type fakeLLM struct{}

func (fakeLLM) CreateMessage(_ context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	return &mcp.CreateMessageResult{
		SamplingMessage: mcp.SamplingMessage{Role: mcp.RoleAssistant, Content: mcp.NewTextContent("sampled by the client")},
		Model:           "fake-llm",
	}, nil
}

// fixedRoots answers roots/list with one directory.
type fixedRoots struct{ dir string }

func (r fixedRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file://" + r.dir, Name: "client root"}}}, nil
}

// TestRunMirrorsClientCapabilities checks that behind `sovereign run` a
// server sees the client's capabilities and gets its requests answered by the
// client: server-everything offers its sampling tool and its sampling request
// reaches the client; server-filesystem takes the client's roots instead of
// its command-line directory, exactly as without the proxy.
func TestRunMirrorsClientCapabilities(t *testing.T) {
	sampling := clientCaps{Sampling: &mcp.SamplingCapability{}}
	ev := dialStdioWith(t, "sovereign-ev", sampling, []client.ClientOption{client.WithSamplingHandler(fakeLLM{})}, nil,
		sovereignBin(t), "run", "--", node22(), nodeBin("mcp-server-everything"))
	if _, ok := ev.tools(t)["trigger-sampling-request"]; !ok {
		t.Fatal("a client that declares sampling does not see trigger-sampling-request")
	}
	res := ev.call(t, "tools/call", map[string]any{"name": "trigger-sampling-request", "arguments": map[string]any{"prompt": "hi", "maxTokens": 10}})
	if !strings.Contains(string(res), "sampled by the client") {
		t.Fatalf("the sampling request did not reach the client: %s", res)
	}

	cliDir, rootDir := t.TempDir(), t.TempDir()
	roots := clientCaps{}
	roots.Roots = &struct {
		ListChanged bool `json:"listChanged,omitempty"`
	}{}
	opts := []client.ClientOption{client.WithRootsHandler(fixedRoots{rootDir})}
	direct := dialStdioWith(t, "fs", roots, opts, nil, node22(), fsArgs(cliDir)...)
	proxied := dialStdioWith(t, "sovereign-fs", roots, opts, nil, sovereignBin(t), "run", "--", node22(), fsArgs(cliDir)[0], cliDir)
	list := map[string]any{"name": "list_allowed_directories", "arguments": map[string]any{}}
	var want, got string
	waitFor(t, 20*time.Second, "server-filesystem to adopt the client's roots", func() bool {
		want = canonical(t, direct.call(t, "tools/call", list))
		got = canonical(t, proxied.call(t, "tools/call", list))
		return strings.Contains(want, rootDir) && strings.Contains(got, rootDir)
	})
	if want != got {
		t.Fatalf("roots differ:\ndirect: %s\nproxy:  %s", want, got)
	}

	plain := dialStdio(t, "sovereign-ev-plain", clientCaps{}, nil, sovereignBin(t), "run", "--", node22(), nodeBin("mcp-server-everything"))
	if _, ok := plain.tools(t)["trigger-sampling-request"]; ok {
		t.Fatal("a client without sampling is offered trigger-sampling-request")
	}

	// The server's instructions reach the client unchanged.
	evDirect := dialStdio(t, "ev", clientCaps{}, nil, node22(), nodeBin("mcp-server-everything"))
	if want := evDirect.init.Instructions; want == "" || plain.init.Instructions != want {
		t.Fatalf("instructions through run = %q, want the server's %q", plain.init.Instructions, want)
	}
}
