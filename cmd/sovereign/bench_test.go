package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mark3labs/mcp-go/server/servertest"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/proxytest"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// BenchmarkGatedToolCall measures what a user pays per tools/call, side by
// side in one run: an upstream called directly, through the proxy with no
// policy, with the default policy library (call and result phase), and with
// the policy and the durable audit log. The call reads a file inside the
// roots (one path argument), as a filesystem server's read would.
func BenchmarkGatedToolCall(b *testing.B) {
	dir := b.TempDir()
	file := filepath.Join(dir, "notes.md")
	if err := os.WriteFile(file, []byte("# notes\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	srv := server.NewMCPServer("fs", "1.0", server.WithToolCapabilities(true))
	srv.AddTool(mcp.NewTool("read_text_file", mcp.WithString("path"), mcp.WithReadOnlyHintAnnotation(true)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("# notes\n\nline two of " + req.GetString("path", "")), nil
		})
	// A 64 KiB markdown result (the most of one string the result phase
	// examines): what a file read or a web fetch returns.
	big := strings.Repeat("Run `make test` before you push; the SQL tutorial selects rows by id. See https://go.dev/doc.\n", 64<<10/96)
	srv.AddTool(mcp.NewTool("read_big_file", mcp.WithString("path"), mcp.WithReadOnlyHintAnnotation(true)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(big), nil
		})
	ts := servertest.NewTestStreamableHTTPServer(srv)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cfg := benchConfig(b, dir)
	log := hclog.NewNullLogger()
	policyGate, err := buildGate(ctx, cfg, gateSetup{}, log)
	if err != nil {
		b.Fatal(err)
	}
	sink, err := openAudit(ctx, cfg, auditFlags{}, log)
	if err != nil {
		b.Fatal(err)
	}
	defer sink.close(log)
	auditedGate, err := buildGate(ctx, cfg, gateSetup{audit: sink}, log)
	if err != nil {
		b.Fatal(err)
	}

	direct, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	proxytest.Initialize(b, direct)
	through := func(g proxy.Gate) *client.Client {
		p := proxy.New(proxy.Options{
			Upstreams: []proxy.Upstream{{Spec: upstream.Spec{Name: "fs", Transport: upstream.TransportStreamableHTTP, URL: ts.URL + "/mcp", Timeout: 10 * time.Second}, Prefix: "fs"}},
			Gate:      g, Principal: osPrincipal(), Logger: log,
		})
		go p.Run(ctx)
		c, err := client.NewInProcessClient(p.Server())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		proxytest.Initialize(b, c)
		return c
	}
	for _, bc := range []struct {
		name string
		c    *client.Client
		tool string
	}{
		{"direct", direct, "read_text_file"},
		{"proxy-no-policy", through(nil), "fs__read_text_file"},
		{"proxy-policy", through(policyGate), "fs__read_text_file"},
		{"proxy-policy-audit", through(auditedGate), "fs__read_text_file"},
		{"direct-64KiB-result", direct, "read_big_file"},
		{"proxy-policy-64KiB-result", through(policyGate), "fs__read_big_file"},
	} {
		b.Run(bc.name, func(b *testing.B) { proxytest.BenchCalls(b, bc.c, bc.tool, map[string]any{"path": file}) })
	}
}

// benchConfig is the config of the gated-call benchmarks: data and roots
// in dir, and rate limits a benchmark loop does not reach (the defaults
// would throttle it).
func benchConfig(b *testing.B, dir string) config.Config {
	b.Helper()
	limits := filepath.Join(dir, "limits.yaml")
	if err := os.WriteFile(limits, []byte("sovereign_config:\n  rate_limits:\n    calls: {limit: 1000000, window: 1s, burst: 1000000}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse([]byte("data_dir: "+filepath.Join(dir, "data")+"\nroots: ["+dir+"]\npolicy: {data: ["+limits+"]}\n"), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}
