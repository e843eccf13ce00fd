package audit

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchDecision is a decision record of a realistic size (~600 bytes).
func benchDecision() Entry {
	return Entry{Kind: KindDecision, Body: map[string]any{
		"decision_id": "0b6c2f4e-8f9a-4c1e-9d7b-3a5e6f7a8b9c",
		"phase":       "call",
		"method":      "tools/call",
		"session":     "6f1d0c7e-2b3a-4d5e-8f90-a1b2c3d4e5f6",
		"principal":   map[string]any{"kind": "local", "id": "alice"},
		"client":      map[string]any{"name": "claude-code", "version": "2.1.0"},
		"upstream":    "filesystem",
		"tool":        map[string]any{"name": "filesystem__read_file", "upstream_name": "read_file", "effect": "read"},
		"args_digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"allow":       true,
		"enforced":    true,
		"mode":        "enforce",
		"reasons":     []any{},
		"obligations": []any{},
		"rules":       []string{},
		"revision":    "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		"eval_us":     57,
	}}
}

// syncCounter counts the Datasync calls of the segments.
type syncCounter struct{ n atomic.Int64 }

func (c *syncCounter) open(name string, flag int, perm fs.FileMode) (SegmentFile, error) {
	f, err := openOSFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return countedFile{f, c}, nil
}

type countedFile struct {
	SegmentFile
	c *syncCounter
}

func (f countedFile) Datasync() error {
	f.c.n.Add(1)
	return f.SegmentFile.Datasync()
}

// BenchmarkAppend measures durable appends (write + fdatasync before the
// return) by 1, 16 and 64 concurrent callers, each appending in a loop, with
// the default options (checkpoints every 1000 records and every second).
// It reports records/s, the p50 and p99 latency of an Append and the
// records per fdatasync.
func BenchmarkAppend(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			syncs := &syncCounter{}
			opts := Options{Dir: b.TempDir(), Keys: testKeys(), Version: "bench", Hostname: "bench", OpenFile: syncs.open}
			l, err := Open(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			e := benchDecision()
			lat := make([][]time.Duration, callers)
			var next atomic.Int64
			var wg sync.WaitGroup
			syncs.n.Store(0)
			b.ResetTimer()
			start := time.Now()
			for c := range callers {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := l.Append(context.Background(), e); err != nil {
							b.Error(err)
							return
						}
						lat[c] = append(lat[c], time.Since(t0))
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(len(all))/elapsed.Seconds(), "records/s")
				b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(len(all))/float64(max(1, syncs.n.Load())), "records/sync")
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
