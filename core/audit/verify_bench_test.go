package audit_test

import (
	"context"
	"testing"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

// BenchmarkVerify measures verify throughput on a generated log of 100,000
// records (a checkpoint every 1,000, as the writer does, and segments of
// 40,000 records). Target: 300,000 records/s or more.
func BenchmarkVerify(b *testing.B) {
	k, _ := keys(b)
	dir := b.TempDir()
	if err := audittest.WriteVerifierKey(dir, k.VKey); err != nil {
		b.Fatal(err)
	}
	l, err := audittest.Generate(dir, "main", audittest.Options{Records: 100_000, CheckpointEvery: 1000, SegmentRecords: 40_000, Closed: true, Signer: k.Signer})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.Verify(ctx, audit.VerifyOptions{Dir: dir})
		if err != nil || !rep.OK() || rep.Logs[0].Records != l.Records {
			b.Fatalf("%v %+v", err, rep.Logs[0].Problem)
		}
		bytes = rep.Logs[0].Bytes
	}
	b.ReportMetric(float64(l.Records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(bytes)/float64(l.Records), "B/record")
}
