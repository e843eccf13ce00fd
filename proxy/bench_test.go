package proxy

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

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
	initialize(b, directClient)

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
	initialize(b, proxied)

	for _, bc := range []struct {
		name string
		c    *client.Client
		tool string
	}{{"direct", directClient, "echo"}, {"proxied", proxied, "a__echo"}} {
		b.Run(bc.name, func(b *testing.B) {
			req := mcp.CallToolRequest{}
			req.Params.Name = bc.tool
			req.Params.Arguments = map[string]any{"text": "hi"}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				res, err := bc.c.CallTool(ctx, req)
				lat = append(lat, time.Since(start))
				if err != nil || res.IsError {
					b.Fatalf("call: %v %+v", err, res)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

func initialize(b *testing.B, c *client.Client) {
	b.Helper()
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		b.Fatal(err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	req.Params.ClientInfo = mcp.Implementation{Name: "bench", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		b.Fatal(err)
	}
}
