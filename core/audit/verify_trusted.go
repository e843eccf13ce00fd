package audit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Trusted checkpoints: those given to Verify, remembered, or in the log's
// checkpoint file, checked against the records as the scan reaches their
// size.

// trustedCP is a checkpoint the log is checked against.
type trustedCP struct {
	res     *CheckpointResult
	cp      Checkpoint
	note    string
	sig     *Problem // set when the signature did not verify
	folder  string   // remembered: the folder it was saved for
	hint    string   // remembered: how to forget it
	matched bool
}

// openTrusted verifies a checkpoint note. A note whose signature fails is
// returned with sig set (its body read unverified, to name the log); one
// that is no checkpoint note at all is an error.
func openTrusted(msg []byte, keys note.Verifiers, source string, external bool) (*trustedCP, error) {
	t := &trustedCP{res: &CheckpointResult{Source: source, External: external}, note: string(msg)}
	c, _, err := OpenCheckpoint(msg, keys)
	if err == nil {
		t.cp = c
		t.res.Origin, t.res.Size = c.Origin, c.Size
		return t, nil
	}
	cat, detail := sigCategory(err)
	if cat == "" {
		return nil, fmt.Errorf("%w: %v", ErrBadTrusted, err)
	}
	text, _, ok := strings.Cut(string(msg), "\n\n")
	if !ok {
		return nil, fmt.Errorf("%w: no signature", ErrBadTrusted)
	}
	c, perr := ParseCheckpointBody(text + "\n")
	if perr != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTrusted, perr)
	}
	t.cp = c
	t.res.Origin, t.res.Size = c.Origin, c.Size
	t.sig = &Problem{Category: cat, Seq: c.Size, Detail: source + ": " + detail}
	t.res.Status, t.res.Problem = string(cat), t.sig
	return t, nil
}

// sigCategory maps a note.Open error to UNKNOWN_KEY or BAD_SIGNATURE ("" for
// a malformed note).
func sigCategory(err error) (Category, string) {
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	var unknown *note.UnknownVerifierError
	switch {
	case errors.As(err, &invalid):
		return BadSignature, fmt.Sprintf("the signature by %s+%08x does not verify", invalid.Name, invalid.Hash)
	case errors.As(err, &unverified):
		names := make([]string, 0, len(unverified.Note.UnverifiedSigs))
		for _, s := range unverified.Note.UnverifiedSigs {
			names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return UnknownKey, "signed by no key the verifier knows (signers: " + strings.Join(names, ", ") + ")"
	case errors.As(err, &unknown):
		return UnknownKey, "signed by no key the verifier knows"
	}
	return "", ""
}

// readCheckpointFile reads <log>/checkpoint: checked like a trusted
// checkpoint, though it proves nothing about truncation (it sits in the
// log folder).
func (s *logScan) readCheckpointFile() error {
	msg, err := os.ReadFile(filepath.Join(s.lf.path, CheckpointFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	source := "the checkpoint file of " + s.lf.name
	t, err := openTrusted(msg, s.keys, source, false)
	if err != nil {
		// A checkpoint file that is no signed note was changed.
		t = &trustedCP{res: &CheckpointResult{Source: source}}
		t.sig = &Problem{Category: Modified, Segment: CheckpointFile, Detail: "the checkpoint file is not a signed checkpoint: " + err.Error()}
		t.res.Status, t.res.Problem = string(Modified), t.sig
	} else if t.sig != nil {
		t.sig.Segment = CheckpointFile
	}
	t.res.Log = s.lf.name
	s.file = t
	s.fileResult = append(s.fileResult, t.res)
	return nil
}

// matchTrusted picks the trusted checkpoints of this log once its origin is
// known (or at the end, for a log without records).
func (s *logScan) matchTrusted() {
	origin := string(s.origin)
	if origin != "" {
		for _, t := range s.all {
			if t.folder == "" && !t.matched && t.cp.Origin == origin {
				t.matched = true
				t.res.Log = s.lf.name
				s.mine = append(s.mine, t)
			}
		}
	}
	if s.file != nil {
		s.mine = append(s.mine, s.file)
	}
	var keep []*trustedCP
	for _, t := range s.mine {
		switch {
		case t.sig != nil && (t.sig.Category != UnknownKey || origin == "" || t.cp.Origin != origin):
			s.late = append(s.late, t.sig)
		case t.sig != nil:
			// Signed by a key this log may still teach (key_rotated):
			// verified again when the scan reaches its size.
			keep = append(keep, t)
		case t.cp.Origin != origin:
			holds := fmt.Sprintf("it now holds another log (%s)", origin)
			if origin == "" {
				holds = "it now holds no record"
			}
			what := fmt.Sprintf("this folder held the log %s when %s was saved: %s", t.cp.Origin, t.res.Source, holds)
			if t == s.file {
				what = fmt.Sprintf("the checkpoint file is of the log %s, but the folder holds %s", t.cp.Origin, strings.TrimPrefix(holds, "it now holds "))
			}
			p := &Problem{Category: Truncated, Seq: 0, Detail: fmt.Sprintf("%s; the %s records the checkpoint covers are gone%s", what, groupDigits(t.cp.Size), t.hint)}
			if t == s.file {
				p.Segment = CheckpointFile
			}
			t.res.Status, t.res.Problem = string(Truncated), p
			s.late = append(s.late, p)
		default:
			keep = append(keep, t)
		}
	}
	slices.SortStableFunc(keep, func(a, b *trustedCP) int {
		switch {
		case a.cp.Size < b.cp.Size:
			return -1
		case a.cp.Size > b.cp.Size:
			return 1
		}
		return 0
	})
	s.mine = keep
}

func (s *logScan) trustedFail(t *trustedCP, p *Problem) {
	t.res.Status, t.res.Problem = string(p.Category), p
	if s.problem == nil {
		s.problem = p
		s.pend = nil
	}
}

// checkTrusted compares the trusted checkpoints of size s.n with the
// records before the current line.
func (s *logScan) checkTrusted(at lineLoc) {
	for len(s.mine) > 0 && s.mine[0].cp.Size == s.n {
		t := s.mine[0]
		s.mine = s.mine[1:]
		if !s.retryTrusted(t) {
			s.late = append(s.late, t.sig)
			continue
		}
		s.checkOne(t, at)
		if s.problem != nil {
			return
		}
	}
}

func (s *logScan) checkOne(t *trustedCP, at lineLoc) {
	if t.cp.Root != s.root() {
		p := &Problem{Category: Fork, Seq: t.cp.Size, Segment: at.seg, Line: at.line,
			Detail: fmt.Sprintf("%s, of size %d, has another root than records 0…%d: the log's history differs from the one it signed", t.res.Source, t.cp.Size, t.cp.Size-min(t.cp.Size, 1))}
		if t.cp.Size == 0 {
			p.Detail = t.res.Source + " of size 0 has a root other than the empty tree's"
		}
		s.trustedFail(t, p)
		return
	}
	t.res.Status = StatusOK
	s.importAuth = true
	if t.res.External && t.cp.Size >= s.rep.Anchored {
		s.rep.Anchored, s.rep.AnchoredBy = t.cp.Size, t.res.Source
	}
	if s.newest == nil || t.cp.Size > s.newest.Size {
		s.newest = &CheckpointInfo{Size: t.cp.Size, Root: base64.StdEncoding.EncodeToString(t.cp.Root[:]), Source: t.res.Source, Note: t.note}
	}
}
