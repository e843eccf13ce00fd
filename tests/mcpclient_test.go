package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// mcpConn is an MCP client for the tests: mcp-go for the handshake and the
// notifications, raw JSON-RPC for requests, so results are compared exactly
// as they travelled.
type mcpConn struct {
	c  *client.Client
	tr transport.Interface

	init *mcp.InitializeResult

	mu    sync.Mutex
	notes []mcp.JSONRPCNotification
	next  int
}

// clientCaps are the capabilities a test client declares.
type clientCaps = mcp.ClientCapabilities

// dialStdio starts command as an MCP server over stdio and initializes it.
func dialStdio(t *testing.T, name string, caps clientCaps, env []string, command string, args ...string) *mcpConn {
	t.Helper()
	return dialStdioWith(t, name, caps, nil, env, command, args...)
}

// dialStdioWith is dialStdio with client options, e.g. handlers for
// sampling or roots.
func dialStdioWith(t *testing.T, name string, caps clientCaps, opts []client.ClientOption, env []string, command string, args ...string) *mcpConn {
	t.Helper()
	tr := transport.NewStdioWithOptions(command, env, args, transport.WithCommandStderrWriter(testLogWriter{t, name}))
	return dial(t, tr, caps, opts...)
}

// dialHTTP connects to a Streamable HTTP endpoint.
func dialHTTP(t *testing.T, url string, caps clientCaps) *mcpConn {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	return dial(t, tr, caps)
}

// dialSSE connects to a legacy SSE endpoint.
func dialSSE(t *testing.T, url string, caps clientCaps) *mcpConn {
	t.Helper()
	tr, err := transport.NewSSE(url)
	if err != nil {
		t.Fatal(err)
	}
	return dial(t, tr, caps)
}

func dial(t *testing.T, tr transport.Interface, caps clientCaps, opts ...client.ClientOption) *mcpConn {
	t.Helper()
	m := &mcpConn{tr: tr}
	m.c = client.NewClient(tr, append([]client.ClientOption{client.WithClientCapabilities(caps)}, opts...)...)
	m.c.OnNotification(func(n mcp.JSONRPCNotification) {
		m.mu.Lock()
		m.notes = append(m.notes, n)
		m.mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := m.c.Start(context.Background()); err != nil {
		t.Fatalf("start client: %v", err)
	}
	t.Cleanup(func() { _ = m.c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "sovereign-e2e", Version: "1"}
	init.Params.Capabilities = caps
	res, err := m.c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	m.init = res
	return m
}

// request sends a raw JSON-RPC request and returns the raw result or the
// JSON-RPC error.
func (m *mcpConn) request(ctx context.Context, method string, params any) (json.RawMessage, *mcp.JSONRPCErrorDetails, error) {
	m.mu.Lock()
	m.next++
	id := mcp.NewRequestId(fmt.Sprintf("e2e-%d", m.next))
	m.mu.Unlock()
	resp, err := m.tr.SendRequest(ctx, transport.JSONRPCRequest{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Method: method, Params: params})
	if err != nil {
		return nil, nil, err
	}
	return resp.Result, resp.Error, nil
}

// call sends a request that must succeed.
func (m *mcpConn) call(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, rpcErr, err := m.request(ctx, method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if rpcErr != nil {
		t.Fatalf("%s: JSON-RPC error %d: %s", method, rpcErr.Code, rpcErr.Message)
	}
	return res
}

// tools returns the raw tools/list of the server by name.
func (m *mcpConn) tools(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var page struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if err := json.Unmarshal(m.call(t, "tools/list", map[string]any{}), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for _, raw := range page.Tools {
		var n struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(raw, &n)
		out[n.Name] = raw
	}
	return out
}

// notifications returns the notifications received so far with method.
func (m *mcpConn) notifications(method string) []mcp.JSONRPCNotification {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, n := range m.notes {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// testLogWriter sends a child's stderr to the test log.
type testLogWriter struct {
	t    *testing.T
	name string
}

func (w testLogWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Logf("[%s] %s", w.name, line)
		if strings.Contains(line, "WARNING: DATA RACE") {
			w.t.Errorf("[%s] the race detector found a data race (see the log)", w.name)
		}
	}
	return len(b), nil
}

// canonical re-encodes JSON with sorted keys, for comparisons that must not
// depend on key order.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// withoutName returns a raw tool without its name, so tools can be compared
// across the prefix; an absent "annotations" equals an empty one (mcp-go
// always writes the field).
func withoutName(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "name")
	if a, ok := m["annotations"].(map[string]any); ok && len(a) == 0 {
		delete(m, "annotations")
	}
	b, _ := json.Marshal(m)
	return string(b)
}
