package audit

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key file names.
const (
	SigningKeyFile = "audit.key"      // in the keys directory, 0600: the note signer key
	HMACKeyFile    = "audit-hmac.key" // in the keys directory, 0600: 32 random bytes, hex
	PublicKeyFile  = "audit.vkey"     // in the audit directory: the note verifier key
)

// Keys are what a log signs checkpoints and keys redactions with.
type Keys struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the public key in note format
	// ("name+hash+base64"), as written to PublicKeyFile.
	VerifierKey string
	// HMAC keys the digests of redacted values (Redact, HashValue).
	HMAC []byte
	// Retired are the signer keys that signed before a rotation
	// (keys/audit.key.retired-*, see RotateKey), oldest first: Open
	// co-signs the checkpoint after key_rotated with the one that signed
	// the log's newest checkpoint.
	Retired []RetiredKey
}

// LoadOrCreateKeys reads the keys from keysDir, creating them on first use
// (directory 0700, files 0600), and writes the public key to auditDir. name
// is the key name used in signatures when a key is created, e.g.
// "sovereign-audit/myhost".
func LoadOrCreateKeys(keysDir, auditDir, name string) (Keys, error) {
	if err := os.MkdirAll(keysDir, 0o700); err != nil {
		return Keys{}, fmt.Errorf("audit keys: %w", err)
	}
	skey, err := readOrCreate(filepath.Join(keysDir, SigningKeyFile), func() (string, error) {
		s, _, err := note.GenerateKey(rand.Reader, name)
		return s, err
	})
	if err != nil {
		return Keys{}, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return Keys{}, fmt.Errorf("audit signing key %s: %w", filepath.Join(keysDir, SigningKeyFile), err)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return Keys{}, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return Keys{}, fmt.Errorf("audit public key: %w", err)
	}
	hexKey, err := readOrCreate(filepath.Join(keysDir, HMACKeyFile), func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	})
	if err != nil {
		return Keys{}, err
	}
	mac, err := hex.DecodeString(hexKey)
	if err != nil || len(mac) < 16 {
		return Keys{}, fmt.Errorf("audit HMAC key %s is not 16 or more hex-encoded bytes", filepath.Join(keysDir, HMACKeyFile))
	}
	if err := os.MkdirAll(auditDir, 0o700); err != nil {
		return Keys{}, fmt.Errorf("audit directory: %w", err)
	}
	if err := writeIfChanged(filepath.Join(auditDir, PublicKeyFile), vkey+"\n", 0o644); err != nil {
		return Keys{}, err
	}
	retired, err := loadRetiredKeys(keysDir, auditDir)
	if err != nil {
		return Keys{}, err
	}
	return Keys{Signer: signer, Verifier: verifier, VerifierKey: vkey, HMAC: mac, Retired: retired}, nil
}

// verifierKey derives the note verifier key of an Ed25519 signer key
// ("PRIVATE+KEY+name+hash+base64(0x01‖seed)").
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("audit signing key is not a note signer key")
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", err
	}
	pub, err := ed25519Public(parts[4])
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(signer.Name(), pub)
}

func readOrCreate(path string, create func() (string, error)) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("audit key %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
		}
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("audit key: %w", err)
	}
	v, err := create()
	if err != nil {
		return "", fmt.Errorf("audit key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it first
			return readOrCreate(path, create)
		}
		return "", fmt.Errorf("audit key: %w", err)
	}
	if _, err := f.WriteString(v + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("audit key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("audit key: %w", err)
	}
	return v, f.Close()
}

func writeIfChanged(path, content string, mode fs.FileMode) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), mode); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// HashValue is the keyed digest a redacted value is replaced with:
// "hmac-sha256:" + hex(HMAC-SHA256(key, value)). Equal values give equal
// digests, so an investigator who knows a value can find it
// (`sovereign audit hash VALUE`) without the log revealing it.
func HashValue(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// ed25519Public returns the public key of a note signer key's secret part,
// base64(0x01 ‖ 32-byte seed).
func ed25519Public(secret string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return nil, errors.New("audit signing key is not an Ed25519 note key")
	}
	return ed25519.NewKeyFromSeed(b[1:]).Public().(ed25519.PublicKey), nil
}
