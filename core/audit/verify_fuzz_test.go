package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

// FuzzVerifySegment feeds arbitrary bytes to Verify as the only segment of
// a log. It must never panic or fail to report, and it must report a
// problem unless the bytes are a valid log by an independent oracle
// (encoding/json and gowebpki/jcs, checking seq, prev and the common fields
// line by line).
func FuzzVerifySegment(f *testing.F) {
	k, _ := keys(f)
	dir := f.TempDir()
	l, err := audittest.Generate(dir, "seed", audittest.Options{Records: 8, CheckpointEvery: 3, SegmentRecords: -1, Signer: k.Signer})
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(filepath.Join(l.Folder, audit.SegmentName(0)))
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	lines := bytes.SplitAfter(seed, []byte{'\n'})
	f.Add(bytes.Join(lines[:3], nil))
	f.Add(bytes.Join(append([][]byte{lines[1]}, lines[0]), nil))
	f.Add([]byte("{}\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte{0xff, '\n'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return // an empty segment is an empty log
		}
		dir := t.TempDir()
		if err := audittest.WriteVerifierKey(dir, k.VKey); err != nil {
			t.Fatal(err)
		}
		folder := filepath.Join(dir, "main")
		os.Mkdir(folder, 0o700)
		if err := os.WriteFile(filepath.Join(folder, audit.SegmentName(0)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Logs) != 1 {
			t.Fatalf("%d logs", len(rep.Logs))
		}
		valid := oracle(data, note.VerifierList(k.Verifier))
		if got := rep.Logs[0].Problem == nil; got != valid {
			t.Fatalf("verify says ok=%v (%v), the oracle %v, for %q", got, rep.Logs[0].Problem, valid, data)
		}
	})
}

// oracle is a slow, independent check of a log of one segment: every line
// canonical by gowebpki/jcs with integers only, the common fields, seq and
// prev, and checkpoint records by note.Open and tlog.TreeHash.
func oracle(data []byte, keys note.Verifiers) bool {
	if data[len(data)-1] != '\n' {
		return false
	}
	prev := audit.GenesisPrev
	origin := ""
	var leaves []tlog.Hash
	sinceCheckpoint := 0
	for i, line := range bytes.Split(data[:len(data)-1], []byte{'\n'}) {
		canon, err := jcs.Transform(line)
		if err != nil || !bytes.Equal(canon, line) || len(line) == 0 || line[0] != '{' {
			return false
		}
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		var rec map[string]any
		if d.Decode(&rec) != nil || !integersOnly(rec) {
			return false
		}
		str := func(k string) string { s, _ := rec[k].(string); return s }
		num := func(k string) string { n, _ := rec[k].(json.Number); return string(n) }
		ts := str("ts")
		if num("v") != "1" || num("seq") != itoa(i) || str("prev") != prev || str("kind") == "" || len(ts) != len(audit.TimeFormat) {
			return false
		}
		for j, c := range []byte(ts) {
			switch audit.TimeFormat[j] {
			case '-', 'T', ':', '.', 'Z':
				if c != audit.TimeFormat[j] {
					return false
				}
			default:
				if c < '0' || c > '9' {
					return false
				}
			}
		}
		if i == 0 {
			origin = str("log")
		}
		if str("log") == "" || str("log") != origin {
			return false
		}
		switch str("kind") {
		case audit.KindSegmentOpened, audit.KindSegmentSealed:
			return false // one segment: it neither opens after another nor is sealed with no next
		case audit.KindCheckpoint:
			n, err := note.Open([]byte(str("note")), keys)
			if err != nil {
				return false
			}
			body := strings.Split(n.Text, "\n")
			th, err := tlog.TreeHash(int64(i), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
				out := make([]tlog.Hash, len(idx))
				for j, x := range idx {
					out[j] = stored(leaves, x)
				}
				return out, nil
			}))
			root := base64.StdEncoding.EncodeToString(th[:])
			if err != nil || len(body) != 4 || body[0] != origin || body[1] != itoa(i) || body[2] != root || body[3] != "" ||
				num("size") != itoa(i) || str("root") != root {
				return false
			}
			sinceCheckpoint = -1
		}
		if sinceCheckpoint++; sinceCheckpoint > audit.DefaultMaxUnsigned {
			return false
		}
		leaves = append(leaves, tlog.RecordHash(line))
		prev = audit.LeafHash(line).String()
	}
	return true
}

// stored returns the tlog stored hash at index x, computed from the leaves
// (slow, fine for fuzz inputs).
func stored(leaves []tlog.Hash, x int64) tlog.Hash {
	level, n := tlog.SplitStoredHashIndex(x)
	var rec func(level int, n int64) tlog.Hash
	rec = func(level int, n int64) tlog.Hash {
		if level == 0 {
			return leaves[n]
		}
		return tlog.NodeHash(rec(level-1, 2*n), rec(level-1, 2*n+1))
	}
	return rec(level, n)
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func integersOnly(v any) bool {
	switch x := v.(type) {
	case json.Number:
		_, err := x.Int64()
		return err == nil && !bytes.ContainsAny([]byte(x), ".eE") && len(x) <= 17 && (x[0] != '-' || len(x) <= 17)
	case map[string]any:
		for _, e := range x {
			if !integersOnly(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !integersOnly(e) {
				return false
			}
		}
	}
	return true
}
