package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestSegmentOpenedCarriesTreeState: every segment_opened carries the
// compact range of the records before it, as Tree has it there.
func TestSegmentOpenedCarriesTreeState(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes = 2048
	writeDecisions(t, opts, 60)
	recs := readLog(t, filepath.Join(dir, "main"))
	tree, opened := NewTree(), 0
	for i, r := range recs {
		if r.kind() == KindSegmentOpened {
			opened++
			st, err := parseTreeState(mustRaw(t, r.line, "tree"))
			if err != nil {
				t.Fatalf("seq %d: %v", i, err)
			}
			want := tree.State()
			if st.Size != uint64(i) || st.Size != want.Size || len(st.Hashes) != len(want.Hashes) {
				t.Fatalf("seq %d: tree state %+v, want %+v", i, st, want)
			}
			for j := range st.Hashes {
				if st.Hashes[j] != want.Hashes[j] {
					t.Fatalf("seq %d: hash %d differs", i, j)
				}
			}
			back, err := TreeFromState(st)
			if err != nil {
				t.Fatal(err)
			}
			r1, _ := back.Root()
			r2, _ := tree.Root()
			if r1 != r2 {
				t.Fatalf("seq %d: root of the imported state differs", i)
			}
		}
		if err := tree.Append(LeafHash(r.line)); err != nil {
			t.Fatal(err)
		}
	}
	if opened < 3 {
		t.Fatalf("%d segment_opened records, want several", opened)
	}
}

func mustRaw(t testing.TB, line []byte, field string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	return m[field]
}

// retainedLog writes a log with retention: segments written two hours
// before the last ones are deleted at a rotation. It returns the log folder.
func retainedLog(t *testing.T, dir string) string {
	t.Helper()
	clock := newFakeClock()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes, opts.Retention, opts.Now = 2048, time.Hour, clock.Now
	l := mustOpen(t, opts)
	for i := range 40 {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(2 * time.Hour)
	for i := range 40 {
		if _, err := l.Append(context.Background(), decision(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "main")
}

func verifyDir(t *testing.T, dir string) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), VerifyOptions{Dir: dir, Keys: note.VerifierList(testKeys().Verifier)})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// allLines reads every line of every segment present, in order.
func allLines(t *testing.T, folder string) (segs []segmentRef, lines [][][]byte) {
	t.Helper()
	segs, err := listSegments(folder)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		b, err := os.ReadFile(filepath.Join(folder, s.name))
		if err != nil {
			t.Fatal(err)
		}
		ls := bytes.Split(b, []byte("\n"))
		lines = append(lines, ls[:len(ls)-1])
	}
	return segs, lines
}

func TestRetentionPrunedLogVerifiesAndReopens(t *testing.T) {
	dir := t.TempDir()
	folder := retainedLog(t, dir)
	segs, lines := allLines(t, folder)
	if segs[0].first == 0 {
		t.Fatalf("no segment was deleted: %v", segs)
	}
	var prune map[string]any
	for _, ls := range lines {
		for _, line := range ls {
			if bytes.Contains(line, []byte(`"kind":"retention_prune"`)) {
				prune = decodeFields(t, line)
			}
		}
	}
	if prune == nil {
		t.Fatal("no retention_prune record")
	}
	if n, _ := prune["through_seq"].(json.Number).Int64(); uint64(n) != segs[0].first-1 {
		t.Fatalf("retention_prune through_seq %d, first kept seq %d", n, segs[0].first)
	}
	if names, _ := prune["segments"].([]any); len(names) == 0 || names[0] != SegmentName(0) {
		t.Fatalf("retention_prune segments %v", prune["segments"])
	}

	rep := verifyDir(t, dir)
	if !rep.OK() {
		t.Fatalf("pruned log: %+v", rep.Logs[0].Problem)
	}
	if notes := strings.Join(rep.Logs[0].Notes, "\n"); !strings.Contains(notes, "deleted (retention)") || !strings.Contains(notes, "cannot be checked") || strings.Contains(notes, "no retention_prune") {
		t.Fatalf("notes %q", notes)
	}

	// Recovery accepts it, and the log goes on.
	opts := testOptions(t, dir)
	l := mustOpen(t, opts)
	if _, err := l.Append(context.Background(), decision(1000)); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep = verifyDir(t, dir)
	if !rep.OK() || rep.Logs[0].First != segs[0].first {
		t.Fatalf("reopened pruned log: first %d, %+v", rep.Logs[0].First, rep.Logs[0].Problem)
	}

	// Records kept can still be proven; deleted ones cannot.
	keys := note.VerifierList(testKeys().Verifier)
	for _, seq := range []uint64{segs[0].first, segs[0].first + 1, segs[0].first + 13, rep.Logs[0].Newest.Size - 1} {
		b, err := Prove(context.Background(), folder, seq, keys)
		if err != nil {
			t.Fatalf("Prove %d: %v", seq, err)
		}
		if b.Seq != seq || !strings.Contains(b.Record, fmt.Sprintf(`"seq":%d,`, seq)) {
			t.Fatalf("Prove %d: record %s", seq, b.Record)
		}
	}
	if _, err := Prove(context.Background(), folder, segs[0].first-1, keys); err == nil || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("Prove of a deleted record: %v", err)
	}
}

// TestRetentionAtOpen: Open applies retention too.
func TestRetentionAtOpen(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes, opts.MaxSegmentAge, opts.Now = 2048, 1000*time.Hour, clock.Now
	writeDecisions(t, opts, 60)
	before, _ := listSegments(filepath.Join(dir, "main"))
	// A checkpoint of the records about to be deleted, kept outside.
	_, lines := allLines(t, filepath.Join(dir, "main"))
	var old []byte
	for _, line := range lines[0] {
		if bytes.Contains(line, []byte(`"kind":"checkpoint"`)) {
			old = []byte(decodeFields(t, line)["note"].(string))
		}
	}
	clock.Add(48 * time.Hour)
	opts.Retention = time.Hour
	l := mustOpen(t, opts)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := listSegments(filepath.Join(dir, "main"))
	// The segment being written and the sealed one before it stay.
	if len(after) != 2 || after[0] != before[len(before)-2] || after[1] != before[len(before)-1] {
		t.Fatalf("segments %v, then %v", before, after)
	}
	if rep := verifyDir(t, dir); !rep.OK() {
		t.Fatalf("pruned at open: %+v", rep.Logs[0].Problem)
	}
	rep, err := Verify(context.Background(), VerifyOptions{Dir: dir, Keys: note.VerifierList(testKeys().Verifier), Trusted: [][]byte{old}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || !strings.Contains(strings.Join(rep.Logs[0].Notes, "\n"), "covers only deleted records") {
		t.Fatalf("a trusted checkpoint of deleted records: %+v, notes %q", rep.Logs[0].Problem, rep.Logs[0].Notes)
	}
}

// TestRetentionStateWithoutCheckpoint: a tree state no signed checkpoint
// vouches for is UNSIGNED.
func TestRetentionStateWithoutCheckpoint(t *testing.T) {
	dir := t.TempDir()
	folder := retainedLog(t, dir)
	segs, lines := allLines(t, folder)
	for _, s := range segs[1:] {
		os.Remove(filepath.Join(folder, s.name))
	}
	os.Remove(filepath.Join(folder, CheckpointFile))
	if err := os.WriteFile(filepath.Join(folder, segs[0].name), append(lines[0][0], '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, dir)
	if p := rep.Logs[0].Problem; p == nil || p.Category != Unsigned || p.Seq != segs[0].first {
		t.Fatalf("unvouched tree state: %+v", p)
	}
	_, err := Open(context.Background(), testOptions(t, dir))
	var d *DamageError
	if !errors.As(err, &d) || d.Category != damageUnsigned || d.Seq != segs[0].first {
		t.Fatalf("Open: %v", err)
	}
}

// rewriteFrom replaces line i of segment 0 and recomputes the chain after
// it (the prev of every later line), as someone without the key would.
func rewriteFrom(t *testing.T, folder string, segs []segmentRef, lines [][][]byte, si, li int, changed []byte) {
	t.Helper()
	old := LeafHash(lines[si][li])
	lines[si][li] = changed
	cur := LeafHash(changed)
	for s := si; s < len(lines); s++ {
		start := 0
		if s == si {
			start = li + 1
		}
		for j := start; j < len(lines[s]); j++ {
			orig := LeafHash(lines[s][j])
			lines[s][j] = bytes.Replace(lines[s][j], []byte(`"prev":"`+old.String()+`"`), []byte(`"prev":"`+cur.String()+`"`), 1)
			old, cur = orig, LeafHash(lines[s][j])
		}
	}
	for s := si; s < len(lines); s++ {
		var b []byte
		for _, l := range lines[s] {
			b = append(append(b, l...), '\n')
		}
		if err := os.WriteFile(filepath.Join(folder, segs[s].name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRetentionTamperedTreeState(t *testing.T) {
	for _, recompute := range []bool{false, true} {
		name := "flipped"
		if recompute {
			name = "chain recomputed"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			folder := retainedLog(t, dir)
			segs, lines := allLines(t, folder)
			// Open reads the newest segment only: cut the log to the first
			// segment kept (sealed: an interrupted rotation), whose
			// segment_opened is where both recovery and verify start.
			for _, s := range segs[1:] {
				os.Remove(filepath.Join(folder, s.name))
			}
			os.Remove(filepath.Join(folder, CheckpointFile))
			segs, lines = segs[:1], lines[:1]
			first := lines[0][0]
			i := bytes.Index(first, []byte(`"hashes":["`)) + len(`"hashes":["`) + 3
			changed := bytes.Clone(first)
			if changed[i] == 'A' {
				changed[i] = 'B'
			} else {
				changed[i] = 'A'
			}
			if recompute {
				rewriteFrom(t, folder, segs, lines, 0, 0, changed)
			} else {
				lines[0][0] = changed
				var b []byte
				for _, l := range lines[0] {
					b = append(append(b, l...), '\n')
				}
				if err := os.WriteFile(filepath.Join(folder, segs[0].name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			rep := verifyDir(t, dir)
			p := rep.Logs[0].Problem
			if p == nil || p.Category != Modified && p.Category != Fork || p.Seq != segs[0].first {
				t.Fatalf("tampered tree state: %+v", p)
			}
			_, err := Open(context.Background(), testOptions(t, dir))
			var d *DamageError
			if !errors.As(err, &d) || d.Category != damageModified || d.Seq != segs[0].first {
				t.Fatalf("Open over a tampered tree state: %v", err)
			}
		})
	}
}

// TestDeletionWithoutRetentionRecord: first segments deleted by hand (not
// by the writer) still verify, with a note that no retention_prune
// accounts for them.
func TestDeletionWithoutRetentionRecord(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes = 2048
	writeDecisions(t, opts, 40)
	folder := filepath.Join(dir, "main")
	segs, _ := listSegments(folder)
	for _, s := range segs[:2] {
		if err := os.Remove(filepath.Join(folder, s.name)); err != nil {
			t.Fatal(err)
		}
	}
	rep := verifyDir(t, dir)
	if !rep.OK() || !strings.Contains(strings.Join(rep.Logs[0].Notes, "\n"), "no retention_prune record accounts for") {
		t.Fatalf("%+v, notes %q", rep.Logs[0].Problem, rep.Logs[0].Notes)
	}
}

// TestRetentionMiddleSegmentMissingIsGap: a segment missing after the first
// one kept is a GAP for verify. Open reads the newest segment only: it
// sees the gap when the missing segment is the one before the newest (the
// newest segment_opened names it), not further back.
func TestRetentionMiddleSegmentMissingIsGap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		missing func(segs []segmentRef) int // index of the segment deleted
		openGap bool
	}{
		{"the second segment kept", func([]segmentRef) int { return 1 }, false},
		{"the segment before the newest", func(segs []segmentRef) int { return len(segs) - 2 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			folder := retainedLog(t, dir)
			segs, _ := allLines(t, folder)
			if len(segs) < 4 {
				t.Fatalf("segments %v", segs)
			}
			i := tc.missing(segs)
			if err := os.Remove(filepath.Join(folder, segs[i].name)); err != nil {
				t.Fatal(err)
			}
			rep := verifyDir(t, dir)
			if p := rep.Logs[0].Problem; p == nil || p.Category != Gap || p.Seq != segs[i+1].first {
				t.Fatalf("segment %d deleted: %+v", i, p)
			}
			l, err := Open(context.Background(), testOptions(t, dir))
			if !tc.openGap {
				if err != nil {
					t.Fatalf("Open reads only the newest segment: %v", err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if p := verifyDir(t, dir).Logs[0].Problem; p == nil || p.Category != Gap || p.Seq != segs[i+1].first {
					t.Fatalf("after Open: %+v", p)
				}
				return
			}
			var d *DamageError
			if !errors.As(err, &d) || d.Category != damageGap || d.Seq != segs[i+1].first {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}
