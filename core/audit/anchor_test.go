package audit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestAnchorsGetEveryCheckpoint: each anchor directory holds the newest
// checkpoint under the log's origin, the same note as the checkpoint file,
// and it anchors verification; an anchor that cannot be written does not
// stop the log.
func TestAnchorsGetEveryCheckpoint(t *testing.T) {
	dir, anchor := t.TempDir(), t.TempDir()
	opts := testOptions(t, dir)
	opts.CheckpointEvery = 5
	opts.Anchors = []string{anchor, filepath.Join(t.TempDir(), "missing", "dir")}
	l := mustOpen(t, opts)
	for i := 0; i < 12; i++ {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	origin := l.Origin()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	anchored, err := os.ReadFile(filepath.Join(anchor, strings.ReplaceAll(origin, "/", "_")+".checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(filepath.Join(dir, "main", CheckpointFile))
	if err != nil || !bytes.Equal(anchored, local) {
		t.Fatalf("anchor %q\nlocal  %q (%v)", anchored, local, err)
	}
	if _, _, err := OpenCheckpoint(anchored, note.VerifierList(testKeys().Verifier)); err != nil {
		t.Fatalf("anchored checkpoint: %v", err)
	}
	rep, err := Verify(context.Background(), VerifyOptions{Dir: dir, Keys: note.VerifierList(testKeys().Verifier), Trusted: [][]byte{anchored}})
	if err != nil || !rep.OK() || rep.Logs[0].Anchored == 0 {
		t.Fatalf("verify against the anchor: %+v, %v", rep, err)
	}
}
