package audit

import (
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Key rotation as the verifier follows it (docs/audit-format.md, "Key
// rotation"): a key_rotated record names a new key; the key becomes
// trusted for the rest of the log once a checkpoint record covering that
// record verifies with a key already trusted and also carries a valid
// signature by the new key (the writer's co-signed checkpoint). A
// key_rotated that no such checkpoint covers teaches nothing: checkpoints
// signed by its key alone are UNKNOWN_KEY.

// keyRing is the verifier's keys for one log: those it was given and those
// it learned from co-signed key_rotated records.
type keyRing struct {
	base    note.Verifiers
	learned map[string]note.Verifier // by keyID
}

func newKeyRing(base note.Verifiers) *keyRing {
	return &keyRing{base: base, learned: map[string]note.Verifier{}}
}

// Verifier implements note.Verifiers.
func (k *keyRing) Verifier(name string, hash uint32) (note.Verifier, error) {
	v, err := k.base.Verifier(name, hash)
	var unknown *note.UnknownVerifierError
	if errors.As(err, &unknown) {
		if l, ok := k.learned[keyID(name, hash)]; ok {
			return l, nil
		}
	}
	return v, err
}

// knows reports whether v is trusted already.
func (k *keyRing) knows(v note.Verifier) bool {
	_, err := k.Verifier(v.Name(), v.KeyHash())
	return err == nil
}

// pendingKey is the new key of a key_rotated record not yet covered by a
// co-signed checkpoint.
type pendingKey struct {
	seq uint64
	id  string // name+hash
	v   note.Verifier
}

// keyRotated reads the key_rotated record at s.n. A new_key that is no
// verifier key is noted (it cannot be learned), not a failure: the
// record's integrity is the chain's business.
func (s *logScan) keyRotated(line []byte) {
	var kr struct {
		OldKey string `json:"old_key"`
		NewKey string `json:"new_key"`
	}
	if err := json.Unmarshal(line, &kr); err != nil {
		return // scanLine accepted it: cannot happen
	}
	v, err := note.NewVerifier(kr.NewKey)
	if err != nil {
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("key_rotated %d names %q, which is not a public key: checkpoints by it verify only with the key given (--key)", s.n, kr.NewKey))
		return
	}
	if s.keys.knows(v) {
		return
	}
	s.pendingKeys = append(s.pendingKeys, pendingKey{seq: s.n, id: keyID(v.Name(), v.KeyHash()), v: v})
}

// learnKeys runs for a checkpoint record that verified with a trusted key
// and matches the records before it: the new keys of the key_rotated
// records it covers become trusted when it is co-signed by them.
func (s *logScan) learnKeys(msg string) {
	keep := s.pendingKeys[:0]
	for _, p := range s.pendingKeys {
		if s.keys.knows(p.v) {
			continue
		}
		if _, err := note.Open([]byte(msg), note.VerifierList(p.v)); err != nil {
			keep = append(keep, p) // not co-signed by the new key (yet)
			continue
		}
		s.keys.learned[p.id] = p.v
		s.rep.LearnedKeys = append(s.rep.LearnedKeys, p.v.Name()+"+"+fmt.Sprintf("%08x", p.v.KeyHash()))
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("key_rotated %d: the new key %s is trusted from checkpoint record %d on (signed by a trusted key and by the new one)", p.seq, p.id, s.n))
	}
	s.pendingKeys = keep
}

// unknownKeyHint explains an UNKNOWN_KEY checkpoint signed by the key of a
// key_rotated record that no trusted, co-signed checkpoint covered.
func (s *logScan) unknownKeyHint(msg string) string {
	for _, sig := range noteSignatures(msg) {
		id := keyID(sig.Name, sig.Hash)
		for _, p := range s.pendingKeys {
			if p.id == id {
				return fmt.Sprintf("; key_rotated %d names %s, but no checkpoint signed by a key the verifier trusts, and co-signed by %s, covers that record: the record was forged, or the old key was not available to co-sign (then give the new public key with --key, if you trust it)", p.seq, id, id)
			}
		}
	}
	return ""
}

// retryTrusted verifies again a trusted checkpoint whose key was unknown
// when it was read, now that the log may have taught keys; true when it
// verifies now (its problem is cleared).
func (s *logScan) retryTrusted(t *trustedCP) bool {
	if t.sig == nil {
		return true
	}
	if t.sig.Category != UnknownKey || len(s.keys.learned) == 0 {
		return false
	}
	c, _, err := OpenCheckpoint([]byte(t.note), s.keys)
	if err != nil || c != t.cp {
		return false
	}
	t.sig, t.res.Status, t.res.Problem = nil, "", nil
	return true
}
