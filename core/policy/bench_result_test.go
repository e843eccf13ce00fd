package policy_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/core/textfact"
	"github.com/sovereign-stack/sovereign/policies"
)

// resultInput is the result phase of a read whose result holds n short
// strings (an insight listing: ids, timestamps, domains, sentences).
func resultInput(n int) map[string]any {
	items := make([]any, 0, n/4+1)
	for i := 0; len(items)*4 < n; i++ {
		items = append(items, map[string]any{
			"id": fmt.Sprintf("%064x", i), "timestamp": "2026-11-28T01:24:18.000000Z", "domain": "bench,t3",
			"content": fmt.Sprintf("insight %d about durable writes and fsync batching", i),
		})
	}
	result := map[string]any{"structuredContent": map[string]any{"insights": items}}
	facts := textfact.New(textfact.Options{}).AnalyzeFor(result, nil)
	in := typicalInput("")
	in["phase"] = "result"
	delete(in, "args")
	in["result"] = result
	f := in["facts"].(map[string]any)
	delete(f, "paths")
	f["strings"] = facts.Values()
	return in
}

// BenchmarkDecideResultStrings measures the result phase by the number of
// strings in the result: what a chatty result costs.
func BenchmarkDecideResultStrings(b *testing.B) {
	e, err := policy.New(context.Background(), policy.Options{Builtin: policies.FS})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{4, 16, 64, 256} {
		in := resultInput(n)
		b.Run(fmt.Sprintf("strings-%d", n), func(b *testing.B) {
			if d := e.Decide(context.Background(), in); !d.Allow {
				b.Fatalf("benign result denied: %+v", d.Reasons)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Decide(context.Background(), in)
			}
		})
	}
}
