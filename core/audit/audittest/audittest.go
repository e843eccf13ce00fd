// Package audittest generates audit logs for tests: valid logs as
// docs/audit-format.md describes them, built from the format's primitives
// (EncodeRecord, Tree, Checkpoint.Sign) rather than the writer, so that the
// verifier is tested against the format, not against one implementation of
// it. Tests then damage them (Lines, WriteLines) to check the verdicts.
package audittest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// Key is a test signing key.
type Key struct {
	Signer   note.Signer
	Verifier note.Verifier
	VKey     string // the verifier key in note format
}

// NewKey makes an Ed25519 note key named name.
func NewKey(name string) (Key, error) {
	skey, vkey, err := note.GenerateKey(nil, name)
	if err != nil {
		return Key{}, err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return Key{}, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Key{}, err
	}
	return Key{Signer: s, Verifier: v, VKey: vkey}, nil
}

// Options shape a generated log.
type Options struct {
	// Records is the number of lines (records) of the log, at least 4.
	// Default 1,000.
	Records int
	// CheckpointEvery appends a checkpoint record once this many other
	// records followed the last one (default 100).
	CheckpointEvery int
	// SegmentRecords rotates (checkpoint, segment_sealed, then a new
	// segment starting with segment_opened) once a segment holds this many
	// records (default 400; negative: never).
	SegmentRecords int
	// Origin is the log's origin (default
	// "sovereign/testhost/<folder>/0123456789abcdef").
	Origin string
	// Start is the ts of record 0; each record is 1 ms later (default
	// 2026-11-27T09:00:00Z).
	Start time.Time
	// Closed ends the log as a clean shutdown does: log_closed, then the
	// final checkpoint. Otherwise the log ends with ordinary records, as a
	// running log does.
	Closed bool
	// Signer signs the checkpoints (required); SignerFor, when set and not
	// returning nil, signs the checkpoint record at a given seq instead.
	Signer    note.Signer
	SignerFor func(seq uint64) note.Signer
	// Salt changes the content of the records from SaltFrom on: two logs
	// with one origin and different salts fork at SaltFrom.
	Salt     string
	SaltFrom uint64
	// NoCheckpointFile leaves out <log>/checkpoint.
	NoCheckpointFile bool
}

// Segment is one generated segment file.
type Segment struct {
	Name         string
	First, Count uint64
}

// Log describes a generated log.
type Log struct {
	Dir      string // the audit directory
	Folder   string // the log folder
	Origin   string
	Records  uint64
	Segments []Segment
	// Checkpoints are the seqs of the checkpoint records; Notes their
	// signed notes by size (= seq).
	Checkpoints []uint64
	Notes       map[uint64][]byte
}

// Newest is the note of the newest checkpoint record.
func (l *Log) Newest() []byte { return l.Notes[l.Checkpoints[len(l.Checkpoints)-1]] }

// Locate returns the segment file and the 0-based line index of seq.
func (l *Log) Locate(seq uint64) (path string, line int) {
	for _, s := range l.Segments {
		if seq >= s.First && seq < s.First+s.Count {
			return filepath.Join(l.Folder, s.Name), int(seq - s.First)
		}
	}
	panic(fmt.Sprintf("audittest: no record %d", seq))
}

// WriteVerifierKey writes auditDir/audit.vkey.
func WriteVerifierKey(auditDir, vkey string) error {
	if err := os.MkdirAll(auditDir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(auditDir, audit.PublicKeyFile), []byte(vkey+"\n"), 0o644)
}

type gen struct {
	opts     Options
	log      *Log
	tree     *audit.Tree
	prev     audit.Hash
	n        uint64
	sinceCp  int
	seg      *bufio.Writer
	segFile  *os.File
	segIdx   int
	inSeg    int
	buf      []byte
	prevName string
	err      error
}

// Generate writes a valid log into auditDir/folder (which must not hold
// one yet).
func Generate(auditDir, folder string, opts Options) (*Log, error) {
	if opts.Records == 0 {
		opts.Records = 1000
	}
	if opts.Records < 4 {
		return nil, errors.New("audittest: a log has at least 4 records")
	}
	if opts.CheckpointEvery == 0 {
		opts.CheckpointEvery = 100
	}
	if opts.SegmentRecords == 0 {
		opts.SegmentRecords = 400
	}
	if opts.Origin == "" {
		opts.Origin = "sovereign/testhost/" + folder + "/0123456789abcdef"
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	}
	if opts.Signer == nil {
		return nil, errors.New("audittest: no signer")
	}
	dir := filepath.Join(auditDir, folder)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	g := &gen{opts: opts, tree: audit.NewTree(), log: &Log{Dir: auditDir, Folder: dir, Origin: opts.Origin, Notes: map[uint64][]byte{}}}
	if err := g.openSegment(); err != nil {
		return nil, err
	}
	target := uint64(opts.Records)
	if opts.Closed {
		target -= 2
	}
	g.add(audit.KindLogOpened, map[string]any{"pid": 4242, "version": "test", "hostname": "testhost", "key": opts.Signer.Name(), "reason": "created"})
	g.add(audit.KindPolicyLoaded, map[string]any{"revision": "rev-1", "previous": "", "modules": []string{"builtin/baseline"}, "mode": "enforce"})
	for g.n < target {
		switch {
		case g.sinceCp >= opts.CheckpointEvery:
			g.checkpoint()
		case opts.SegmentRecords > 0 && g.inSeg >= opts.SegmentRecords && target-g.n >= 4:
			g.checkpoint()
			next := audit.SegmentName(g.n + 1)
			g.add(audit.KindSegmentSealed, map[string]any{"segment": g.segName(), "records": uint64(g.inSeg) + 1, "next": next})
			if err := g.closeSegment(); err != nil {
				return nil, err
			}
			if err := g.openSegment(); err != nil {
				return nil, err
			}
			g.add(audit.KindSegmentOpened, map[string]any{"segment": g.segName(), "previous": g.prevName})
		case g.n%2 == 0:
			g.add(audit.KindDecision, g.decision())
		default:
			g.add(audit.KindOutcome, g.outcome())
		}
	}
	if opts.Closed {
		g.add(audit.KindLogClosed, map[string]any{"pid": 4242})
		g.checkpoint()
	}
	if err := g.closeSegment(); err != nil {
		return nil, err
	}
	if g.err != nil {
		return nil, g.err
	}
	g.log.Records = g.n
	if !opts.NoCheckpointFile && len(g.log.Checkpoints) > 0 {
		if err := os.WriteFile(filepath.Join(dir, audit.CheckpointFile), g.log.Newest(), 0o644); err != nil {
			return nil, err
		}
	}
	return g.log, nil
}

func (g *gen) segName() string { return g.log.Segments[len(g.log.Segments)-1].Name }

func (g *gen) openSegment() error {
	name := audit.SegmentName(g.n)
	f, err := os.OpenFile(filepath.Join(g.log.Folder, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if len(g.log.Segments) > 0 {
		g.prevName = g.segName()
	}
	g.segFile, g.seg, g.inSeg = f, bufio.NewWriterSize(f, 1<<20), 0
	g.log.Segments = append(g.log.Segments, Segment{Name: name, First: g.n})
	return nil
}

func (g *gen) closeSegment() error {
	if err := g.seg.Flush(); err != nil {
		return err
	}
	return g.segFile.Close()
}

// err is the first error of add (kept so the loop stays readable).
func (g *gen) setErr(err error) {
	if g.err == nil {
		g.err = err
	}
}

func (g *gen) add(kind string, body map[string]any) {
	line, err := audit.EncodeRecord(g.buf[:0], g.opts.Origin, g.n, g.prev, audit.Entry{
		Kind: kind, Time: g.opts.Start.Add(time.Duration(g.n) * time.Millisecond), Body: body,
	})
	if err != nil {
		g.setErr(err)
		return
	}
	g.buf = line
	leaf := audit.LeafHash(line)
	if err := g.tree.Append(leaf); err != nil {
		g.setErr(err)
	}
	g.seg.Write(line)
	g.seg.WriteByte('\n')
	g.prev = leaf
	g.n++
	g.inSeg++
	g.log.Segments[len(g.log.Segments)-1].Count++
	if kind == audit.KindCheckpoint {
		g.sinceCp = 0
	} else {
		g.sinceCp++
	}
}

func (g *gen) checkpoint() {
	root, err := g.tree.Root()
	if err != nil {
		g.setErr(err)
		return
	}
	signer := g.opts.Signer
	if g.opts.SignerFor != nil {
		if s := g.opts.SignerFor(g.n); s != nil {
			signer = s
		}
	}
	msg, err := audit.Checkpoint{Origin: g.opts.Origin, Size: g.n, Root: root}.Sign(signer)
	if err != nil {
		g.setErr(err)
		return
	}
	g.log.Checkpoints = append(g.log.Checkpoints, g.n)
	g.log.Notes[g.n] = msg
	g.add(audit.KindCheckpoint, map[string]any{"size": g.n, "root": base64.StdEncoding.EncodeToString(root[:]), "note": string(msg)})
}

func (g *gen) salt() string {
	if g.opts.Salt != "" && g.n >= g.opts.SaltFrom {
		return "-" + g.opts.Salt
	}
	return ""
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func (g *gen) decision() map[string]any {
	id := fmt.Sprintf("d-%08d%s", g.n, g.salt())
	return map[string]any{
		"decision_id": id,
		"phase":       "call",
		"method":      "tools/call",
		"session":     "session-1",
		"principal":   map[string]any{"kind": "user", "id": "alice"},
		"client":      map[string]any{"name": "claude-code", "version": "2.1.0"},
		"upstream":    "filesystem",
		"tool":        map[string]any{"name": "filesystem_read_file", "upstream_name": "read_file", "effect": "read"},
		"args_digest": digest(id),
		"allow":       g.n%7 != 0,
		"enforced":    true,
		"mode":        "enforce",
		"reasons":     []any{map[string]any{"id": "FS-READ", "msg": "reading inside the project"}},
		"obligations": []any{},
		"rules":       []string{},
		"revision":    "rev-1",
		"eval_us":     int64(40 + g.n%50),
	}
}

func (g *gen) outcome() map[string]any {
	return map[string]any{
		"decision_id":   fmt.Sprintf("d-%08d%s", g.n-1, g.salt()),
		"decision_seq":  g.n - 1,
		"status":        "ok",
		"is_error":      false,
		"result_digest": digest("result " + strconv.FormatUint(g.n, 10) + g.salt()),
		"duration_us":   int64(1000 + g.n%997),
	}
}

// Lines reads a segment file's lines (without "\n"); a last line without
// "\n" is returned too.
func Lines(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines, nil
}

// WriteLines writes lines to path, each followed by "\n".
func WriteLines(path string, lines [][]byte) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// Edit reads the segment at path, applies fn to its lines and writes them
// back.
func Edit(path string, fn func([][]byte) [][]byte) error {
	lines, err := Lines(path)
	if err != nil {
		return err
	}
	return WriteLines(path, fn(lines))
}
