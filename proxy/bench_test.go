package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client"

	"github.com/sovereign-stack/sovereign/proxy/proxytest"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// BenchmarkToolCall measures one tools/call to an upstream over Streamable
// HTTP, directly and through the proxy (in-process client → proxy → the same
// upstream), in one run, so the difference is the proxy's cost per call.
// It reports p50 and p99 latencies besides ns/op.
func BenchmarkToolCall(b *testing.B) {
	f := newFixture(b, "alpha")
	ctx := context.Background()

	directClient, err := client.NewStreamableHttpClient(f.url)
	if err != nil {
		b.Fatal(err)
	}
	defer directClient.Close()
	proxytest.Initialize(b, directClient)

	p := New(Options{
		Upstreams: []Upstream{{Spec: upstream.Spec{Name: "alpha", Transport: upstream.TransportStreamableHTTP, URL: f.url, Timeout: 10 * time.Second}, Prefix: "a"}},
		Logger:    hclog.NewNullLogger(),
	})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.Run(rctx)
	proxied, err := client.NewInProcessClient(p.Server())
	if err != nil {
		b.Fatal(err)
	}
	defer proxied.Close()
	proxytest.Initialize(b, proxied)

	for _, bc := range []struct {
		name string
		c    *client.Client
		tool string
	}{{"direct", directClient, "echo"}, {"proxied", proxied, "a__echo"}} {
		b.Run(bc.name, func(b *testing.B) { proxytest.BenchCalls(b, bc.c, bc.tool, map[string]any{"text": "hi"}) })
	}
}
