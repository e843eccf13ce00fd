package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

// readAll reads r to io.EOF, failing on any error.
func readAll(t *testing.T, r *audit.LogReader) []*audit.Record {
	t.Helper()
	var out []*audit.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		out = append(out, rec)
	}
}

func generated(t *testing.T, opts audittest.Options) *audittest.Log {
	t.Helper()
	key, err := audittest.NewKey("sovereign-audit/read-test")
	if err != nil {
		t.Fatal(err)
	}
	opts.Signer = key.Signer
	l, err := audittest.Generate(t.TempDir(), "main", opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLogReaderReadsEverySegmentInOrder(t *testing.T) {
	l := generated(t, audittest.Options{Records: 1000, SegmentRecords: 300, Closed: true})
	r, err := audit.OpenLogReader(l.Folder)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := len(r.Segments()); got != len(l.Segments) || got < 3 {
		t.Fatalf("segments: %d, generated %d", got, len(l.Segments))
	}
	recs := readAll(t, r)
	if uint64(len(recs)) != l.Records {
		t.Fatalf("read %d records, want %d", len(recs), l.Records)
	}
	for i, rec := range recs {
		if rec.Seq != uint64(i) {
			t.Fatalf("record %d has seq %d", i, rec.Seq)
		}
		path, _ := l.Locate(rec.Seq)
		if rec.Segment != filepath.Base(path) || rec.Log != "main" {
			t.Fatalf("seq %d: segment %s/%s, want %s", rec.Seq, rec.Log, rec.Segment, path)
		}
	}
	last := recs[len(recs)-1]
	if last.Kind != audit.KindCheckpoint || recs[0].Kind != audit.KindLogOpened {
		t.Fatalf("first %s, last %s", recs[0].Kind, last.Kind)
	}
	lines, _ := audittest.Lines(filepath.Join(l.Folder, last.Segment))
	if string(lines[len(lines)-1]) != string(last.Line) {
		t.Fatal("Line is not the line as stored")
	}
	if id := recs[2].Str("decision_id"); id == "" || recs[2].Str("tool", "name") != "filesystem_read_file" {
		t.Fatalf("fields of a decision: %v", recs[2].Fields)
	}
	if n, ok := recs[3].Int("duration_us"); !ok || n <= 0 {
		t.Fatalf("duration_us of an outcome: %v %v", n, ok)
	}

	// SeekTime starts at the segment holding the time.
	at := l.Segments[2].First + 5
	r2, _ := audit.OpenLogReader(l.Folder)
	defer r2.Close()
	if err := r2.SeekTime(recs[at].Time); err != nil {
		t.Fatal(err)
	}
	if rec, err := r2.Next(); err != nil || rec.Seq != l.Segments[2].First {
		t.Fatalf("after SeekTime: %v, %v; want seq %d", rec, err, l.Segments[2].First)
	}
}

// TestLogReaderFollows appends to a log while a reader reads it: partial
// lines wait, rotation is followed, a cut-back segment is reported.
func TestLogReaderFollows(t *testing.T) {
	dir := t.TempDir()
	keys, err := audit.LoadOrCreateKeys(filepath.Join(dir, "keys"), filepath.Join(dir, "audit"), "sovereign-audit/read-test")
	if err != nil {
		t.Fatal(err)
	}
	opts := audit.Options{Dir: filepath.Join(dir, "audit"), Keys: keys, Version: "test", Hostname: "testhost",
		MaxSegmentBytes: 4096, CheckpointInterval: time.Hour}
	l, err := audit.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(opts.Dir, l.Folder())
	r, err := audit.OpenLogReader(folder)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seen []*audit.Record
	next := uint64(0)
	check := func() {
		t.Helper()
		for _, rec := range readAll(t, r) {
			if rec.Seq != next {
				t.Fatalf("seq %d after %d", rec.Seq, next-1)
			}
			next++
			seen = append(seen, rec)
		}
	}
	for round := 0; round < 6; round++ {
		for i := 0; i < 20; i++ {
			if _, err := l.Append(context.Background(), audit.Entry{Kind: audit.KindDecision, Body: map[string]any{
				"decision_id": fmt.Sprintf("r%d-%d", round, i), "method": "tools/call", "allow": true,
			}}); err != nil {
				t.Fatal(err)
			}
		}
		check()
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check()
	if len(r.Segments()) < 3 {
		t.Fatalf("the log did not rotate: %v", r.Segments())
	}
	if k := seen[len(seen)-1].Kind; k != audit.KindCheckpoint {
		t.Fatalf("last record read: %s, want the final checkpoint", k)
	}

	// A partial last line is left until it is complete.
	segs := r.Segments()
	newest := filepath.Join(folder, segs[len(segs)-1])
	f, err := os.OpenFile(newest, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := fmt.Sprintf(`{"kind":"decision","seq":%d,"ts":"2026-11-27T09:00:00.000000Z"}`, next)
	f.WriteString(line[:20])
	if rec, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("a partial line: %v, %v; want io.EOF", rec, err)
	}
	f.WriteString(line[20:] + "\n")
	if rec, err := r.Next(); err != nil || rec.Seq != next || string(rec.Line) != line {
		t.Fatalf("the completed line: %v, %v", rec, err)
	}

	// A line that is not a record is reported, and reading goes on.
	f.WriteString("not json\n" + fmt.Sprintf(`{"kind":"outcome","seq":%d,"ts":"2026-11-27T09:00:00.000000Z"}`, next+1) + "\n")
	var re *audit.ReadError
	if _, err := r.Next(); !errors.As(err, &re) || !errors.Is(err, audit.ErrNotRecord) {
		t.Fatalf("garbage: %v", err)
	}
	if rec, err := r.Next(); err != nil || rec.Seq != next+1 {
		t.Fatalf("after garbage: %v, %v", rec, err)
	}

	// A segment cut back (a failed write rolled back) is reported; reading
	// goes on from its new end.
	info, _ := os.Stat(newest)
	if err := os.Truncate(newest, info.Size()-10); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, audit.ErrCutBack) {
		t.Fatalf("cut back: %v", err)
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the cut: %v", err)
	}
}

// TestLogReaderDamage: a line too long to be a record, and an incomplete
// line in a segment that is not the newest, are reported, and reading
// goes on.
func TestLogReaderDamage(t *testing.T) {
	l := generated(t, audittest.Options{Records: 40, SegmentRecords: 20})
	first := filepath.Join(l.Folder, l.Segments[0].Name)
	long := append([]byte(`{"kind":"x","seq":0,"pad":"`), make([]byte, audit.DefaultMaxLine)...)
	if err := audittest.Edit(first, func(lines [][]byte) [][]byte {
		return append([][]byte{lines[0], append(long, `"}`...)}, lines[1:]...)
	}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(first, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"kind":"torn`)
	f.Close()

	r, err := audit.OpenLogReader(l.Folder)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var seqs []uint64
	var errs []error
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seqs = append(seqs, rec.Seq)
	}
	if uint64(len(seqs)) != l.Records || len(errs) != 2 {
		t.Fatalf("%d records (want %d), errors %v", len(seqs), l.Records, errs)
	}
	var re *audit.ReadError
	if !errors.As(errs[0], &re) || re.Line != 2 || !strings.Contains(re.Error(), "longer than") {
		t.Errorf("the long line: %v", errs[0])
	}
	if !errors.As(errs[1], &re) || re.Segment != l.Segments[0].Name || !strings.Contains(re.Error(), "incomplete last line") {
		t.Errorf("the torn line of a sealed segment: %v", errs[1])
	}
}
