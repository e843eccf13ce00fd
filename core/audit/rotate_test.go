package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// rotationDirs is a data directory: its keys and audit directories.
type rotationDirs struct{ keys, audit string }

func newRotationDirs(t *testing.T) rotationDirs {
	base := t.TempDir()
	return rotationDirs{keys: filepath.Join(base, "keys"), audit: filepath.Join(base, "audit")}
}

func (d rotationDirs) load(t *testing.T) Keys {
	t.Helper()
	k, err := LoadOrCreateKeys(d.keys, d.audit, "sovereign-audit/testhost")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (d rotationDirs) options(t *testing.T, k Keys) Options {
	o := testOptions(t, d.audit)
	o.Keys = k
	return o
}

func (d rotationDirs) rotate(t *testing.T) Rotation {
	t.Helper()
	rot, err := RotateKey(d.keys, d.audit, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return rot
}

// rawRecords reads the records of a log folder as JSON objects, in order.
func rawRecords(t *testing.T, folder string) []map[string]any {
	t.Helper()
	segs, err := listSegments(folder)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, s := range segs {
		b, err := os.ReadFile(filepath.Join(folder, s.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

// seqsOf returns the seqs of the records of a kind.
func seqsOf(recs []map[string]any, kind string) []uint64 {
	var out []uint64
	for _, r := range recs {
		if r[FieldKind] == kind {
			out = append(out, uint64(r[FieldSeq].(float64)))
		}
	}
	return out
}

func verifyWith(t *testing.T, dir string, vs ...note.Verifier) *LogReport {
	t.Helper()
	opts := VerifyOptions{Dir: dir}
	if len(vs) > 0 {
		opts.Keys = note.VerifierList(vs...)
	}
	rep, err := Verify(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Logs) != 1 {
		t.Fatalf("%d logs", len(rep.Logs))
	}
	return rep.Logs[0]
}

func TestRotateKeyFiles(t *testing.T) {
	d := newRotationDirs(t)
	if _, err := RotateKey(d.keys, d.audit, time.Now()); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("rotating without keys: %v", err)
	}
	k1 := d.load(t)
	rot := d.rotate(t)
	if rot.OldVerifierKey != k1.VerifierKey || rot.NewVerifierKey == k1.VerifierKey {
		t.Fatalf("rotation %+v, old key %s", rot, k1.VerifierKey)
	}
	info, err := os.Stat(rot.RetiredKeyFile)
	if err != nil || info.Mode().Perm() != 0o600 || !strings.HasPrefix(filepath.Base(rot.RetiredKeyFile), SigningKeyFile+RetiredSuffix) {
		t.Fatalf("retired key file %s: %v %v", rot.RetiredKeyFile, info, err)
	}
	if info, err := os.Stat(filepath.Join(d.keys, SigningKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v %v", info, err)
	}
	k2 := d.load(t)
	if k2.VerifierKey != rot.NewVerifierKey || len(k2.Retired) != 1 || k2.Retired[0].VerifierKey != k1.VerifierKey || k2.Signer.Name() != k1.Signer.Name() {
		t.Fatalf("keys after rotation: %s, retired %+v", k2.VerifierKey, k2.Retired)
	}
	b, _ := os.ReadFile(filepath.Join(d.audit, PublicKeyFile))
	if strings.TrimSpace(string(b)) != rot.NewVerifierKey {
		t.Fatalf("audit.vkey is %q", b)
	}
	vs, err := DefaultVerifierKeys(d.audit)
	if err != nil || len(vs) != 2 {
		t.Fatalf("default verifier keys: %d, %v", len(vs), err)
	}
	// A retired public key deleted from the audit directory comes back
	// with the next start (the retired signer key is its source).
	os.Remove(rot.RetiredPubFile)
	d.load(t)
	if _, err := os.Stat(rot.RetiredPubFile); err != nil {
		t.Fatal(err)
	}
}

// TestKeyRotationVerify: a log written before and after a rotation, and
// what a verifier holding which public keys concludes.
func TestKeyRotationVerify(t *testing.T) {
	type setup struct {
		deleteOld bool // the retired signer key is gone before the log reopens
	}
	type want struct {
		category Category // "" for intact
		seqOf    string   // the problem's seq: "first-checkpoint", "after-rotation"
		learned  bool
	}
	cases := []struct {
		name  string
		setup setup
		keys  func(old, new note.Verifier) []note.Verifier
		want  want
	}{
		{"old key only learns the new one", setup{}, func(o, _ note.Verifier) []note.Verifier { return []note.Verifier{o} }, want{learned: true}},
		{"both keys", setup{}, func(o, n note.Verifier) []note.Verifier { return []note.Verifier{o, n} }, want{}},
		{"default keys: audit.vkey and the retired ones", setup{}, func(_, _ note.Verifier) []note.Verifier { return nil }, want{}},
		{"new key only: checkpoints before the rotation are unknown", setup{}, func(_, n note.Verifier) []note.Verifier { return []note.Verifier{n} }, want{category: UnknownKey, seqOf: "first-checkpoint"}},
		{"old key deleted: old key only cannot follow", setup{deleteOld: true}, func(o, _ note.Verifier) []note.Verifier { return []note.Verifier{o} }, want{category: UnknownKey, seqOf: "after-rotation"}},
		{"old key deleted: both keys", setup{deleteOld: true}, func(o, n note.Verifier) []note.Verifier { return []note.Verifier{o, n} }, want{}},
		{"old key deleted: default keys", setup{deleteOld: true}, func(_, _ note.Verifier) []note.Verifier { return nil }, want{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newRotationDirs(t)
			k1 := d.load(t)
			writeDecisions(t, d.options(t, k1), 20)
			rot := d.rotate(t)
			if tc.setup.deleteOld {
				os.Remove(rot.RetiredKeyFile)
			}
			k2 := d.load(t)
			writeDecisions(t, d.options(t, k2), 20)
			writeDecisions(t, d.options(t, k2), 5) // a later open adds no key_rotated

			folder := filepath.Join(d.audit, DefaultName)
			recs := rawRecords(t, folder)
			rotated := seqsOf(recs, KindKeyRotated)
			if len(rotated) != 1 {
				t.Fatalf("key_rotated at %v, want one", rotated)
			}
			kr, cp := recs[rotated[0]], recs[rotated[0]+1]
			if kr["old_key"] != keyID(k1.Signer.Name(), k1.Signer.KeyHash()) || kr["new_key"] != k2.VerifierKey || cp[FieldKind] != KindCheckpoint {
				t.Fatalf("key_rotated %v, then %v", kr, cp[FieldKind])
			}
			sigs := noteSignatures(cp["note"].(string))
			if wantSigs := map[bool]int{false: 2, true: 1}[tc.setup.deleteOld]; len(sigs) != wantSigs {
				t.Fatalf("the checkpoint after key_rotated has %d signatures, want %d", len(sigs), wantSigs)
			}

			l := verifyWith(t, d.audit, tc.keys(k1.Verifier, k2.Verifier)...)
			if tc.want.category == "" {
				if l.Problem != nil {
					t.Fatalf("problem %+v", l.Problem)
				}
				if got := len(l.LearnedKeys) > 0; got != tc.want.learned {
					t.Fatalf("learned keys %v, want learned %v (notes %v)", l.LearnedKeys, tc.want.learned, l.Notes)
				}
				return
			}
			wantSeq := map[string]uint64{"first-checkpoint": seqsOf(recs, KindCheckpoint)[0], "after-rotation": rotated[0] + 1}[tc.want.seqOf]
			if l.Problem == nil || l.Problem.Category != tc.want.category || l.Problem.Seq != wantSeq {
				t.Fatalf("problem %+v, want %s at seq %d", l.Problem, tc.want.category, wantSeq)
			}
			if tc.setup.deleteOld && !strings.Contains(l.Problem.Detail, "key_rotated") {
				t.Fatalf("the problem does not point at key_rotated: %s", l.Problem.Detail)
			}
		})
	}
}

// TestKeyRotationForged: key_rotated records written by someone without
// the old key do not make their key trusted.
func TestKeyRotationForged(t *testing.T) {
	cases := []struct {
		name string
		// forge writes to a log signed by k1 with the attacker's keys
		forge func(t *testing.T, d rotationDirs, k1, attacker Keys)
	}{
		{"the writer run with the attacker's key", func(t *testing.T, d rotationDirs, _, attacker Keys) {
			writeDecisions(t, d.options(t, attacker), 3)
		}},
		{"key_rotated appended under the old key, not co-signed by the new one", func(t *testing.T, d rotationDirs, k1, attacker Keys) {
			l := mustOpen(t, d.options(t, k1))
			if _, err := l.Append(context.Background(), Entry{Kind: KindKeyRotated, Body: map[string]any{
				"old_key": keyID(k1.Signer.Name(), k1.Signer.KeyHash()), "new_key": attacker.VerifierKey,
			}}); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil { // a checkpoint by k1 covers it
				t.Fatal(err)
			}
			writeDecisions(t, d.options(t, attacker), 3)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newRotationDirs(t)
			k1 := d.load(t)
			writeDecisions(t, d.options(t, k1), 10)
			attacker := newRotationDirs(t).load(t)
			tc.forge(t, d, k1, attacker)

			recs := rawRecords(t, filepath.Join(d.audit, DefaultName))
			rotated := seqsOf(recs, KindKeyRotated)
			var firstForged uint64
			for _, seq := range seqsOf(recs, KindCheckpoint) {
				if sigs := noteSignatures(recs[seq]["note"].(string)); sigs[0].Hash == attacker.Signer.KeyHash() {
					firstForged = seq
					break
				}
			}
			if len(rotated) == 0 || firstForged == 0 {
				t.Fatalf("no forgery written: key_rotated %v", rotated)
			}
			l := verifyWith(t, d.audit, k1.Verifier)
			if l.Problem == nil || l.Problem.Category != UnknownKey || l.Problem.Seq != firstForged || !strings.Contains(l.Problem.Detail, "key_rotated") {
				t.Fatalf("problem %+v, want UNKNOWN_KEY at seq %d naming key_rotated", l.Problem, firstForged)
			}
			if len(l.LearnedKeys) != 0 {
				t.Fatalf("learned %v", l.LearnedKeys)
			}
		})
	}
}

// TestRotateWhileOpen: a log open during the rotation keeps signing with
// the key it loaded; the next Open records the rotation.
func TestRotateWhileOpen(t *testing.T) {
	d := newRotationDirs(t)
	k1 := d.load(t)
	l := mustOpen(t, d.options(t, k1))
	for i := range 5 {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	rot := d.rotate(t)
	for i := range 5 {
		if _, err := l.Append(context.Background(), decision(5+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(d.audit, DefaultName)
	recs := rawRecords(t, folder)
	if len(seqsOf(recs, KindKeyRotated)) != 0 {
		t.Fatal("key_rotated written by the log open during the rotation")
	}
	for _, seq := range seqsOf(recs, KindCheckpoint) {
		if sigs := noteSignatures(recs[seq]["note"].(string)); len(sigs) != 1 || sigs[0].Hash != k1.Signer.KeyHash() {
			t.Fatalf("checkpoint %d is not signed by the key loaded at Open", seq)
		}
	}
	k2 := d.load(t)
	if k2.VerifierKey != rot.NewVerifierKey {
		t.Fatal("the next load does not get the new key")
	}
	writeDecisions(t, d.options(t, k2), 3)
	recs = rawRecords(t, folder)
	if len(seqsOf(recs, KindKeyRotated)) != 1 {
		t.Fatal("no key_rotated at the next Open")
	}
	if l := verifyWith(t, d.audit, k1.Verifier); l.Problem != nil || len(l.LearnedKeys) != 1 {
		t.Fatalf("old key only: %+v, learned %v", l.Problem, l.LearnedKeys)
	}
}

// TestRotatedLogTampered: the records of a rotation are protected like any
// other.
func TestRotatedLogTampered(t *testing.T) {
	cases := []struct {
		name string
		edit func(lines [][]byte, kr int) [][]byte // kr: index of key_rotated in its segment
		want Category
		seq  func(kr uint64) uint64
	}{
		{"new_key changed", func(lines [][]byte, kr int) [][]byte {
			lines[kr] = bytes.Replace(lines[kr], []byte(`"new_key":"sovereign-audit/testhost+`), []byte(`"new_key":"sovereign-audit/testhosT+`), 1)
			return lines
		}, Modified, func(kr uint64) uint64 { return kr }},
		{"old key's co-signature dropped", func(lines [][]byte, kr int) [][]byte {
			i := bytes.LastIndex(lines[kr+1], []byte(`\n`+"\u2014 ")) // the last signature line, as JSON holds it
			j := bytes.LastIndex(lines[kr+1], []byte(`\n"`))
			if i < 0 || j < i {
				panic("no second signature")
			}
			lines[kr+1] = append(lines[kr+1][:i:i], lines[kr+1][j:]...)
			return lines
		}, Modified, func(kr uint64) uint64 { return kr + 1 }},
		{"key_rotated and its checkpoint deleted", func(lines [][]byte, kr int) [][]byte {
			return append(lines[:kr:kr], lines[kr+2:]...)
		}, Deleted, func(kr uint64) uint64 { return kr + 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newRotationDirs(t)
			k1 := d.load(t)
			writeDecisions(t, d.options(t, k1), 10)
			d.rotate(t)
			writeDecisions(t, d.options(t, d.load(t)), 10)
			folder := filepath.Join(d.audit, DefaultName)
			kr := seqsOf(rawRecords(t, folder), KindKeyRotated)[0]
			seg := filepath.Join(folder, SegmentName(0))
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
			lines = tc.edit(lines, int(kr))
			if err := os.WriteFile(seg, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600); err != nil {
				t.Fatal(err)
			}
			l := verifyWith(t, d.audit, k1.Verifier)
			if l.Problem == nil || l.Problem.Category != tc.want || l.Problem.Seq != tc.seq(kr) {
				t.Fatalf("problem %+v, want %s at seq %d", l.Problem, tc.want, tc.seq(kr))
			}
		})
	}
}
