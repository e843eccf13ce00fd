package audit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// ErrBadCheckpoint is returned for a checkpoint whose text is not a C2SP
// checkpoint body.
var ErrBadCheckpoint = errors.New("malformed checkpoint")

// Checkpoint is a signed tree head: the log's origin, its size (the number
// of records covered, seq 0 to Size-1) and the RFC 6962 Merkle root of
// their leaf hashes.
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// Body is the C2SP tlog-checkpoint body: "origin\nsize\nbase64(root)\n".
func (c Checkpoint) Body() string {
	return c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// Sign returns the signed note of c (C2SP signed-note text), with one
// signature per signer, in order (several after a key rotation: the new
// key and the old one).
func (c Checkpoint) Sign(signers ...note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Body()}, signers...)
}

// ParseCheckpointBody reads a checkpoint body (extension lines are refused:
// Sovereign writes none).
func ParseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" || lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("%w: want three lines (origin, size, root)", ErrBadCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: size %q", ErrBadCheckpoint, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != len(Hash{}) {
		return Checkpoint{}, fmt.Errorf("%w: root %q", ErrBadCheckpoint, lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint note against the known keys
// and parses its body. The note errors are wrapped: *note.UnverifiedNoteError
// when no signature is by a known key, *note.InvalidSignatureError when one
// by a known key does not verify.
func OpenCheckpoint(msg []byte, keys note.Verifiers) (Checkpoint, *note.Note, error) {
	n, err := note.Open(msg, keys)
	if err != nil {
		return Checkpoint{}, nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	c, err := ParseCheckpointBody(n.Text)
	return c, n, err
}
