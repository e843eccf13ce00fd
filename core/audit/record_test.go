package audit

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestLeafHashIsRFC6962(t *testing.T) {
	// RFC 6962 leaf hash of the empty string: SHA-256(0x00).
	if got := LeafHash(nil).String(); got != "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" {
		t.Fatalf("LeafHash(\"\") = %s", got)
	}
}

func TestEncodeRecord(t *testing.T) {
	ts := time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	line, err := EncodeRecord(nil, "sovereign/host/main/ab12", 7, LeafHash([]byte("previous")),
		Entry{Kind: KindDecision, Time: ts, Body: map[string]any{"decision_id": "d1", "allow": true}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"allow":true,"decision_id":"d1","kind":"decision","log":"sovereign/host/main/ab12","prev":"` +
		LeafHash([]byte("previous")).String() + `","seq":7,"ts":"2026-11-27T08:30:00.123456Z","v":1}`
	if string(line) != want {
		t.Fatalf("line\n%s\nwant\n%s", line, want)
	}
	if _, err := EncodeRecord(nil, "o", 0, Hash{}, Entry{Kind: KindDecision, Body: map[string]any{"seq": 9}}); !errors.Is(err, ErrReservedField) {
		t.Fatalf("reserved field: err = %v", err)
	}
	if _, err := EncodeRecord(nil, "o", 0, Hash{}, Entry{}); err == nil {
		t.Fatal("an entry without a kind was encoded")
	}
	if (Hash{}).String() != GenesisPrev {
		t.Fatal("the zero hash is not the genesis prev")
	}
}

func TestCheckpointSignAndOpen(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "sovereign-audit/test")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	c := Checkpoint{Origin: "sovereign/test/main/01", Size: 1000, Root: LeafHash([]byte("root"))}
	msg, err := c.Sign(signer)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := OpenCheckpoint(msg, note.VerifierList(verifier))
	if err != nil || got != c {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	tampered := []byte(strings.Replace(string(msg), "\n1000\n", "\n999\n", 1))
	var invalid *note.InvalidSignatureError
	if _, _, err := OpenCheckpoint(tampered, note.VerifierList(verifier)); !errors.As(err, &invalid) {
		t.Fatalf("tampered body: err = %v", err)
	}
	_, otherV, _ := note.GenerateKey(nil, "someone-else")
	other, _ := note.NewVerifier(otherV)
	var unknown *note.UnverifiedNoteError
	if _, _, err := OpenCheckpoint(msg, note.VerifierList(other)); !errors.As(err, &unknown) {
		t.Fatalf("unknown key: err = %v", err)
	}
	for _, body := range []string{"", "o\n1\n", "o\n01\n" + c.Body()[len(c.Origin)+6:], "o\nx\nAAAA\n", "o\n1\nAAAA\n", "o\n1\n" + strings.Split(c.Body(), "\n")[2] + "\next\n"} {
		if _, err := ParseCheckpointBody(body); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("body %q: err = %v", body, err)
		}
	}
}

func TestLoadOrCreateKeys(t *testing.T) {
	dir := t.TempDir()
	keysDir, auditDir := filepath.Join(dir, "keys"), filepath.Join(dir, "audit")
	k1, err := LoadOrCreateKeys(keysDir, auditDir, "sovereign-audit/test")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SigningKeyFile, HMACKeyFile} {
		info, err := os.Stat(filepath.Join(keysDir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, info, err)
		}
	}
	pub, err := os.ReadFile(filepath.Join(auditDir, PublicKeyFile))
	if err != nil || strings.TrimSpace(string(pub)) != k1.VerifierKey {
		t.Fatalf("public key file %q, want %q (%v)", pub, k1.VerifierKey, err)
	}
	k2, err := LoadOrCreateKeys(keysDir, auditDir, "another-name")
	if err != nil || k2.VerifierKey != k1.VerifierKey || HashValue(k2.HMAC, "v") != HashValue(k1.HMAC, "v") {
		t.Fatalf("keys were not reloaded: %v", err)
	}
	msg, _ := Checkpoint{Origin: "o", Size: 1}.Sign(k1.Signer)
	if _, _, err := OpenCheckpoint(msg, note.VerifierList(k2.Verifier)); err != nil {
		t.Fatalf("signature by the reloaded key: %v", err)
	}
	if err := os.Chmod(filepath.Join(keysDir, SigningKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeys(keysDir, auditDir, "x"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key was accepted: %v", err)
	}
	if h := HashValue([]byte("k"), "secret"); !strings.HasPrefix(h, "hmac-sha256:") || len(h) != 12+64 || h == HashValue([]byte("k2"), "secret") {
		t.Fatalf("HashValue = %s", h)
	}
}

func TestTreeRootsMatchTheRFC(t *testing.T) {
	tree := NewTree()
	if r, _ := tree.Root(); r.String() != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("empty root %s", r)
	}
	// Three leaves: root = H(1 ‖ H(1 ‖ l0 ‖ l1) ‖ l2).
	var leaves []Hash
	for _, s := range []string{"a", "b", "c"} {
		l := LeafHash([]byte(s))
		leaves = append(leaves, l)
		if err := tree.Append(l); err != nil {
			t.Fatal(err)
		}
	}
	node := func(l, r Hash) Hash {
		h := sha256.New()
		h.Write([]byte{1})
		h.Write(l[:])
		h.Write(r[:])
		var out Hash
		h.Sum(out[:0])
		return out
	}
	want := node(node(leaves[0], leaves[1]), leaves[2])
	if got, err := tree.Root(); err != nil || got != want || tree.Size() != 3 {
		t.Fatalf("root %s size %d, want %s (%v)", got, tree.Size(), want, err)
	}
}
