package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// baseLog writes a log of two or more segments with checkpoints, closed
// cleanly, and returns its folder and records.
func baseLog(t *testing.T) (string, string, []record) {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.MaxSegmentBytes = 6000
	opts.CheckpointEvery = 10
	writeDecisions(t, opts, 40)
	folder := filepath.Join(dir, "main")
	recs := readLog(t, folder)
	if segs, _ := listSegments(folder); len(segs) < 3 {
		t.Fatalf("base log has %d segments, want 3 or more", len(segs))
	}
	return dir, folder, recs
}

// seqOf is the seq of the decision with the given id.
func seqOf(t *testing.T, recs []record, id string) uint64 {
	for i, r := range recs {
		if r.str("decision_id") == id {
			return uint64(i)
		}
	}
	t.Fatalf("no decision %s", id)
	return 0
}

// editSegment rewrites the lines of the segment holding seq.
func editSegment(t *testing.T, folder string, recs []record, seq uint64, edit func(lines [][]byte, i int) [][]byte) {
	t.Helper()
	seg := recs[seq].segment
	path := filepath.Join(folder, seg)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	first, _ := ParseSegmentName(seg)
	i := int(seq - first) // the line's index in the segment
	lines = edit(lines, i)
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newestDecision is the id of the k-th decision (0 first) of the log's
// newest segment: Open reads only that segment, so damage Open must
// refuse goes there.
func newestDecision(t *testing.T, recs []record, k int) string {
	t.Helper()
	newest := recs[len(recs)-1].segment
	for _, r := range recs {
		if r.segment == newest && r.kind() == KindDecision {
			if k == 0 {
				return r.str("decision_id")
			}
			k--
		}
	}
	t.Fatalf("the newest segment %s has too few decisions", newest)
	return ""
}

func appendToFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func lastSegment(t *testing.T, folder string) string {
	segs, err := listSegments(folder)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v", err)
	}
	return segs[len(segs)-1].name
}

func TestTornTailIsQuarantined(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(recs []record) []byte
	}{
		{"half a line", func(recs []record) []byte {
			l := recs[len(recs)-1].line
			return l[:len(l)/2]
		}},
		{"a whole record without its newline", func(recs []record) []byte {
			last := recs[len(recs)-1]
			line, err := EncodeRecord(nil, last.str(FieldLog), uint64(len(recs)), LeafHash(last.line), decision(99))
			if err != nil {
				panic(err)
			}
			return line
		}},
		{"zeros", func([]record) []byte { return make([]byte, 700) }},
		{"a last line that is not JSON", func([]record) []byte { return []byte(`{"kind":"decis` + "\x00\x00\n") }},
		{"one byte", func([]record) []byte { return []byte("{") }},
		{"a line longer than 16 MiB", func([]record) []byte { return bytes.Repeat([]byte("x"), maxRecordLine+3<<20) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, folder, recs := baseLog(t)
			seg := lastSegment(t, folder)
			path := filepath.Join(folder, seg)
			before, _ := os.ReadFile(path)
			tail := tc.tail(recs)
			appendToFile(t, path, tail)

			l := mustOpen(t, testOptions(t, dir))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			after := readLog(t, folder)
			if !bytes.Equal(after[len(recs)-1].line, recs[len(recs)-1].line) {
				t.Fatal("the records before the tail changed")
			}
			got := after[len(recs):]
			if want := []string{KindLogOpened, KindRecoveredTornTail, KindLogClosed, KindCheckpoint}; !equalStrings(kinds(got), want) {
				t.Fatalf("after recovery: %v, want %v", kinds(got), want)
			}
			torn := got[1]
			if torn.str("segment") != seg || torn.num("offset") != int64(len(before)) || torn.num("bytes") != int64(len(tail)) {
				t.Fatalf("recovered_torn_tail %s (segment %s, offset %d, bytes %d)", torn.line, seg, len(before), len(tail))
			}
			q := torn.str("quarantine")
			if !strings.HasPrefix(q, seg+".") || !strings.HasSuffix(q, ".torn") {
				t.Fatalf("quarantine name %q", q)
			}
			moved, err := os.ReadFile(filepath.Join(folder, QuarantineDir, q))
			if err != nil || !bytes.Equal(moved, tail) {
				t.Fatalf("quarantined %q, want %q (%v)", moved, tail, err)
			}
		})
	}
}

func TestTornFirstRecordOfANewLog(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "main")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, SegmentName(0)), []byte(`{"hostname":"x","k`), 0o600); err != nil {
		t.Fatal(err)
	}
	l := mustOpen(t, testOptions(t, dir))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readLog(t, folder)
	if want := []string{KindLogOpened, KindRecoveredTornTail, KindLogClosed, KindCheckpoint}; !equalStrings(kinds(recs), want) || recs[0].str("reason") != "created" {
		t.Fatalf("records %v", kinds(recs))
	}
}

// TestCrashAfterSeal: a crash between sealing a segment and creating the
// next leaves a sealed newest segment (or an empty next one); the next
// process opens the next segment with segment_opened.
func TestCrashAfterSeal(t *testing.T) {
	for _, emptyNext := range []bool{false, true} {
		t.Run(fmt.Sprintf("empty next segment %v", emptyNext), func(t *testing.T) {
			dir, folder, recs := baseLog(t)
			// Cut the log after the first segment_sealed.
			segs, _ := listSegments(folder)
			for _, s := range segs[1:] {
				os.Remove(filepath.Join(folder, s.name))
			}
			os.Remove(filepath.Join(folder, CheckpointFile))
			if emptyNext {
				os.WriteFile(filepath.Join(folder, segs[1].name), nil, 0o600)
			}
			l := mustOpen(t, testOptions(t, dir))
			if _, err := l.Append(context.Background(), decision(100)); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			after := readLog(t, folder) // segment_opened first in the new segment
			n := int(segs[1].first)
			if after[n].kind() != KindSegmentOpened || after[n].segment != segs[1].name || after[n+1].kind() != KindLogOpened {
				t.Fatalf("after the seal: %v", kinds(after[n-2:]))
			}
			if want := []string{KindSegmentOpened, KindLogOpened, KindDecision, KindLogClosed, KindCheckpoint}; !equalStrings(kinds(after[n:]), want) {
				t.Fatalf("records after the seal %v, want %v", kinds(after[n:]), want)
			}
			if !bytes.Equal(after[n-1].line, recs[n-1].line) {
				t.Fatal("the sealed segment changed")
			}
		})
	}
}

func TestDamageIsRefusedThenAccepted(t *testing.T) {
	type mutation func(t *testing.T, folder string, recs []record) (seq uint64)
	for _, tc := range []struct {
		name     string
		category string
		mutate   mutation
	}{
		{"a value changed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			id := newestDecision(t, recs, 5)
			seq := seqOf(t, recs, id)
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i] = bytes.Replace(lines[i], []byte(`"`+id+`"`), []byte(`"d-700"`), 1)
				return lines
			})
			return seq
		}},
		{"a line made non-canonical", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 6))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i] = bytes.Replace(lines[i], []byte(`"allow":true`), []byte(`"allow": true`), 1)
				return lines
			})
			return seq
		}},
		{"a line deleted", damageDeleted, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 3))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				return append(lines[:i:i], lines[i+1:]...)
			})
			return seq + 1
		}},
		{"a line duplicated", damageDuplicate, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 3))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				return append(lines[:i+1:i+1], lines[i:]...)
			})
			return seq
		}},
		{"two lines swapped", damageReordered, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 3))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i], lines[i+1] = lines[i+1], lines[i]
				return lines
			})
			return seq
		}},
		{"the last line's prev changed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := uint64(len(recs) - 1)
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				j := bytes.Index(lines[i], []byte(`"prev":"`)) + len(`"prev":"`)
				lines[i][j] = flipHex(lines[i][j])
				return lines
			})
			return seq - 1
		}},
		{"a middle line's prev changed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 4))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				j := bytes.Index(lines[i], []byte(`"prev":"`)) + len(`"prev":"`)
				lines[i][j] = flipHex(lines[i][j])
				return lines
			})
			return seq // the next line tells: it does not chain to this one either
		}},
		{"a record's seq changed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 4))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i] = bytes.Replace(lines[i], []byte(fmt.Sprintf(`"seq":%d,`, seq)), []byte(fmt.Sprintf(`"seq":%d,`, seq+7)), 1)
				return lines
			})
			return seq
		}},
		{"a record after segment_sealed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			// The newest segment is the sealed one (an interrupted
			// rotation), with a record after its seal.
			segs, _ := listSegments(folder)
			last := segs[len(segs)-1]
			os.Remove(filepath.Join(folder, last.name))
			os.Remove(filepath.Join(folder, CheckpointFile))
			recs = recs[:last.first]
			sealed := last.first - 1
			extra, err := EncodeRecord(nil, recs[0].str(FieldLog), sealed+1, LeafHash(recs[sealed].line), decision(99))
			if err != nil {
				t.Fatal(err)
			}
			editSegment(t, folder, recs, sealed, func(lines [][]byte, i int) [][]byte {
				return append(lines[:i+1:i+1], append(extra, '\n')) // chained, but after the seal
			})
			return sealed + 1
		}},
		{"a line longer than 16 MiB", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := seqOf(t, recs, newestDecision(t, recs, 2))
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				lines[i] = append(bytes.Repeat([]byte("x"), maxRecordLine), '\n')
				return lines
			})
			return seq
		}},
		{"a checkpoint's signature changed", damageModified, func(t *testing.T, folder string, recs []record) uint64 {
			seq := uint64(0)
			for _, r := range recs {
				if r.kind() == KindCheckpoint && r.segment == recs[len(recs)-1].segment {
					seq = uint64(r.num(FieldSeq))
					break
				}
			}
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte {
				j := bytes.LastIndex(lines[i], []byte(`\n"`)) - 5 // inside the signature's base64
				if lines[i][j] == 'A' {
					lines[i][j] = 'B'
				} else {
					lines[i][j] = 'A'
				}
				return lines
			})
			return seq // a changed line, not a bad signature: the next line does not chain to it
		}},
		{"the newest records cut (the checkpoint file covers them)", damageTruncated, func(t *testing.T, folder string, recs []record) uint64 {
			seq := uint64(len(recs) - 3)
			editSegment(t, folder, recs, seq, func(lines [][]byte, i int) [][]byte { return lines[:i] })
			return seq
		}},
		{"the segment before the newest deleted", damageGap, func(t *testing.T, folder string, recs []record) uint64 {
			segs, _ := listSegments(folder)
			os.Remove(filepath.Join(folder, segs[len(segs)-2].name))
			return segs[len(segs)-1].first
		}},
		{"the newest segment renamed", damageGap, func(t *testing.T, folder string, recs []record) uint64 {
			segs, _ := listSegments(folder)
			last := segs[len(segs)-1]
			os.Rename(filepath.Join(folder, last.name), filepath.Join(folder, SegmentName(last.first+1)))
			return last.first // the renamed segment's first record
		}},
		{"the whole log deleted", damageTruncated, func(t *testing.T, folder string, recs []record) uint64 {
			segs, _ := listSegments(folder)
			for _, s := range segs {
				os.Remove(filepath.Join(folder, s.name))
			}
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, folder, recs := baseLog(t)
			wantSeq := tc.mutate(t, folder, recs)
			before := snapshotDir(t, folder)

			_, err := Open(context.Background(), testOptions(t, dir))
			var d *DamageError
			if !errors.Is(err, ErrDamaged) || !errors.As(err, &d) {
				t.Fatalf("Open over a damaged log: err = %v", err)
			}
			if d.Category != tc.category || d.Seq != wantSeq || d.Folder != "main" {
				t.Fatalf("damage %+v, want %s at seq %d", d, tc.category, wantSeq)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("seq %d", wantSeq)) || !strings.Contains(err.Error(), tc.category) {
				t.Fatalf("the error does not name the seq and category: %v", err)
			}
			if after := snapshotDir(t, folder); after != before {
				t.Fatalf("a refused Open changed the folder:\n%s\n%s", before, after)
			}

			opts := testOptions(t, dir)
			opts.AcceptDamage = true
			l := mustOpen(t, opts)
			if _, err := l.Append(context.Background(), decision(200)); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, testOptions(t, dir)) // accepted: opens without the flag
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			tail := readTail(t, folder, 9)
			var accepted record
			for _, r := range tail {
				if r.kind() == KindTamperAccepted {
					accepted = r
				}
			}
			if accepted.line == nil || accepted.num("first_bad_seq") != int64(wantSeq) || accepted.str("category") != tc.category || accepted.str("detail") == "" {
				t.Fatalf("tamper_accepted %s; tail %v", accepted.line, kinds(tail))
			}
		})
	}
}

// snapshotDir lists a folder's files with their sizes and contents' hashes.
func snapshotDir(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(path)
		fmt.Fprintf(&b, "%s %d %s\n", strings.TrimPrefix(path, dir), len(data), LeafHash(data))
		return nil
	})
	return b.String()
}

// readTail parses the last n lines of a log's newest segments without
// checking the chain (the log is damaged before them).
func readTail(t *testing.T, folder string, n int) []record {
	segs, _ := listSegments(folder)
	var recs []record
	for _, s := range segs {
		data, _ := os.ReadFile(filepath.Join(folder, s.name))
		for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if _, err := parseRecordLine(line); err != nil {
				recs = append(recs, record{segment: s.name, line: line, fields: map[string]any{FieldKind: "?"}})
				continue
			}
			r := record{segment: s.name, line: line}
			r.fields = decodeFields(t, line)
			recs = append(recs, r)
		}
	}
	return recs[max(0, len(recs)-n):]
}

func flipHex(c byte) byte {
	if c == '0' {
		return '1'
	}
	return '0'
}

// badSigner signs with the right key name and hash but a wrong signature.
type badSigner struct{ note.Signer }

func (s badSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := s.Signer.Sign(msg)
	if err == nil {
		sig[0] ^= 1
	}
	return sig, err
}

// TestBadSignatureIsRefused: checkpoint records written as they are, with a
// signature that does not verify, are BAD_SIGNATURE (not MODIFIED: the
// next line chains to them).
func TestBadSignatureIsRefused(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.Keys.Signer = badSigner{opts.Keys.Signer}
	opts.CheckpointEvery = 5
	writeDecisions(t, opts, 7)
	_, err := Open(context.Background(), testOptions(t, dir))
	var d *DamageError
	if !errors.As(err, &d) || d.Category != damageBadSignature || d.Seq != 5 {
		t.Fatalf("err = %v, want BAD_SIGNATURE at seq 5", err)
	}
}
