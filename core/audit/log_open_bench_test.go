package audit

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// noSyncFile is a segment file whose Datasync does nothing: building the
// benchmark's log does not need the durability, only the records.
type noSyncFile struct{ *os.File }

func (noSyncFile) Datasync() error { return nil }

func openNoSync(name string, flag int, perm fs.FileMode) (SegmentFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

// openBenchRecords is the size of BenchmarkOpen's log.
const openBenchRecords = 1_000_000

// BenchmarkOpen measures Open followed by Close on a log of 1,000,000
// decisions (~600 bytes each, checkpoints as the writer makes them) in
// segments of 4 MiB (~150 segments), built once with the writer. It
// reports the log's records and segments, and ms per Open+Close.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	opts := Options{Dir: dir, Keys: testKeys(), Version: "bench", Hostname: "bench", MaxSegmentBytes: 4 << 20}
	build := opts
	build.OpenFile = openNoSync
	t0 := time.Now()
	l, err := Open(context.Background(), build)
	if err != nil {
		b.Fatal(err)
	}
	e := benchDecision()
	for range openBenchRecords {
		l.AppendAsync(e)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	segs, err := listSegments(filepath.Join(dir, DefaultName))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d records in %d segments in %v", openBenchRecords, len(segs), time.Since(t0).Round(time.Millisecond))
	b.ResetTimer()
	for b.Loop() {
		l, err := Open(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(float64(len(segs)), "segments")
}
