package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

var (
	keysOnce       sync.Once
	testKey, other audittest.Key
)

// keys are made once: Ed25519 key generation is cheap, but one key for the
// whole matrix keeps the notes comparable across cases.
func keys(t testing.TB) (audittest.Key, audittest.Key) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if testKey, err = audittest.NewKey("sovereign-audit/test"); err != nil {
			panic(err)
		}
		if other, err = audittest.NewKey("someone-else"); err != nil {
			panic(err)
		}
	})
	return testKey, other
}

// fixture is an audit directory holding one generated log, "main".
type fixture struct {
	dir string
	log *audittest.Log
}

// matrixOptions is the log the matrix damages: 1,200 records, a checkpoint
// every 100, three segments, closed cleanly.
func matrixOptions(t testing.TB) audittest.Options {
	k, _ := keys(t)
	return audittest.Options{Records: 1200, CheckpointEvery: 100, SegmentRecords: 400, Closed: true, Signer: k.Signer}
}

func newFixture(t testing.TB, opts audittest.Options) *fixture {
	t.Helper()
	k, _ := keys(t)
	dir := t.TempDir()
	if err := audittest.WriteVerifierKey(dir, k.VKey); err != nil {
		t.Fatal(err)
	}
	l, err := audittest.Generate(dir, "main", opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, log: l}
}

func (f *fixture) verify(t testing.TB, mod func(*audit.VerifyOptions)) *audit.Report {
	t.Helper()
	opts := audit.VerifyOptions{Dir: f.dir}
	if mod != nil {
		mod(&opts)
	}
	rep, err := audit.Verify(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// edit changes the line of record seq.
func (f *fixture) edit(t testing.TB, seq uint64, fn func(line []byte) []byte) {
	t.Helper()
	path, i := f.log.Locate(seq)
	if err := audittest.Edit(path, func(lines [][]byte) [][]byte {
		lines[i] = fn(bytes.Clone(lines[i]))
		return lines
	}); err != nil {
		t.Fatal(err)
	}
}

// lines edits the segment holding seq; i is seq's index in it.
func (f *fixture) lines(t testing.TB, seq uint64, fn func(lines [][]byte, i int) [][]byte) {
	t.Helper()
	path, i := f.log.Locate(seq)
	if err := audittest.Edit(path, func(lines [][]byte) [][]byte { return fn(lines, i) }); err != nil {
		t.Fatal(err)
	}
}

// plain finds a record at or after seq with ordinary records (no
// checkpoint, no segment boundary) two either side.
func (f *fixture) plain(seq uint64) uint64 {
	for ; ; seq++ {
		ok := true
		for s := seq - 2; s <= seq+2; s++ {
			if slices.Contains(f.log.Checkpoints, s) {
				ok = false
			}
			for _, sg := range f.log.Segments {
				if s == sg.First || s == sg.First+sg.Count-1 {
					ok = false
				}
			}
		}
		if ok {
			return seq
		}
	}
}

// checkpointAt finds the first checkpoint record at or after seq that is
// not next to a segment boundary.
func (f *fixture) checkpointAt(seq uint64) uint64 {
	for _, c := range f.log.Checkpoints {
		if c >= seq && slices.Index(f.log.Checkpoints, c+1) < 0 {
			path, i := f.log.Locate(c)
			lines, _ := audittest.Lines(path)
			if i+1 < len(lines) && !bytes.Contains(lines[i+1], []byte(`"kind":"segment_sealed"`)) {
				return c
			}
		}
	}
	panic("no checkpoint")
}

// at returns the index of the n-th byte after the first match of pat.
func at(line []byte, pat string, n int) int {
	i := bytes.Index(line, []byte(pat))
	if i < 0 {
		panic(fmt.Sprintf("%q not in %s", pat, line))
	}
	return i + len(pat) + n
}

// flip flips the lowest bit of line[i].
func flip(line []byte, i int) []byte { line[i] ^= 1; return line }

// flipB64 changes a base64 character into another valid one by flipping
// one bit.
func flipB64(line []byte, i int) []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for bit := range 7 {
		if c := line[i] ^ 1<<bit; strings.IndexByte(alphabet, c) >= 0 {
			line[i] = c
			return line
		}
	}
	panic("no flip")
}

// signatureAt is an index inside the signature of a checkpoint record's
// note (the last space of the line starts it; the first bytes are the key
// hash, the rest the signature).
func signatureAt(line []byte) int { return bytes.LastIndexByte(line, ' ') + 12 }

// noteRootAt is an index inside the root line of a checkpoint record's
// note.
func noteRootAt(line []byte, origin string) int {
	i := at(line, `"note":"`+origin+`\n`, 0)
	j := bytes.Index(line[i:], []byte(`\n`))
	return i + j + 2 + 5
}

// badSigner signs with a corrupted signature.
type badSigner struct{ note.Signer }

func (b badSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := b.Signer.Sign(msg)
	if err == nil {
		sig[3] ^= 1
	}
	return sig, err
}

func TestVerifyIntact(t *testing.T) {
	f := newFixture(t, matrixOptions(t))
	var progress []audit.Progress
	rep := f.verify(t, func(o *audit.VerifyOptions) { o.Progress = func(p audit.Progress) { progress = append(progress, p) } })
	if !rep.OK() || !rep.Intact || len(rep.Logs) != 1 {
		t.Fatalf("intact log: %+v %+v", rep, rep.Logs[0].Problem)
	}
	l := rep.Logs[0]
	last := f.log.Checkpoints[len(f.log.Checkpoints)-1]
	if l.Records != f.log.Records || l.Segments != 3 || l.Origin != f.log.Origin || l.Newest == nil || l.Newest.Size != last || l.Signed != last || l.Anchored != 0 {
		t.Fatalf("report %+v, newest %+v", l, l.Newest)
	}
	if len(progress) == 0 || progress[len(progress)-1].Records != f.log.Records || progress[len(progress)-1].Bytes != progress[len(progress)-1].TotalBytes {
		t.Fatalf("progress %+v", progress)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"consistent, but only the log's own checkpoints vouch for it: truncation of the newest records would not be detected", "result: INTACT"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}

	// With the newest checkpoint kept outside, it is proven.
	rep = f.verify(t, func(o *audit.VerifyOptions) {
		o.Trusted = [][]byte{f.log.Newest()}
		o.TrustedNames = []string{"cp.note"}
	})
	l = rep.Logs[0]
	if !rep.OK() || l.Anchored != last || !strings.Contains(l.AnchoredBy, "cp.note") {
		t.Fatalf("anchored: %+v", l)
	}
	text.Reset()
	rep.WriteText(&text)
	if want := fmt.Sprintf("intact up to seq %s, covered by the checkpoint you supplied (cp.note)", groupDigits(last-1)); !strings.Contains(text.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, text.String())
	}

	// One log folder given directly, and the key given by the caller.
	k, _ := keys(t)
	rep, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: f.log.Folder, Keys: note.VerifierList(k.Verifier)})
	if err != nil || !rep.OK() || len(rep.Logs) != 1 || rep.Logs[0].Name != "main" {
		t.Fatalf("one folder: %v %+v", err, rep)
	}
}

func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestTamperMatrix damages a valid log in each way the format names and
// checks the exact verdict: category and seq.
func TestTamperMatrix(t *testing.T) {
	_, otherKey := keys(t)
	type verdict struct {
		cat audit.Category
		seq uint64
	}
	for _, tc := range []struct {
		name   string
		opts   func(*audittest.Options)
		damage func(t *testing.T, f *fixture) verdict
		verify func(f *fixture, o *audit.VerifyOptions)
	}{
		{name: "bit flip in the first record", damage: func(t *testing.T, f *fixture) verdict {
			f.edit(t, 0, func(l []byte) []byte { return flip(l, at(l, `"hostname":"`, 0)) })
			return verdict{audit.Modified, 0}
		}},
		{name: "bit flip breaking the first record's JSON", damage: func(t *testing.T, f *fixture) verdict {
			f.edit(t, 0, func(l []byte) []byte { return flip(l, 0) })
			return verdict{audit.Modified, 0}
		}},
		{name: "bit flip in a middle record", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(555)
			f.edit(t, s, func(l []byte) []byte { return flip(l, at(l, `"ts":"`, 22)) })
			return verdict{audit.Modified, s}
		}},
		{name: "bit flip in a middle record's prev", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(555)
			f.edit(t, s, func(l []byte) []byte { return flip(l, at(l, `"prev":"`, 10)) })
			return verdict{audit.Modified, s}
		}},
		{name: "bit flip in a middle record's seq", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(555)
			f.edit(t, s, func(l []byte) []byte { return flip(l, at(l, `"seq":`, 2)) })
			return verdict{audit.Modified, s}
		}},
		{name: "a space added to a middle record", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(555)
			f.edit(t, s, func(l []byte) []byte { return append([]byte("{ "), l[1:]...) })
			return verdict{audit.Modified, s}
		}},
		{name: "bit flip in the last record's signature", damage: func(t *testing.T, f *fixture) verdict {
			s := f.log.Records - 1
			f.edit(t, s, func(l []byte) []byte { return flipB64(l, signatureAt(l)) })
			// The last line: nothing follows to show it was changed after
			// it was written, so its bad signature is the verdict.
			return verdict{audit.BadSignature, s}
		}},
		{name: "bit flip breaking the last record's JSON", damage: func(t *testing.T, f *fixture) verdict {
			s := f.log.Records - 1
			f.edit(t, s, func(l []byte) []byte { return flip(l, len(l)-1) })
			return verdict{audit.Modified, s}
		}},
		{name: "bit flip in a checkpoint record's signed root", damage: func(t *testing.T, f *fixture) verdict {
			c := f.checkpointAt(500)
			f.edit(t, c, func(l []byte) []byte { return flipB64(l, noteRootAt(l, f.log.Origin)) })
			return verdict{audit.Modified, c}
		}},
		{name: "bit flip in a checkpoint record's signature", damage: func(t *testing.T, f *fixture) verdict {
			c := f.checkpointAt(500)
			f.edit(t, c, func(l []byte) []byte { return flipB64(l, signatureAt(l)) })
			return verdict{audit.Modified, c}
		}},
		{name: "bit flip in a checkpoint record's root field", damage: func(t *testing.T, f *fixture) verdict {
			c := f.checkpointAt(500)
			f.edit(t, c, func(l []byte) []byte { return flipB64(l, at(l, `"root":"`, 3)) })
			return verdict{audit.Modified, c}
		}},
		{name: "a deleted line", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(700)
			f.lines(t, s, func(ls [][]byte, i int) [][]byte { return slices.Delete(ls, i, i+1) })
			return verdict{audit.Deleted, s + 1}
		}},
		{name: "three deleted lines", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(700)
			f.lines(t, s, func(ls [][]byte, i int) [][]byte { return slices.Delete(ls, i, i+3) })
			return verdict{audit.Deleted, s + 3}
		}},
		{name: "the last lines of a segment deleted", damage: func(t *testing.T, f *fixture) verdict {
			sg := f.log.Segments[0]
			f.lines(t, sg.First, func(ls [][]byte, i int) [][]byte { return ls[:len(ls)-2] })
			return verdict{audit.Deleted, sg.First + sg.Count}
		}},
		{name: "a duplicated line", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(700)
			f.lines(t, s, func(ls [][]byte, i int) [][]byte { return slices.Insert(ls, i+1, ls[i]) })
			return verdict{audit.Duplicate, s}
		}},
		{name: "a line copied into a later segment", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(10)
			path, i := f.log.Locate(s)
			lines, _ := audittest.Lines(path)
			f.lines(t, f.plain(900), func(ls [][]byte, j int) [][]byte { return slices.Insert(ls, j, lines[i]) })
			return verdict{audit.Duplicate, s}
		}},
		{name: "two swapped lines", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(700)
			f.lines(t, s, func(ls [][]byte, i int) [][]byte { ls[i], ls[i+1] = ls[i+1], ls[i]; return ls })
			return verdict{audit.Reordered, s}
		}},
		{name: "a line moved later", damage: func(t *testing.T, f *fixture) verdict {
			s := f.plain(700)
			f.lines(t, s, func(ls [][]byte, i int) [][]byte {
				moved := ls[i]
				ls = slices.Delete(ls, i, i+1)
				return slices.Insert(ls, i+4, moved)
			})
			return verdict{audit.Reordered, s}
		}},
		{name: "tail truncation caught by the log's checkpoint file", damage: func(t *testing.T, f *fixture) verdict {
			f.lines(t, f.log.Records-1, func(ls [][]byte, _ int) [][]byte { return ls[:len(ls)-50] })
			return verdict{audit.Truncated, f.log.Records - 50}
		}},
		{name: "tail truncation and an older checkpoint file, against a supplied checkpoint", damage: func(t *testing.T, f *fixture) verdict {
			truncate(t, f, 50)
			return verdict{audit.Truncated, f.log.Records - 50}
		}, verify: func(f *fixture, o *audit.VerifyOptions) { o.Trusted = [][]byte{f.log.Newest()} }},
		{name: "a deleted middle segment", damage: func(t *testing.T, f *fixture) verdict {
			os.Remove(filepath.Join(f.log.Folder, f.log.Segments[1].Name))
			return verdict{audit.Gap, f.log.Segments[2].First}
		}},
		{name: "a deleted first segment", damage: func(t *testing.T, f *fixture) verdict {
			os.Remove(filepath.Join(f.log.Folder, f.log.Segments[0].Name))
			return verdict{audit.Gap, f.log.Segments[1].First}
		}},
		{name: "a deleted last segment", damage: func(t *testing.T, f *fixture) verdict {
			// Like an interrupted rotation but for the checkpoint file,
			// which covers the records that were in it.
			os.Remove(filepath.Join(f.log.Folder, f.log.Segments[2].Name))
			return verdict{audit.Truncated, f.log.Segments[2].First}
		}},
		{name: "a segment renamed out of order", damage: func(t *testing.T, f *fixture) verdict {
			rename(t, f, f.log.Segments[1].Name, audit.SegmentName(f.log.Records+10))
			return verdict{audit.Gap, f.log.Segments[2].First}
		}},
		{name: "a segment renamed in place", damage: func(t *testing.T, f *fixture) verdict {
			rename(t, f, f.log.Segments[1].Name, audit.SegmentName(f.log.Segments[1].First+1))
			return verdict{audit.Gap, f.log.Segments[1].First}
		}},
		{name: "a segment renamed to a name verify skips", damage: func(t *testing.T, f *fixture) verdict {
			rename(t, f, f.log.Segments[1].Name, f.log.Segments[1].Name+".bak")
			return verdict{audit.Gap, f.log.Segments[2].First}
		}},
		{name: "a torn last line", damage: func(t *testing.T, f *fixture) verdict {
			path, _ := f.log.Locate(f.log.Records - 1)
			b, _ := os.ReadFile(path)
			os.WriteFile(path, b[:len(b)-10], 0o600)
			return verdict{audit.Modified, f.log.Records - 1}
		}},
		{name: "a checkpoint signed by an unknown key", opts: func(o *audittest.Options) {
			o.SignerFor = func(seq uint64) note.Signer {
				if seq > 600 && seq < 700 {
					return otherKey.Signer
				}
				return nil
			}
		}, damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.UnknownKey, firstIn(f.log.Checkpoints, 600, 700)}
		}},
		{name: "a checkpoint with a bad signature by the log's key", opts: func(o *audittest.Options) {
			o.SignerFor = func(seq uint64) note.Signer {
				if seq > 600 && seq < 700 {
					return badSigner{o.Signer}
				}
				return nil
			}
		}, damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.BadSignature, firstIn(f.log.Checkpoints, 600, 700)}
		}},
		{name: "a supplied checkpoint signed by an unknown key", damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.UnknownKey, 800}
		}, verify: func(f *fixture, o *audit.VerifyOptions) {
			msg, _ := audit.Checkpoint{Origin: f.log.Origin, Size: 800}.Sign(otherKey.Signer)
			o.Trusted = [][]byte{msg}
		}},
		{name: "a supplied checkpoint of a forked log", damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.Fork, forkNote(f, 600).size}
		}, verify: func(f *fixture, o *audit.VerifyOptions) { o.Trusted = [][]byte{forkNote(f, 600).note} }},
		{name: "two supplied checkpoints that cannot both describe the log", damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.Fork, forkNote(f, 600).size}
		}, verify: func(f *fixture, o *audit.VerifyOptions) {
			o.Trusted = [][]byte{f.log.Newest(), forkNote(f, 600).note}
		}},
		{name: "records rewritten by someone without the key", damage: func(t *testing.T, f *fixture) verdict {
			// Change one record and recompute every prev after it: the
			// chain holds, the next checkpoint's signed root does not.
			s := f.plain(310)
			rechain(t, f, s, func(l []byte) []byte { return flip(l, at(l, `"ts":"`, 22)) })
			return verdict{audit.Modified, firstIn(f.log.Checkpoints, s, f.log.Records)}
		}},
		{name: "too many records without a checkpoint", opts: func(o *audittest.Options) { o.CheckpointEvery = 100_000 }, damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.Unsigned, 300}
		}, verify: func(f *fixture, o *audit.VerifyOptions) { o.MaxUnsigned = 300 }},
		{name: "a line longer than the limit", damage: func(t *testing.T, f *fixture) verdict {
			return verdict{audit.Modified, 0}
		}, verify: func(f *fixture, o *audit.VerifyOptions) { o.MaxLine = 100 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := matrixOptions(t)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			f := newFixture(t, opts)
			want := tc.damage(t, f)
			rep := f.verify(t, func(o *audit.VerifyOptions) {
				if tc.verify != nil {
					tc.verify(f, o)
				}
			})
			p := rep.Logs[0].Problem
			if p == nil || p.Category != want.cat || p.Seq != want.seq || rep.OK() || rep.Intact {
				t.Fatalf("verdict %v, want %s at seq %d", p, want.cat, want.seq)
			}
			if p.Detail == "" {
				t.Fatal("no detail")
			}
			t.Logf("%s", p)
		})
	}
}

func firstIn(seqs []uint64, lo, hi uint64) uint64 {
	for _, s := range seqs {
		if s > lo && s < hi {
			return s
		}
	}
	panic("none")
}

func rename(t *testing.T, f *fixture, from, to string) {
	t.Helper()
	if err := os.Rename(filepath.Join(f.log.Folder, from), filepath.Join(f.log.Folder, to)); err != nil {
		t.Fatal(err)
	}
}

// truncate cuts the newest n records and puts back the checkpoint file of
// the newest checkpoint left, as someone covering their tracks would.
func truncate(t *testing.T, f *fixture, n int) {
	t.Helper()
	f.lines(t, f.log.Records-1, func(ls [][]byte, _ int) [][]byte { return ls[:len(ls)-n] })
	keep := f.log.Records - uint64(n)
	var newest uint64
	for _, c := range f.log.Checkpoints {
		if c < keep {
			newest = c
		}
	}
	if err := os.WriteFile(filepath.Join(f.log.Folder, audit.CheckpointFile), f.log.Notes[newest], 0o644); err != nil {
		t.Fatal(err)
	}
}

type forked struct {
	size uint64
	note []byte
}

var forkCache sync.Map

// forkNote returns a checkpoint of a log with f's origin whose records
// differ from seq `from` on: signed by the same key, so only a comparison
// with the records shows it.
func forkNote(f *fixture, from uint64) forked {
	key := f.log.Origin + fmt.Sprint(from)
	if v, ok := forkCache.Load(key); ok {
		return v.(forked)
	}
	dir, err := os.MkdirTemp("", "fork")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	opts := audittest.Options{Records: 1200, CheckpointEvery: 100, SegmentRecords: 400, Closed: true, Signer: testKey.Signer}
	opts.Origin, opts.Salt, opts.SaltFrom = f.log.Origin, "fork", from
	l, err := audittest.Generate(dir, "main", opts)
	if err != nil {
		panic(err)
	}
	size := firstIn(l.Checkpoints, from, l.Records)
	v := forked{size: size, note: l.Notes[size]}
	forkCache.Store(key, v)
	return v
}

// rechain changes record seq with fn and recomputes the prev of every
// later record, as an attacker without the signing key can.
func rechain(t *testing.T, f *fixture, seq uint64, fn func([]byte) []byte) {
	t.Helper()
	var prev audit.Hash
	for i, sg := range f.log.Segments {
		path := filepath.Join(f.log.Folder, sg.Name)
		lines, err := audittest.Lines(path)
		if err != nil {
			t.Fatal(err)
		}
		for j := range lines {
			s := sg.First + uint64(j)
			if s == seq {
				lines[j] = fn(lines[j])
			}
			if s > seq {
				var rec map[string]any
				if err := json.Unmarshal(lines[j], &rec); err != nil {
					t.Fatal(err)
				}
				old := rec["prev"].(string)
				lines[j] = bytes.Replace(lines[j], []byte(`"prev":"`+old), []byte(`"prev":"`+prev.String()), 1)
			}
			prev = audit.LeafHash(lines[j])
		}
		if err := audittest.WriteLines(path, lines); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
}

func TestTruncationWithoutAnOutsideCheckpointPasses(t *testing.T) {
	f := newFixture(t, matrixOptions(t))
	truncate(t, f, 50)
	rep := f.verify(t, nil)
	l := rep.Logs[0]
	if !rep.OK() || l.Records != f.log.Records-50 || l.Anchored != 0 {
		t.Fatalf("truncated log without an outside checkpoint: %+v %v", l, l.Problem)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "consistent, but only the log's own checkpoints vouch for it: truncation of the newest records would not be detected") {
		t.Fatalf("report does not say truncation is not excluded:\n%s", text.String())
	}
}

func TestLastRecordOfARunningLogIsNotVouchedFor(t *testing.T) {
	opts := matrixOptions(t)
	opts.Closed = false
	f := newFixture(t, opts)
	last := f.log.Records - 1
	f.edit(t, last, func(l []byte) []byte { return flip(l, at(l, `"ts":"`, 22)) })
	rep := f.verify(t, nil)
	l := rep.Logs[0]
	// No line follows the last one and no checkpoint covers it: the change
	// cannot be seen, and the report says the record is not signed.
	if !rep.OK() || l.Signed > last {
		t.Fatalf("%+v %v", l, l.Problem)
	}
	var text strings.Builder
	rep.WriteText(&text)
	if !strings.Contains(text.String(), "chained but not yet signed") {
		t.Fatalf("report:\n%s", text.String())
	}
}

func TestVerifySeveralLogsAndErrors(t *testing.T) {
	f := newFixture(t, matrixOptions(t))
	opts := matrixOptions(t)
	opts.Records = 300
	if _, err := audittest.Generate(f.dir, "main-2", opts); err != nil {
		t.Fatal(err)
	}
	if _, err := audittest.Generate(f.dir, "main-10", opts); err != nil {
		t.Fatal(err)
	}
	rep := f.verify(t, nil)
	if !rep.OK() || len(rep.Logs) != 3 || rep.Logs[0].Name != "main" || rep.Logs[1].Name != "main-2" || rep.Logs[2].Name != "main-10" {
		t.Fatalf("%+v", rep.Logs)
	}
	// A supplied checkpoint of no log here.
	msg, _ := audit.Checkpoint{Origin: "sovereign/elsewhere/main/00", Size: 5}.Sign(testKey.Signer)
	rep = f.verify(t, func(o *audit.VerifyOptions) { o.Trusted = [][]byte{msg} })
	if rep.OK() || rep.Checkpoints[len(rep.Checkpoints)-1].Status != string(audit.Truncated) {
		t.Fatalf("%+v", rep.Checkpoints)
	}
	// Not a checkpoint at all: the caller's error.
	if _, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: f.dir, Trusted: [][]byte{[]byte("hello")}}); !errors.Is(err, audit.ErrBadTrusted) {
		t.Fatalf("err = %v", err)
	}
	if _, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: t.TempDir()}); err == nil {
		t.Fatal("a directory without logs or key verified")
	}
	empty := t.TempDir()
	audittest.WriteVerifierKey(empty, testKey.VKey)
	if _, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: empty}); !errors.Is(err, audit.ErrNoLogs) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := newFixture(t, audittest.Options{Records: 20000, Signer: testKey.Signer})
	if _, err := audit.Verify(ctx, audit.VerifyOptions{Dir: big.dir}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
