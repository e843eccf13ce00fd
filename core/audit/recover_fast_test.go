package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// multiSegmentLog writes a closed log of five or more segments with a
// checkpoint every 10 records, and returns its audit directory, folder,
// records and segments.
func multiSegmentLog(t *testing.T) (string, string, []record, []segmentRef) {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes = 6000
	opts.CheckpointEvery = 10
	writeDecisions(t, opts, 90)
	folder := filepath.Join(dir, DefaultName)
	recs := readLog(t, folder)
	segs, err := listSegments(folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 5 {
		t.Fatalf("the log has %d segments, want 5 or more", len(segs))
	}
	return dir, folder, recs, segs
}

// fullReplay is the chain head and tree of every line of the log, computed
// without recovery's code.
func fullReplay(recs []record) (records uint64, last Hash, root Hash) {
	leaves := make([]Hash, len(recs))
	for i, r := range recs {
		leaves[i] = LeafHash(r.line)
	}
	return uint64(len(recs)), leaves[len(leaves)-1], rfc6962Root(leaves)
}

// TestRecoveryStartsAtTheNewestSegment: recovery reads the newest segment
// from the tree state of its segment_opened, and ends with the chain head,
// seq and tree a replay of every line gives.
func TestRecoveryStartsAtTheNewestSegment(t *testing.T) {
	_, folder, recs, segs := multiSegmentLog(t)
	r, err := recoverLog(context.Background(), folder, DefaultName, testKeys())
	if err != nil || r.damage != nil {
		t.Fatalf("recoverLog: %v, damage %v", err, r.damage)
	}
	newest := segs[len(segs)-1]
	if !r.resumed || r.importSegment != newest.name || r.importSeq != newest.first || !r.importAuth {
		t.Fatalf("recovery started at %s (seq %d, resumed %v, vouched for %v), want %s", r.importSegment, r.importSeq, r.resumed, r.importAuth, newest.name)
	}
	records, last, root := fullReplay(recs)
	got, err := r.tree.Root()
	if err != nil {
		t.Fatal(err)
	}
	if r.records != records || r.last != last || got != root || r.tree.Size() != records {
		t.Fatalf("recovered %d records, last %s, root %x; a full replay: %d, %s, %x", r.records, r.last, got, records, last, root)
	}
}

// TestOpenReadsOnlyTheNewestSegment: damage in segments before the newest
// does not stop Open (it does not read them); the records it appends
// continue the chain and the tree, and Verify reports the old damage, not
// the new records. With the old segment restored, the whole log verifies:
// the checkpoints the writer signed after the fast Open are those of a
// full replay.
func TestOpenReadsOnlyTheNewestSegment(t *testing.T) {
	for _, tc := range []struct {
		name string
		// damage changes segments before the newest; it returns the
		// problem Verify must report (category "" when Verify cannot read
		// the log) and a function restoring the log.
		damage func(t *testing.T, folder string, recs []record, segs []segmentRef) (Category, uint64, func())
	}{
		{"a value changed in the first segment", func(t *testing.T, folder string, recs []record, segs []segmentRef) (Category, uint64, func()) {
			seq := seqOf(t, recs, "d-3")
			restore := keep(t, filepath.Join(folder, recs[seq].segment))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i] = bytes.Replace(lines[i], []byte(`"d-3"`), []byte(`"d-9"`), 1)
				return lines
			})
			return Modified, seq, restore
		}},
		{"the first segment overwritten with zeros", func(t *testing.T, folder string, recs []record, segs []segmentRef) (Category, uint64, func()) {
			path := filepath.Join(folder, segs[0].name)
			restore := keep(t, path)
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, make([]byte, info.Size()), 0o600); err != nil {
				t.Fatal(err)
			}
			return Modified, 0, restore
		}},
		{"a middle segment deleted", func(t *testing.T, folder string, recs []record, segs []segmentRef) (Category, uint64, func()) {
			path := filepath.Join(folder, segs[1].name)
			restore := keep(t, path)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			return Gap, segs[2].first, restore
		}},
		{"the first segments unreadable", func(t *testing.T, folder string, recs []record, segs []segmentRef) (Category, uint64, func()) {
			if os.Geteuid() == 0 {
				t.Skip("root reads files of mode 000")
			}
			for _, s := range segs[:len(segs)-1] {
				if err := os.Chmod(filepath.Join(folder, s.name), 0); err != nil {
					t.Fatal(err)
				}
			}
			return "", 0, func() {
				for _, s := range segs[:len(segs)-1] {
					if err := os.Chmod(filepath.Join(folder, s.name), 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, folder, recs, segs := multiSegmentLog(t)
			category, seq, restore := tc.damage(t, folder, recs, segs)

			opts := testOptions(t, dir)
			opts.CheckpointEvery = 10
			writeDecisions(t, opts, 25) // Open succeeds: the damage is not read
			if category != "" {
				p := verifyDir(t, dir).Logs[0].Problem
				if p == nil || p.Category != category || p.Seq != seq {
					t.Fatalf("Verify after the fast Open: %+v, want %s at seq %d", p, category, seq)
				}
			}

			restore()
			after := readLog(t, folder) // every checkpoint root against the RFC 6962 root of all leaves
			if len(after) <= len(recs)+25 || !bytes.Equal(after[len(recs)-1].line, recs[len(recs)-1].line) {
				t.Fatalf("%d records after the appends, %d before", len(after), len(recs))
			}
			if rep := verifyDir(t, dir); !rep.OK() {
				t.Fatalf("restored log: %+v", rep.Logs[0].Problem)
			}
		})
	}
}

// keep saves a file's content and mode; the function returned writes them
// back.
func keep(t *testing.T, path string) func() {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNewestTreeStateTampered: a changed tree state in the newest
// segment's segment_opened is refused at Open: as a changed line when the
// chain was left alone, and by the segment's first checkpoint when the
// chain was recomputed.
func TestNewestTreeStateTampered(t *testing.T) {
	for _, recompute := range []bool{false, true} {
		name := "flipped"
		if recompute {
			name = "chain recomputed"
		}
		t.Run(name, func(t *testing.T) {
			dir, folder, _, _ := multiSegmentLog(t)
			segs, lines := allLines(t, folder)
			n := len(segs) - 1
			first := lines[n][0]
			i := bytes.Index(first, []byte(`"hashes":["`)) + len(`"hashes":["`) + 3
			changed := bytes.Clone(first)
			changed[i] ^= 'A' ^ 'B'
			if changed[i] != 'A' && changed[i] != 'B' {
				changed[i] = 'A'
			}
			if recompute {
				rewriteFrom(t, folder, segs, lines, n, 0, changed)
			} else {
				lines[n][0] = changed
				var b []byte
				for _, l := range lines[n] {
					b = append(append(b, l...), '\n')
				}
				if err := os.WriteFile(filepath.Join(folder, segs[n].name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(context.Background(), testOptions(t, dir))
			var d *DamageError
			if !errors.As(err, &d) || d.Category != damageModified || d.Seq != segs[n].first || d.Segment != segs[n].name {
				t.Fatalf("Open over a tampered tree state: %v", err)
			}
		})
	}
}

// TestNewestSegmentWithoutCheckpoint: a crash right after a rotation
// leaves a newest segment with no checkpoint yet to vouch for its tree
// state; recovery then starts one segment earlier, whose rotation
// checkpoint vouches for it, and the log goes on with the right tree.
func TestNewestSegmentWithoutCheckpoint(t *testing.T) {
	dir, folder, recs, segs := multiSegmentLog(t)
	newest := segs[len(segs)-1]
	keepLines := 2 // segment_opened, log_opened
	editSegment(t, folder, recs, newest.first, func(lines [][]byte, i int) [][]byte { return lines[:keepLines] })
	os.Remove(filepath.Join(folder, CheckpointFile))
	recs = recs[:newest.first+uint64(keepLines)]

	r, err := recoverLog(context.Background(), folder, DefaultName, testKeys())
	if err != nil || r.damage != nil {
		t.Fatalf("recoverLog: %v, damage %v", err, r.damage)
	}
	if before := segs[len(segs)-2]; r.importSegment != before.name || !r.importAuth {
		t.Fatalf("recovery started at %s (vouched for %v), want %s", r.importSegment, r.importAuth, before.name)
	}
	records, last, root := fullReplay(recs)
	if got, _ := r.tree.Root(); r.records != records || r.last != last || got != root {
		t.Fatalf("recovered %d records, root %x; a full replay: %d, %x", r.records, got, records, root)
	}

	opts := testOptions(t, dir)
	opts.CheckpointEvery = 10
	writeDecisions(t, opts, 15)
	readLog(t, folder)
	if rep := verifyDir(t, dir); !rep.OK() {
		t.Fatalf("%+v", rep.Logs[0].Problem)
	}
}

// TestCheckpointFileAtFastOpen: the checkpoint file is checked as far as
// the segment read allows: no larger than the log, and its root when its
// size lies in the newest segment; a size in an earlier segment cannot be
// checked without reading it.
func TestCheckpointFileAtFastOpen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     func(segs []segmentRef, records uint64) uint64
		category string // "" when Open accepts it
	}{
		{"a wrong root in the newest segment", func(segs []segmentRef, _ uint64) uint64 { return segs[len(segs)-1].first + 2 }, damageFork},
		{"a wrong root at the newest segment_opened", func(segs []segmentRef, _ uint64) uint64 { return segs[len(segs)-1].first }, damageFork},
		{"more records than the log", func(_ []segmentRef, records uint64) uint64 { return records + 5 }, damageTruncated},
		{"a wrong root in an earlier segment (not checked)", func(segs []segmentRef, _ uint64) uint64 { return segs[1].first + 2 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, folder, recs, segs := multiSegmentLog(t)
			origin := recs[0].str(FieldLog)
			msg, err := Checkpoint{Origin: origin, Size: tc.size(segs, uint64(len(recs))), Root: sha256.Sum256([]byte("another log"))}.Sign(testKeys().Signer)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(folder, CheckpointFile), msg, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := Open(context.Background(), testOptions(t, dir))
			if tc.category == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			var d *DamageError
			if !errors.As(err, &d) || d.Category != tc.category || d.Segment != "" {
				t.Fatalf("Open: %v, want %s of the checkpoint file", err, tc.category)
			}
		})
	}
}
