package audit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

func TestRemember(t *testing.T) {
	f := newFixture(t, matrixOptions(t))
	state := filepath.Join(t.TempDir(), "state", "verified.json")
	remember := func(o *audit.VerifyOptions) { o.Remember = state }
	rep := f.verify(t, remember)
	if !rep.OK() || rep.Remembered != state {
		t.Fatalf("first run: %+v", rep)
	}
	if info, err := os.Stat(state); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}
	// The second run is anchored by the first.
	rep = f.verify(t, remember)
	if l := rep.Logs[0]; !rep.OK() || l.Anchored != l.Newest.Size || !strings.Contains(l.AnchoredBy, "remembered") {
		t.Fatalf("second run: %+v", l)
	}

	t.Run("rollback", func(t *testing.T) {
		f := newFixture(t, matrixOptions(t))
		state := filepath.Join(t.TempDir(), "verified.json")
		f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		truncate(t, f, 120)
		rep := f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		if p := rep.Logs[0].Problem; p == nil || p.Category != audit.Truncated || p.Seq != f.log.Records-120 {
			t.Fatalf("rolled back log: %v", p)
		}
		// A failed run does not overwrite what was remembered.
		rep = f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		if p := rep.Logs[0].Problem; p == nil || p.Category != audit.Truncated {
			t.Fatalf("second run over the rolled back log: %v", p)
		}
	})
	t.Run("fork of the same size", func(t *testing.T) {
		f := newFixture(t, matrixOptions(t))
		state := filepath.Join(t.TempDir(), "verified.json")
		f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		// The key holder rewrites history and re-signs everything.
		k, _ := keys(t)
		os.RemoveAll(f.log.Folder)
		opts := matrixOptions(t)
		opts.Salt, opts.SaltFrom, opts.Signer = "rewritten", 200, k.Signer
		if _, err := audittest.Generate(f.dir, "main", opts); err != nil {
			t.Fatal(err)
		}
		if rep := f.verify(t, nil); !rep.OK() {
			t.Fatalf("the rewritten log is consistent on its own: %v", rep.Logs[0].Problem)
		}
		rep := f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		if p := rep.Logs[0].Problem; p == nil || p.Category != audit.Fork || p.Seq != f.log.Checkpoints[len(f.log.Checkpoints)-1] {
			t.Fatalf("rewritten log: %v", p)
		}
	})
	t.Run("log re-created", func(t *testing.T) {
		f := newFixture(t, matrixOptions(t))
		state := filepath.Join(t.TempDir(), "verified.json")
		f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		os.RemoveAll(f.log.Folder)
		opts := matrixOptions(t)
		opts.Origin = "sovereign/testhost/main/fedcba9876543210"
		if _, err := audittest.Generate(f.dir, "main", opts); err != nil {
			t.Fatal(err)
		}
		rep := f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		if p := rep.Logs[0].Problem; p == nil || p.Category != audit.Truncated {
			t.Fatalf("re-created log: %v", p)
		}
	})
	t.Run("log folder deleted", func(t *testing.T) {
		f := newFixture(t, matrixOptions(t))
		state := filepath.Join(t.TempDir(), "verified.json")
		if _, err := audittest.Generate(f.dir, "main-2", matrixOptions(t)); err != nil {
			t.Fatal(err)
		}
		f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		os.RemoveAll(f.log.Folder)
		rep := f.verify(t, func(o *audit.VerifyOptions) { o.Remember = state })
		if rep.OK() || len(rep.Logs) != 1 || !rep.Logs[0].OK() {
			t.Fatalf("deleted log: %+v", rep)
		}
		found := false
		for _, c := range rep.Checkpoints {
			found = found || (c.Problem != nil && c.Problem.Category == audit.Truncated)
		}
		if !found {
			t.Fatalf("no TRUNCATED for the deleted log: %+v", rep.Checkpoints)
		}
	})
}
