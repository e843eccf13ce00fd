package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

func TestProveAndCheckBundle(t *testing.T) {
	k, otherKey := keys(t)
	f := newFixture(t, matrixOptions(t))
	ctx := context.Background()
	verifiers := note.VerifierList(k.Verifier)
	newest := f.log.Checkpoints[len(f.log.Checkpoints)-1]

	// Every leaf hash, for the cross-check with golang.org/x/mod/sumdb/tlog.
	var leaves [][]byte
	for _, sg := range f.log.Segments {
		lines, err := audittest.Lines(f.log.Folder + "/" + sg.Name)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, lines...)
	}
	stored := map[int64]tlog.Hash{}
	for i, l := range leaves[:newest] {
		hs, err := tlog.StoredHashes(int64(i), l, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = stored[x]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		for j, h := range hs {
			stored[tlog.StoredHashIndex(0, int64(i))+int64(j)] = h
		}
	}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = stored[x]
		}
		return out, nil
	})

	for _, seq := range []uint64{0, 1, 401, 777, newest - 1} {
		b, err := audit.Prove(ctx, f.dir, seq, nil)
		if err != nil {
			t.Fatalf("prove %d: %v", seq, err)
		}
		if b.TreeSize != newest || b.Seq != seq || b.Record != string(leaves[seq]) {
			t.Fatalf("bundle %d: size %d seq %d", seq, b.TreeSize, b.Seq)
		}
		data, _ := json.Marshal(b)
		res, err := audit.CheckBundle(data, verifiers)
		if err != nil || res.Seq != seq || res.Origin != f.log.Origin || res.TreeSize != newest || res.Signer != "sovereign-audit/test" {
			t.Fatalf("check %d: %+v %v", seq, res, err)
		}
		p, err := tlog.ProveRecord(int64(newest), int64(seq), reader)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != len(b.InclusionProof) {
			t.Fatalf("proof of %d: %d hashes, tlog %d", seq, len(b.InclusionProof), len(p))
		}
		for i, h := range p {
			if base64.StdEncoding.EncodeToString(h[:]) != b.InclusionProof[i] {
				t.Fatalf("proof of %d differs from tlog's at %d", seq, i)
			}
		}
	}

	b, err := audit.Prove(ctx, f.log.Folder, 777, note.VerifierList(k.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(fn func(b *audit.Bundle)) []byte {
		c := *b
		c.InclusionProof = append([]string(nil), b.InclusionProof...)
		fn(&c)
		data, _ := json.Marshal(&c)
		return data
	}
	otherCheckpoint, _ := audit.Checkpoint{Origin: f.log.Origin, Size: newest}.Sign(otherKey.Signer)
	for name, data := range map[string][]byte{
		"record changed":       tamper(func(b *audit.Bundle) { b.Record = strings.Replace(b.Record, `"status":"ok"`, `"status":"no"`, 1) }),
		"record not canonical": tamper(func(b *audit.Bundle) { b.Record = strings.Replace(b.Record, `{`, `{ `, 1) }),
		"proof hash changed":   tamper(func(b *audit.Bundle) { b.InclusionProof[2] = base64.StdEncoding.EncodeToString(make([]byte, 32)) }),
		"proof shortened":      tamper(func(b *audit.Bundle) { b.InclusionProof = b.InclusionProof[1:] }),
		"other leaf index":     tamper(func(b *audit.Bundle) { b.Seq, b.LeafIndex = 778, 778 }),
		"leaf hash claimed":    tamper(func(b *audit.Bundle) { b.LeafHash = strings.Repeat("0", 64) }),
		"checkpoint changed":   tamper(func(b *audit.Bundle) { b.Checkpoint = strings.Replace(b.Checkpoint, "\n1199\n", "\n1198\n", 1) }),
		"unknown key":          tamper(func(b *audit.Bundle) { b.Checkpoint = string(otherCheckpoint) }),
		"format":               tamper(func(b *audit.Bundle) { b.Format = "x" }),
		"not json":             []byte("{"),
	} {
		if _, err := audit.CheckBundle(data, verifiers); !errors.Is(err, audit.ErrBadBundle) {
			t.Errorf("%s: err = %v", name, err)
		}
	}

	if _, err := audit.Prove(ctx, f.dir, newest, nil); err == nil || !strings.Contains(err.Error(), "not covered") {
		t.Fatalf("uncovered record: %v", err)
	}
	if _, err := audit.Prove(ctx, f.dir, 5000, nil); err == nil {
		t.Fatal("a record beyond the log was proven")
	}
	f.edit(t, 900, func(l []byte) []byte { return flip(l, at(l, `"ts":"`, 22)) })
	if _, err := audit.Prove(ctx, f.dir, 10, nil); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged log: %v", err)
	}
}
