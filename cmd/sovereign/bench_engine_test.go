package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/builtin"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
	"github.com/sovereign-stack/sovereign/proxy/proxytest"
)

// BenchmarkEngineToolCall measures a built-in tool (recall_insights over 1,000
// insights) side by side: the engine's MCP server called in process, and the
// same call through the proxy: without a policy, with the default policy, and
// with the policy and the durable audit log, as `sovereign serve` runs it.
func BenchmarkEngineToolCall(b *testing.B) {
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := benchConfig(b, dir)
	log := hclog.NewNullLogger()
	judge := policygate.NewJudge()
	eng, err := startEngine(ctx, cfg, []string{dir}, judge, log)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.close(log)

	direct, err := client.NewInProcessClient(builtin.NewServer(eng.engine, "bench", log))
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	proxytest.Initialize(b, direct)
	for i := range 1000 {
		req := mcp.CallToolRequest{}
		req.Params.Name = "record_insight"
		req.Params.Arguments = map[string]any{
			"domain": fmt.Sprintf("bench,t%d", i%20), "content": fmt.Sprintf("insight %d about durable writes and fsync batching", i),
		}
		res, err := direct.CallTool(ctx, req)
		if err != nil || res.IsError {
			b.Fatalf("seeding: %v %v", err, res)
		}
	}

	sink, err := openAudit(ctx, cfg, auditFlags{}, log)
	if err != nil {
		b.Fatal(err)
	}
	defer sink.close(log)
	gate, err := buildGate(ctx, cfg, gateSetup{audit: sink, engine: eng}, log)
	if err != nil {
		b.Fatal(err)
	}
	judge.Bind(gate)
	unaudited, err := buildGate(ctx, cfg, gateSetup{engine: eng}, log)
	if err != nil {
		b.Fatal(err)
	}
	through := func(g proxy.Gate) *client.Client {
		p := proxy.New(proxy.Options{Upstreams: []proxy.Upstream{eng.upstream}, Gate: g, Principal: osPrincipal(), Logger: log})
		go p.Run(ctx)
		c, err := client.NewInProcessClient(p.Server())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		proxytest.Initialize(b, c)
		return c
	}

	args := map[string]any{"query": "durable fsync", "limit": 10}
	for _, bc := range []struct {
		name string
		c    *client.Client
	}{
		{"engine-direct", direct},
		{"proxy-no-policy", through(nil)},
		{"proxy-policy", through(unaudited)},
		{"proxy-policy-audit", through(gate)},
	} {
		b.Run(bc.name, func(b *testing.B) { proxytest.BenchCalls(b, bc.c, "recall_insights", args) })
	}
}
