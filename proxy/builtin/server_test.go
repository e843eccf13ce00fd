package builtin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/proxy"
)

// connect serves a fresh engine in process and returns a connected client
// and the engine's roots directory.
func connect(t *testing.T) (*client.Client, string) {
	t.Helper()
	root := t.TempDir()
	e, err := engine.New(context.Background(), engine.Options{DataDir: filepath.Join(root, "data"), Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	c, err := client.NewInProcessClient(NewServer(e, "test", nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{Params: mcp.InitializeParams{ProtocolVersion: mcp.LATEST_PROTOCOL_VERSION}}); err != nil {
		t.Fatal(err)
	}
	return c, root
}

func callAs(t *testing.T, c *client.Client, session, name string, args map[string]any, token mcp.ProgressToken) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{
		proxy.CallerMetaKey: map[string]any{"session": session, "principal": "os_user:tester", "client": "test"},
	}, ProgressToken: token}
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestToolsListedWithSchemasAndAnnotations(t *testing.T) {
	c, _ := connect(t)
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]mcp.Tool{}
	for _, tool := range list.Tools {
		byName[tool.Name] = tool
	}
	for name, readOnly := range map[string]bool{"recall_insights": true, "record_insight": false, "my_toolkit": true, "resolve_thread": false} {
		tool, ok := byName[name]
		if !ok {
			t.Fatalf("%s not listed", name)
		}
		if tool.Annotations.ReadOnlyHint == nil || *tool.Annotations.ReadOnlyHint != readOnly {
			t.Errorf("%s readOnlyHint = %v, want %v", name, tool.Annotations.ReadOnlyHint, readOnly)
		}
		if tool.Annotations.OpenWorldHint == nil || *tool.Annotations.OpenWorldHint {
			t.Errorf("%s: an engine tool must say it is not open-world", name)
		}
		if j, _ := json.Marshal(tool); !strings.Contains(string(j), `"additionalProperties":false`) {
			t.Errorf("%s schema does not reject unknown arguments: %s", name, j)
		}
	}
}

func TestErrorsAreCategorisedToolErrors(t *testing.T) {
	c, _ := connect(t)
	res := callAs(t, c, "s1", "record_insight", map[string]any{"domain": "../etc", "content": "x"}, nil)
	if !res.IsError || !strings.HasPrefix(text(res), "validation: /domain") {
		t.Fatalf("traversal through domain: isError=%v %q", res.IsError, text(res))
	}
	sc, _ := json.Marshal(res.StructuredContent)
	if !strings.Contains(string(sc), `"category":"validation"`) || !strings.Contains(string(sc), `"field":"/domain"`) {
		t.Errorf("structured error: %s", sc)
	}
	res = callAs(t, c, "s1", "recall_exchange", map[string]any{"archive_id": "deadbeefdeadbeef"}, nil)
	if !res.IsError || !strings.HasPrefix(text(res), "not_found") {
		t.Fatalf("unknown archive: isError=%v %q", res.IsError, text(res))
	}
}

// The session the proxy passes in _meta is the engine's session: two
// sessions have two spirals.
func TestCallerComesFromMeta(t *testing.T) {
	c, _ := connect(t)
	callAs(t, c, "alpha", "spiral_reflect", map[string]any{"observation": "first"}, nil)
	a := text(callAs(t, c, "alpha", "spiral_status", map[string]any{}, nil))
	b := text(callAs(t, c, "beta", "spiral_status", map[string]any{}, nil))
	if !strings.Contains(a, `"alpha"`) || !strings.Contains(b, `"beta"`) {
		t.Fatalf("status does not name the caller's session:\nalpha: %s\nbeta: %s", a, b)
	}
	if !strings.Contains(a, "reflection depth 1") || strings.Contains(b, "reflection depth 1") {
		t.Fatalf("one session's reflection reached the other:\nalpha: %s\nbeta: %s", a, b)
	}
}

func TestProgressNotifications(t *testing.T) {
	c, root := connect(t)
	for i := range 2500 {
		if err := os.WriteFile(filepath.Join(root, "f"+string(rune('a'+i%26))+strings.Repeat("x", i%7)+time.Duration(i).String()), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var got []mcp.JSONRPCNotification
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		mu.Lock()
		defer mu.Unlock()
		if n.Method == string(mcp.MethodNotificationProgress) {
			got = append(got, n)
		}
	})
	res := callAs(t, c, "s1", "scan_thresholds", map[string]any{"path": root}, "tok-1")
	if res.IsError {
		t.Fatalf("scan: %s", text(res))
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatal("no progress notification for a 2,500-entry scan with a progress token")
	}
	if tok := got[0].Params.AdditionalFields["progressToken"]; tok != "tok-1" {
		t.Errorf("progress token = %v, want tok-1", tok)
	}
}

func TestPolicyEffectsAndPathArgs(t *testing.T) {
	root := t.TempDir()
	e, err := engine.New(context.Background(), engine.Options{DataDir: root})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	eff := PolicyEffects(e)
	for name, want := range map[string]string{"recall_insights": "read", "record_insight": "write", "resolve_thread": "write", "scan_thresholds": "read"} {
		if eff[name] != want {
			t.Errorf("effect of %s = %q, want %q", name, eff[name], want)
		}
	}
	paths := PathArgs(e)
	if got := paths["scan_thresholds"]; len(got) != 1 || got[0] != "path" {
		t.Errorf("scan_thresholds path args = %v", got)
	}
	if got := paths["record_insight"]; len(got) != 0 {
		t.Errorf("record_insight declares path args %v: its content is data", got)
	}
}
