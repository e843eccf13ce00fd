package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Signing-key rotation (docs/audit-format.md, "Key rotation"). RotateKey
// replaces keys/audit.key and keeps the old key as
// keys/audit.key.retired-<time>, and its public key as
// audit/audit.vkey.retired-<time>. A running log keeps the key it loaded;
// the next Open whose log's newest checkpoint is signed by another key
// appends key_rotated and a checkpoint co-signed by the old key (when it is
// retired here) and the new one, from which a verifier that trusts the old
// key learns the new one.

// RetiredSuffix joins a key file's name and the UTC time of the rotation
// that retired it: audit.key.retired-20261128T002726.123456Z.
const RetiredSuffix = ".retired-"

// retiredTimeFormat is the time in retired key file names.
const retiredTimeFormat = "20060102T150405.000000Z"

// ErrNoSigningKey is returned by RotateKey when the keys directory holds
// no signing key: there is nothing to rotate (the proxy creates the key at
// its first start).
var ErrNoSigningKey = errors.New("no audit signing key")

// RetiredKey is a signer key retired by a rotation, with its public key.
type RetiredKey struct {
	Signer      note.Signer
	Verifier    note.Verifier
	VerifierKey string
	File        string // its file in the keys directory
}

// Rotation is what RotateKey did.
type Rotation struct {
	OldVerifierKey string // the public key of the retired signer key
	NewVerifierKey string // the public key of the new signer key
	RetiredKeyFile string // the old signer key, kept in the keys directory
	RetiredPubFile string // the old public key, kept in the audit directory
	PublicKeyFile  string // the new public key (audit.vkey)
}

// RotateKey generates a new signing key in keysDir with the name of the
// current one: the current key is kept as audit.key.retired-<now, UTC>
// (0600), its public key as audit.vkey.retired-<now> in auditDir, the new
// key becomes audit.key and its public key audit.vkey. Logs open in
// running processes keep signing with the key they loaded; each log
// records the rotation when it is next opened. The HMAC key is not
// changed (digests in the log must stay matchable).
//
// The steps are ordered so that a crash leaves either the old key in
// place (with a spare retired copy of it, which is harmless) or the new
// key with the old one retired.
func RotateKey(keysDir, auditDir string, now time.Time) (Rotation, error) {
	cur := filepath.Join(keysDir, SigningKeyFile)
	oldKey, err := readKeyFile(cur)
	if errors.Is(err, fs.ErrNotExist) {
		return Rotation{}, fmt.Errorf("%w in %s: the proxy creates it at its first start, and there is nothing to rotate before", ErrNoSigningKey, keysDir)
	}
	if err != nil {
		return Rotation{}, err
	}
	oldSigner, err := note.NewSigner(oldKey)
	if err != nil {
		return Rotation{}, fmt.Errorf("audit signing key %s: %w", cur, err)
	}
	oldVKey, err := verifierKey(oldKey)
	if err != nil {
		return Rotation{}, fmt.Errorf("audit signing key %s: %w", cur, err)
	}
	newKey, newVKey, err := note.GenerateKey(rand.Reader, oldSigner.Name())
	if err != nil {
		return Rotation{}, fmt.Errorf("audit key: %w", err)
	}
	stamp := now.UTC().Format(retiredTimeFormat)
	rot := Rotation{
		OldVerifierKey: oldVKey,
		NewVerifierKey: newVKey,
		RetiredKeyFile: filepath.Join(keysDir, SigningKeyFile+RetiredSuffix+stamp),
		RetiredPubFile: filepath.Join(auditDir, PublicKeyFile+RetiredSuffix+stamp),
		PublicKeyFile:  filepath.Join(auditDir, PublicKeyFile),
	}
	// 1. Keep the old key (a new file: never overwrite a retired key).
	if err := writeNewFile(rot.RetiredKeyFile, []byte(oldKey+"\n"), 0o600); err != nil {
		return Rotation{}, fmt.Errorf("audit key rotation: keep the old key: %w", err)
	}
	// 2. Keep its public key where verify looks for it.
	if err := os.MkdirAll(auditDir, 0o700); err != nil {
		return Rotation{}, fmt.Errorf("audit key rotation: %w", err)
	}
	if err := writeFileAtomic(rot.RetiredPubFile, []byte(oldVKey+"\n"), 0o644); err != nil {
		return Rotation{}, fmt.Errorf("audit key rotation: keep the old public key: %w", err)
	}
	// 3. The new key takes the old one's place.
	_ = os.Remove(cur + ".tmp") // a leftover would keep its mode
	if err := writeFileAtomic(cur, []byte(newKey+"\n"), 0o600); err != nil {
		return Rotation{}, fmt.Errorf("audit key rotation: write the new key: %w", err)
	}
	// 4. Its public key.
	if err := writeFileAtomic(rot.PublicKeyFile, []byte(newVKey+"\n"), 0o644); err != nil {
		return Rotation{}, fmt.Errorf("audit key rotation: write the new public key: %w", err)
	}
	return rot, nil
}

// writeNewFile creates path (it must not exist) with data, synced, and
// syncs its directory.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := writeSyncClose(f, data); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// readKeyFile reads a secret key file, refusing one others can read.
func readKeyFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("audit key %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("audit key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// loadRetiredKeys reads keysDir/audit.key.retired-*, oldest first, and
// makes sure the public key of each is in auditDir as
// audit.vkey.retired-<same time>, where verify finds it.
func loadRetiredKeys(keysDir, auditDir string) ([]RetiredKey, error) {
	paths, err := filepath.Glob(filepath.Join(keysDir, SigningKeyFile+RetiredSuffix+"*"))
	if err != nil {
		return nil, fmt.Errorf("audit retired keys: %w", err)
	}
	slices.Sort(paths)
	var out []RetiredKey
	for _, p := range paths {
		if strings.HasSuffix(p, ".tmp") {
			continue
		}
		skey, err := readKeyFile(p)
		if err != nil {
			return nil, err
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			return nil, fmt.Errorf("audit retired key %s: %w", p, err)
		}
		vkey, err := verifierKey(skey)
		if err != nil {
			return nil, fmt.Errorf("audit retired key %s: %w", p, err)
		}
		verifier, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("audit retired key %s: %w", p, err)
		}
		stamp := strings.TrimPrefix(filepath.Base(p), SigningKeyFile+RetiredSuffix)
		if err := writeIfChanged(filepath.Join(auditDir, PublicKeyFile+RetiredSuffix+stamp), vkey+"\n", 0o644); err != nil {
			return nil, err
		}
		out = append(out, RetiredKey{Signer: signer, Verifier: verifier, VerifierKey: vkey, File: p})
	}
	return out, nil
}

// RetiredPublicKeyFiles lists auditDir/audit.vkey.retired-*, oldest first:
// the public keys of retired signing keys, which verify uses along with
// audit.vkey when it is given no key.
func RetiredPublicKeyFiles(auditDir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(auditDir, PublicKeyFile+RetiredSuffix+"*"))
	if err != nil {
		return nil, err
	}
	paths = slices.DeleteFunc(paths, func(p string) bool { return strings.HasSuffix(p, ".tmp") })
	slices.Sort(paths)
	return paths, nil
}

// keyID names a key as records do: "name+hash" (hash: 8 hex digits).
func keyID(name string, hash uint32) string { return fmt.Sprintf("%s+%08x", name, hash) }

// noteSignatures returns the signatures of a signed note, none verified
// (nil for a malformed note).
func noteSignatures(msg string) []note.Signature {
	_, err := note.Open([]byte(msg), note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if errors.As(err, &unverified) {
		return unverified.Note.UnverifiedSigs
	}
	return nil
}

// verifierList is note.VerifierList without duplicates (two equal keys
// make a note.VerifierList ambiguous).
func verifierList(vs ...note.Verifier) note.Verifiers {
	seen := make(map[string]bool, len(vs))
	out := make([]note.Verifier, 0, len(vs))
	for _, v := range vs {
		if v == nil {
			continue
		}
		id := keyID(v.Name(), v.KeyHash())
		if !seen[id] {
			seen[id] = true
			out = append(out, v)
		}
	}
	return note.VerifierList(out...)
}

// addKeyRotation records a change of signing key when the log opens: when
// its newest checkpoint record is signed by no signature of the key now
// loaded, it adds key_rotated (old_key: the key of that checkpoint,
// new_key: the full public key now used) and a checkpoint covering it,
// co-signed by the old key when it is one of Keys.Retired. From that
// checkpoint on, a verifier that trusts the old key trusts the new one.
func (w *writer) addKeyRotation(lastNote string) error {
	if lastNote == "" {
		return nil
	}
	sigs := noteSignatures(lastNote)
	if len(sigs) == 0 {
		return nil // not a note: recovery judged the record
	}
	cur := w.opts.Keys.Signer
	for _, s := range sigs {
		if s.Name == cur.Name() && s.Hash == cur.KeyHash() {
			return nil
		}
	}
	old := sigs[0]
	var oldSigner note.Signer
	for _, s := range sigs {
		if i := slices.IndexFunc(w.opts.Keys.Retired, func(r RetiredKey) bool {
			return r.Signer.Name() == s.Name && r.Signer.KeyHash() == s.Hash
		}); i >= 0 {
			old, oldSigner = s, w.opts.Keys.Retired[i].Signer
			break
		}
	}
	newKey := w.opts.Keys.VerifierKey
	if newKey == "" {
		newKey = keyID(cur.Name(), cur.KeyHash())
	}
	w.addOwn(Entry{Kind: KindKeyRotated, Body: map[string]any{
		"old_key": keyID(old.Name, old.Hash),
		"new_key": newKey,
	}})
	signers := []note.Signer{cur}
	if oldSigner != nil {
		signers = append(signers, oldSigner)
		w.log.Info("audit signing key rotated: the checkpoint after key_rotated is co-signed by the old key",
			"old_key", keyID(old.Name, old.Hash), "new_key", keyID(cur.Name(), cur.KeyHash()))
	} else {
		w.log.Warn("audit signing key changed, and the old key is not among the retired keys: key_rotated cannot be co-signed, so a verifier that knows only the old public key needs the new one (audit.vkey) given to it",
			"old_key", keyID(old.Name, old.Hash), "new_key", keyID(cur.Name(), cur.KeyHash()))
	}
	return w.addCheckpoint(signers...)
}
