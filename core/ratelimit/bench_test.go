package ratelimit

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Generous limits (a billion a second) so the benchmarks measure the allowed
// path with the real clock; BenchmarkAllowDenied measures the other one.
func generous(key string) Rule {
	return Rule{Key: key, Limit: MaxLimit, Window: time.Millisecond, Burst: MaxBurst}
}

func newBenchLimiter(b *testing.B, maxKeys int) *Limiter {
	l, err := New(maxKeys, nil)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func BenchmarkAllow1RuleHotKey(b *testing.B) {
	l := newBenchLimiter(b, 10_000)
	rules := []Rule{generous("fs:delete_file:alice")}
	b.ReportAllocs()
	for b.Loop() {
		if !l.Allow(rules).Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkAllow3Rules(b *testing.B) {
	l := newBenchLimiter(b, 10_000)
	rules := []Rule{generous("principal:alice"), generous("upstream:fs:alice"), generous("fs:delete_file:alice")}
	b.ReportAllocs()
	for b.Loop() {
		if !l.Allow(rules).Allowed {
			b.Fatal("denied")
		}
	}
}

func BenchmarkAllowDenied(b *testing.B) {
	l := newBenchLimiter(b, 10_000)
	rules := []Rule{{Key: "fs:delete_file:alice", Limit: 10, Window: time.Minute, Burst: 1}}
	l.Allow(rules)
	b.ReportAllocs()
	for b.Loop() {
		if l.Allow(rules).Allowed {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkAllowParallelDistinctKeys(b *testing.B) {
	l := newBenchLimiter(b, 10_000)
	var id atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		rules := []Rule{generous(fmt.Sprintf("principal:%d", id.Add(1)))}
		for pb.Next() {
			if !l.Allow(rules).Allowed {
				b.Fatal("denied")
			}
		}
	})
}

func BenchmarkAllowParallelSameKey(b *testing.B) {
	l := newBenchLimiter(b, 10_000)
	rules := []Rule{generous("shared")}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !l.Allow(rules).Allowed {
				b.Fatal("denied")
			}
		}
	})
}

// A flood of new keys into a full cache: every call creates a bucket and
// evicts one.
func BenchmarkAllowNewKeyFlood(b *testing.B) {
	const maxKeys = 10_000
	l := newBenchLimiter(b, maxKeys)
	keys := make([]Rule, 1<<16)
	for i := range keys {
		keys[i] = Rule{Key: fmt.Sprintf("flood:%d", i), Limit: 10, Window: time.Minute}
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		l.Allow(keys[i&(len(keys)-1) : i&(len(keys)-1)+1])
		i++
	}
	if l.Len() > maxKeys {
		b.Fatalf("Len %d", l.Len())
	}
}

func BenchmarkParseRule(b *testing.B) {
	ob := map[string]any{"type": "rate_limit", "key": "fs:delete:alice", "limit": 10.0, "window": "1m", "burst": 3.0}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRule(ob); err != nil {
			b.Fatal(err)
		}
	}
}
