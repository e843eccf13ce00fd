package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/mod/sumdb/note"
)

// testKeys are one key pair for the whole test binary, in memory.
var testKeys = sync.OnceValue(func() Keys {
	skey, vkey, err := note.GenerateKey(rand.Reader, "sovereign-audit/test")
	if err != nil {
		panic(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		panic(err)
	}
	return Keys{Signer: signer, Verifier: verifier, VerifierKey: vkey, HMAC: make([]byte, 32)}
})

// testLogger forwards the operational log to t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "audit", Level: hclog.Debug, Output: tWriter{t}})
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testOptions(t testing.TB, dir string) Options {
	return Options{
		Dir:                dir,
		Keys:               testKeys(),
		Version:            "test",
		Logger:             testLogger(t),
		Hostname:           "testhost",
		CheckpointInterval: time.Hour, // tests ask for interval checkpoints explicitly
	}
}

// writeDecisions opens a log with opts, appends n decision records and
// closes it.
func writeDecisions(t testing.TB, opts Options, n int) {
	t.Helper()
	l := mustOpen(t, opts)
	for i := range n {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t testing.TB, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func decision(i int) Entry {
	return Entry{Kind: KindDecision, Body: map[string]any{
		"decision_id": fmt.Sprintf("d-%d", i),
		"phase":       "call",
		"method":      "tools/call",
		"allow":       true,
		"tool":        map[string]any{"name": "read_file", "upstream_name": "read_file", "effect": "read"},
		"reasons":     []any{},
		"eval_us":     42,
	}}
}

// record is a line as an independent reader sees it.
type record struct {
	segment string
	line    []byte
	fields  map[string]any
}

func (r record) kind() string { return r.fields[FieldKind].(string) }

func (r record) num(field string) int64 {
	n, err := r.fields[field].(json.Number).Int64()
	if err != nil {
		panic(fmt.Sprintf("%s: %v", field, err))
	}
	return n
}

func (r record) str(field string) string { s, _ := r.fields[field].(string); return s }

// readLog reads every record of a log folder without the writer's code and
// checks the format contract: each line canonical (by gowebpki/jcs) and
// ending in "\n", seq from 0 without gaps, prev the leaf hash of the line
// before, one log origin, segments named by their first seq, opened by
// segment_opened and sealed by segment_sealed, every checkpoint record a
// note signed by the test key over the root of the records before it.
func readLog(t testing.TB, folder string) []record {
	t.Helper()
	segs, err := listSegments(folder)
	if err != nil {
		t.Fatal(err)
	}
	verifiers := note.VerifierList(testKeys().Verifier)
	var (
		recs   []record
		leaves []Hash
		prev   Hash
		origin string
	)
	for si, seg := range segs {
		data, err := os.ReadFile(filepath.Join(folder, seg.name))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("%s does not end with a newline: %q", seg.name, data[max(0, len(data)-80):])
		}
		lines := bytes.Split(data, []byte("\n"))
		lines = lines[:len(lines)-1]
		for li, line := range lines {
			seq := uint64(len(recs))
			if canon, err := jcs.Transform(line); err != nil || !bytes.Equal(canon, line) {
				t.Fatalf("%s line %d is not canonical: %s (%v)", seg.name, li+1, line, err)
			}
			f := decodeFields(t, line)
			r := record{segment: seg.name, line: line, fields: f}
			if got := r.num(FieldSeq); got != int64(seq) {
				t.Fatalf("%s line %d: seq %d, want %d", seg.name, li+1, got, seq)
			}
			if r.num(FieldVersion) != 1 || r.str(FieldPrev) != prev.String() {
				t.Fatalf("seq %d: v %v prev %s, want prev %s", seq, f[FieldVersion], r.str(FieldPrev), prev)
			}
			if origin == "" {
				origin = r.str(FieldLog)
			}
			if r.str(FieldLog) != origin {
				t.Fatalf("seq %d: log %q, want %q", seq, r.str(FieldLog), origin)
			}
			if _, err := time.Parse(TimeFormat, r.str(FieldTime)); err != nil || len(r.str(FieldTime)) != len(TimeFormat) {
				t.Fatalf("seq %d: ts %q", seq, r.str(FieldTime))
			}
			if li == 0 && si == 0 && seg.first != 0 || li == 0 && seg.first != seq {
				t.Fatalf("segment %s starts with seq %d", seg.name, seq)
			}
			if li == 0 && si > 0 && (r.kind() != KindSegmentOpened || r.str("previous") != segs[si-1].name || r.str("segment") != seg.name) {
				t.Fatalf("segment %s starts with %s", seg.name, line)
			}
			if si < len(segs)-1 && li == len(lines)-1 {
				if r.kind() != KindSegmentSealed || r.str("next") != segs[si+1].name || r.str("segment") != seg.name ||
					r.num("records") != int64(len(lines)) || recs[len(recs)-1].kind() != KindCheckpoint {
					t.Fatalf("segment %s ends with %s after %s", seg.name, line, recs[len(recs)-1].line)
				}
			}
			if r.kind() == KindCheckpoint {
				checkCheckpointRecord(t, r, origin, leaves, verifiers)
			}
			recs = append(recs, r)
			prev = LeafHash(line)
			leaves = append(leaves, prev)
		}
	}
	return recs
}

// decodeFields decodes a line with encoding/json, numbers as json.Number.
func decodeFields(t testing.TB, line []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var f map[string]any
	if err := d.Decode(&f); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return f
}

func checkCheckpointRecord(t testing.TB, r record, origin string, leaves []Hash, verifiers note.Verifiers) {
	t.Helper()
	n, err := note.Open([]byte(r.str("note")), verifiers)
	if err != nil {
		t.Fatalf("checkpoint %d: %v", r.num(FieldSeq), err)
	}
	root := rfc6962Root(leaves)
	want := Checkpoint{Origin: origin, Size: uint64(len(leaves)), Root: root}.Body()
	if n.Text != want || r.num("size") != int64(len(leaves)) || r.str("root") != base64.StdEncoding.EncodeToString(root[:]) {
		t.Fatalf("checkpoint %d: note %q size %d root %s, want %q", r.num(FieldSeq), n.Text, r.num("size"), r.str("root"), want)
	}
}

// rfc6962Root computes the Merkle root by the RFC's definition (not with a
// compact range, as the writer does).
func rfc6962Root(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func kinds(recs []record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.kind())
	}
	return out
}

func countKind(recs []record, kind string) int {
	n := 0
	for _, r := range recs {
		if r.kind() == kind {
			n++
		}
	}
	return n
}

func TestNewLogStartsWithLogOpened(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, testOptions(t, dir))
	for i := range 3 {
		seq, err := l.Append(context.Background(), decision(i))
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("Append %d = %d, %v", i, seq, err)
		}
	}
	if l.Folder() != "main" || !strings.HasPrefix(l.Origin(), "sovereign/testhost/main/") || len(l.Origin()) != len("sovereign/testhost/main/")+16 {
		t.Fatalf("folder %q origin %q", l.Folder(), l.Origin())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, filepath.Join(dir, "main"))
	want := []string{KindLogOpened, KindDecision, KindDecision, KindDecision, KindLogClosed, KindCheckpoint}
	if got := kinds(recs); !equalStrings(got, want) {
		t.Fatalf("kinds %v, want %v", got, want)
	}
	opened := recs[0]
	if opened.str(FieldPrev) != GenesisPrev || opened.str("reason") != "created" || opened.str("version") != "test" ||
		opened.str("hostname") != "testhost" || opened.num("pid") != int64(os.Getpid()) ||
		opened.str("key") != fmt.Sprintf("%s+%08x", testKeys().Verifier.Name(), testKeys().Verifier.KeyHash()) {
		t.Fatalf("log_opened %s", opened.line)
	}
	if recs[1].str("decision_id") != "d-0" || recs[4].num("pid") != int64(os.Getpid()) {
		t.Fatalf("records %s / %s", recs[1].line, recs[4].line)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestContinuityAcrossReopenAndRotation: seq, the chain and the tree run on
// across processes and segments as if the log were one file.
func TestContinuityAcrossReopenAndRotation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBytes int64
		maxAge   time.Duration
		every    int
		rounds   int
		perRound int
		wantSegs int // at least
	}{
		{name: "one segment", rounds: 3, perRound: 20, wantSegs: 1},
		{name: "rotation by size", maxBytes: 2048, rounds: 3, perRound: 40, wantSegs: 6},
		{name: "rotation by age", maxAge: time.Minute, rounds: 3, perRound: 5, wantSegs: 4},
		{name: "checkpoint every record", maxBytes: 4096, every: 1, rounds: 2, perRound: 30, wantSegs: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clock := newFakeClock()
			seq := uint64(0)
			for round := range tc.rounds {
				opts := testOptions(t, dir)
				opts.MaxSegmentBytes, opts.MaxSegmentAge, opts.CheckpointEvery, opts.Now = tc.maxBytes, tc.maxAge, tc.every, clock.Now
				l := mustOpen(t, opts)
				for i := range tc.perRound {
					clock.Add(time.Minute / time.Duration(tc.perRound) * 2)
					got, err := l.Append(context.Background(), decision(round*1000+i))
					if err != nil {
						t.Fatal(err)
					}
					if got <= seq && seq > 0 {
						t.Fatalf("seq %d after %d", got, seq)
					}
					seq = got
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			recs := readLog(t, filepath.Join(dir, "main"))
			if n := countKind(recs, KindDecision); n != tc.rounds*tc.perRound {
				t.Fatalf("%d decisions, want %d", n, tc.rounds*tc.perRound)
			}
			if n := countKind(recs, KindLogOpened); n != tc.rounds {
				t.Fatalf("%d log_opened, want %d", n, tc.rounds)
			}
			segs, _ := listSegments(filepath.Join(dir, "main"))
			if len(segs) < tc.wantSegs {
				t.Fatalf("%d segments, want at least %d", len(segs), tc.wantSegs)
			}
			if n := countKind(recs, KindSegmentSealed); n != len(segs)-1 {
				t.Fatalf("%d segment_sealed for %d segments", n, len(segs))
			}
			reasons := []string{}
			for _, r := range recs {
				if r.kind() == KindLogOpened {
					reasons = append(reasons, r.str("reason"))
				}
			}
			if reasons[0] != "created" || reasons[len(reasons)-1] != "reopened" {
				t.Fatalf("log_opened reasons %v", reasons)
			}
		})
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCheckpoints(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.CheckpointEvery = 10
	writeDecisions(t, opts, 35)
	folder := filepath.Join(dir, "main")
	recs := readLog(t, folder) // checks every checkpoint record's note and root
	var since int
	var newest record
	for _, r := range recs {
		if r.kind() == KindCheckpoint {
			if since > 10 {
				t.Fatalf("checkpoint %d after %d records", r.num(FieldSeq), since)
			}
			since = 0
			newest = r
			continue
		}
		since++
	}
	if countKind(recs, KindCheckpoint) != 4 || newest.num(FieldSeq) != int64(len(recs)-1) {
		t.Fatalf("%d checkpoints, newest at %d of %d", countKind(recs, KindCheckpoint), newest.num(FieldSeq), len(recs))
	}
	file, err := os.ReadFile(filepath.Join(folder, CheckpointFile))
	if err != nil || string(file) != newest.str("note") {
		t.Fatalf("checkpoint file %q, want the newest note %q (%v)", file, newest.str("note"), err)
	}
	c, _, err := OpenCheckpoint(file, note.VerifierList(testKeys().Verifier))
	if err != nil || c.Origin != newest.str(FieldLog) || c.Size != uint64(newest.num(FieldSeq)) {
		t.Fatalf("checkpoint file %+v, %v", c, err)
	}
}

func TestCheckpointInterval(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.CheckpointInterval = 20 * time.Millisecond
	l := mustOpen(t, opts)
	seq, err := l.Append(context.Background(), decision(0))
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "main")
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(folder, CheckpointFile))
		if err == nil {
			c, _, err := OpenCheckpoint(b, note.VerifierList(testKeys().Verifier))
			if err != nil {
				t.Fatal(err)
			}
			if c.Size > seq {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no interval checkpoint covers the record")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := readLog(t, folder)
	if before[len(before)-1].kind() != KindCheckpoint {
		t.Fatalf("records %v", kinds(before))
	}
	time.Sleep(100 * time.Millisecond) // idle: no more checkpoints
	if after := readLog(t, folder); len(after) != len(before) {
		t.Fatalf("checkpoints while idle: %v", kinds(after))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, folder)
	if got := kinds(recs[len(before):]); !equalStrings(got, []string{KindLogClosed, KindCheckpoint}) {
		t.Fatalf("at close: %v", got)
	}
}

func TestTwoOpensGetTwoFolders(t *testing.T) {
	dir := t.TempDir()
	a := mustOpen(t, testOptions(t, dir))
	b := mustOpen(t, testOptions(t, dir))
	c := mustOpen(t, testOptions(t, dir))
	if a.Folder() != "main" || b.Folder() != "main-2" || c.Folder() != "main-3" || a.Origin() == b.Origin() {
		t.Fatalf("folders %s %s %s, origins %s %s", a.Folder(), b.Folder(), c.Folder(), a.Origin(), b.Origin())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	d := mustOpen(t, testOptions(t, dir)) // main-2 is free again
	if d.Folder() != "main-2" {
		t.Fatalf("folder %s, want main-2", d.Folder())
	}
	for _, l := range []*Log{a, c, d} {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	recs := readLog(t, filepath.Join(dir, "main-2"))
	if got := kinds(recs); got[len(got)-3] != KindLogOpened || recs[len(recs)-3].str("reason") != "reopened" {
		t.Fatalf("main-2: %v", got)
	}
}

func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes = 64 << 10 // a few rotations on the way
	opts.CheckpointEvery = 100
	l := mustOpen(t, opts)
	const callers, each = 64, 40
	seqs := make([][]uint64, callers)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				seq, err := l.Append(context.Background(), decision(c*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				seqs[c] = append(seqs[c], seq)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, filepath.Join(dir, "main"))
	seen := map[uint64]bool{}
	for c, list := range seqs {
		for i, seq := range list {
			if seen[seq] {
				t.Fatalf("seq %d returned twice", seq)
			}
			seen[seq] = true
			if seq >= uint64(len(recs)) || recs[seq].kind() != KindDecision || recs[seq].str("decision_id") != fmt.Sprintf("d-%d", c*each+i) {
				t.Fatalf("seq %d is not caller %d's record %d", seq, c, i)
			}
			if i > 0 && seq <= list[i-1] {
				t.Fatalf("caller %d: seq %d after %d", c, seq, list[i-1])
			}
		}
	}
	if len(seen) != callers*each || countKind(recs, KindDecision) != callers*each {
		t.Fatalf("%d seqs, %d decisions", len(seen), countKind(recs, KindDecision))
	}
}

func TestAppendAsyncIsOrdered(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, testOptions(t, dir))
	for i := range 50 {
		l.AppendAsync(Entry{Kind: KindOutcome, Body: map[string]any{"decision_id": fmt.Sprintf("d-%d", i), "status": "ok"}})
	}
	seq, err := l.Append(context.Background(), decision(99))
	if err != nil || seq != 51 {
		t.Fatalf("Append after 50 async = %d, %v", seq, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, filepath.Join(dir, "main"))
	for i := range 50 {
		if recs[1+i].str("decision_id") != fmt.Sprintf("d-%d", i) {
			t.Fatalf("record %d: %s", 1+i, recs[1+i].line)
		}
	}
}

func TestAppendErrors(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, testOptions(t, dir))
	for _, e := range []Entry{
		{},
		{Kind: KindDecision, Body: map[string]any{"seq": 1}},
		{Kind: KindDecision, Body: map[string]any{"x": 1.5}},
		{Kind: KindDecision, Body: map[string]any{"x": strings.Repeat("y", maxRecordLine)}}, // too long for verify
	} {
		if _, err := l.Append(context.Background(), e); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("%+v: err = %v, want ErrInvalidEntry", e, err)
		}
	}
	l.AppendAsync(Entry{Kind: KindOutcome, Body: map[string]any{"bad": 0.5}}) // dropped, logged
	if seq, err := l.Append(context.Background(), decision(1)); err != nil || seq != 1 {
		t.Fatalf("the invalid entries took seqs: %d, %v", seq, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, decision(2)); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled: err = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(context.Background(), decision(3)); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("after Close: err = %v", err)
	}
	l.AppendAsync(decision(4)) // dropped, no panic
	readLog(t, filepath.Join(dir, "main"))
}

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"no dir", func(o *Options) { o.Dir = "" }},
		{"no keys", func(o *Options) { o.Keys = Keys{} }},
		{"path as name", func(o *Options) { o.Name = "../x" }},
		{"negative size", func(o *Options) { o.MaxSegmentBytes = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions(t, t.TempDir())
			tc.edit(&opts)
			if _, err := Open(context.Background(), opts); !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("err = %v, want ErrInvalidOptions", err)
			}
		})
	}
}
