package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// BundleFormat is the "format" of an evidence bundle.
const BundleFormat = "sovereign-audit-proof/v1"

// ErrBadBundle is returned by CheckBundle for evidence that does not prove
// what it claims.
var ErrBadBundle = errors.New("evidence bundle does not verify")

// Bundle is the evidence that one record is in a log: the record line, a
// checkpoint signed by the log's key, and an RFC 6962 inclusion proof of
// the line's leaf in the tree that checkpoint signs. Anyone holding the
// public key can check it offline (CheckBundle), without the log.
type Bundle struct {
	Format string `json:"format"`
	Origin string `json:"origin"`
	// Seq is the record's seq, which is also its leaf index.
	Seq       uint64 `json:"seq"`
	LeafIndex uint64 `json:"leaf_index"`
	// Record is the exact line (without "\n"); its leaf hash is
	// SHA-256(0x00 ‖ Record).
	Record   string `json:"record"`
	LeafHash string `json:"leaf_hash"` // hex, for reference: CheckBundle recomputes it
	// Checkpoint is the signed checkpoint note; TreeSize is its size.
	Checkpoint string `json:"checkpoint"`
	TreeSize   uint64 `json:"tree_size"`
	// InclusionProof lists the RFC 6962 inclusion proof hashes, base64,
	// from the leaf's sibling up.
	InclusionProof []string `json:"inclusion_proof"`
}

// Prove builds the evidence bundle of record seq of the log in dir (one
// log folder). It verifies the whole log first (Verify) and refuses a
// damaged one, then proves the record against the newest checkpoint that
// covers it (a record is covered by checkpoints of a size above its seq).
// keys nil: audit.vkey of the audit directory.
func Prove(ctx context.Context, dir string, seq uint64, keys note.Verifiers) (*Bundle, error) {
	rep, err := Verify(ctx, VerifyOptions{Dir: dir, Keys: keys})
	if err != nil {
		return nil, err
	}
	if len(rep.Logs) != 1 {
		names := make([]string, 0, len(rep.Logs))
		for _, l := range rep.Logs {
			names = append(names, l.Name)
		}
		return nil, fmt.Errorf("%s holds %d logs (%s): name one", dir, len(rep.Logs), strings.Join(names, ", "))
	}
	l := rep.Logs[0]
	if l.Problem != nil {
		return nil, fmt.Errorf("log %s is damaged, no proof is drawn from it: %s", l.Name, l.Problem)
	}
	if seq < l.First {
		return nil, fmt.Errorf("log %s has no record %d: records 0…%d were deleted (retention)", l.Name, seq, l.First-1)
	}
	if seq >= l.First+l.Records {
		return nil, fmt.Errorf("log %s has no record %d (it holds %d…%d)", l.Name, seq, l.First, l.First+l.Records-1)
	}
	if l.Newest == nil || l.Newest.Size <= seq {
		covered := "no checkpoint yet"
		if l.Newest != nil {
			covered = fmt.Sprintf("the newest checkpoint covers records 0…%d", l.Newest.Size-1)
		}
		return nil, fmt.Errorf("record %d is not covered by a checkpoint (%s): the writer signs one within a second or 1,000 records; try again", seq, covered)
	}
	size := l.Newest.Size
	ids, err := proof.Inclusion(seq, size)
	if err != nil {
		return nil, err
	}
	want := make(map[compact.NodeID]int, len(ids.IDs))
	for i, id := range ids.IDs {
		want[id] = i
	}
	hashes := make([][]byte, len(ids.IDs))
	var record []byte
	visit := func(id compact.NodeID, h []byte) {
		if i, ok := want[id]; ok {
			hashes[i] = append([]byte(nil), h...)
		}
	}
	r := rangeFactory.NewEmptyRange(0)
	if l.First > 0 {
		// The first segments were deleted: start from the tree state the
		// first segment_opened carries (Verify checked it against a
		// signed checkpoint); its nodes are the proof's left siblings.
		if r, err = prunedStart(l.Folder, l.First, visit); err != nil {
			return nil, err
		}
	}
	err = forEachLine(ctx, l.Folder, l.First, size, func(i uint64, line []byte) error {
		if i == seq {
			record = append([]byte(nil), line...)
		}
		leaf := LeafHash(line)
		return r.Append(leaf[:], visit)
	})
	if err != nil {
		return nil, err
	}
	for i, h := range hashes {
		if h == nil {
			return nil, fmt.Errorf("inclusion proof: node %+v not computed", ids.IDs[i])
		}
	}
	path, err := ids.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, err
	}
	b := &Bundle{
		Format:     BundleFormat,
		Origin:     l.Origin,
		Seq:        seq,
		LeafIndex:  seq,
		Record:     string(record),
		LeafHash:   LeafHash(record).String(),
		Checkpoint: l.Newest.Note,
		TreeSize:   size,
	}
	b.InclusionProof = make([]string, len(path))
	for i, h := range path {
		b.InclusionProof[i] = base64.StdEncoding.EncodeToString(h)
	}
	if keys == nil {
		// The bundle was just checked against the same records; check it
		// as a third party would, with the same keys Verify used.
		vs, err := DefaultVerifierKeys(filepath.Dir(l.Folder))
		if err != nil {
			return nil, err
		}
		keys = note.VerifierList(vs...)
	}
	enc, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	if _, err := CheckBundle(enc, keys); err != nil {
		return nil, fmt.Errorf("the bundle built does not verify (the log changed while it was read?): %w", err)
	}
	return b, nil
}

// prunedStart is the compact range of records 0…first−1 of a log whose
// first segments were deleted, from the tree state of its first
// segment_opened; visit sees its nodes.
func prunedStart(folder string, first uint64, visit compact.VisitFn) (*compact.Range, error) {
	line, err := firstLine(filepath.Join(folder, SegmentName(first)))
	if err != nil {
		return nil, err
	}
	_, st, err := parseOpenedHead(line)
	if err != nil || st.Size != first {
		return nil, fmt.Errorf("the first segment of %s does not carry the tree state of records 0…%d (%v)", folder, first-1, err)
	}
	t, err := TreeFromState(st)
	if err != nil {
		return nil, err
	}
	for i, id := range compact.RangeNodes(0, first, nil) {
		visit(id, st.Hashes[i][:])
	}
	return t.r, nil
}

// forEachLine calls fn with the lines of the log folder's segments, in
// order, numbered from first (the seq of the first line present) up to
// n−1. The log was verified just before: lines are records.
func forEachLine(ctx context.Context, folder string, first, n uint64, fn func(i uint64, line []byte) error) error {
	lf, err := readLogFolder(folder)
	if err != nil {
		return err
	}
	i := first
	for _, sg := range lf.segs {
		if i >= n {
			break
		}
		f, err := os.Open(sg.path)
		if err != nil {
			return err
		}
		lr := boundedLines{r: bufio.NewReaderSize(f, 1<<20), max: DefaultMaxLine}
		for i < n {
			line, complete, err := lr.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil || !complete {
				f.Close()
				return fmt.Errorf("%s: the log changed while it was read (%v)", sg.path, err)
			}
			if err := fn(i, line); err != nil {
				f.Close()
				return err
			}
			i++
			if i%8192 == 0 {
				if err := ctx.Err(); err != nil {
					f.Close()
					return err
				}
			}
		}
		f.Close()
	}
	if i < n {
		return fmt.Errorf("%s: %d records, %d expected (the log changed while it was read)", folder, i, n)
	}
	return nil
}

// BundleResult is what a verified bundle proves.
type BundleResult struct {
	Origin   string `json:"origin"`
	Seq      uint64 `json:"seq"`
	Kind     string `json:"kind"`
	Time     string `json:"ts"`
	TreeSize uint64 `json:"tree_size"`
	Root     string `json:"root"`   // base64
	Signer   string `json:"signer"` // the key name that signed the checkpoint
}

// CheckBundle verifies an evidence bundle offline: the checkpoint's
// signature by one of keys, the record (a canonical record of that log,
// with the claimed seq), and the inclusion proof of its leaf hash in the
// checkpoint's tree. Errors wrap ErrBadBundle, or are the note package's
// for a signature problem (also wrapped in ErrBadBundle).
func CheckBundle(data []byte, keys note.Verifiers) (*BundleResult, error) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: not a bundle: %v", ErrBadBundle, err)
	}
	if b.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrBadBundle, b.Format, BundleFormat)
	}
	c, n, err := OpenCheckpoint([]byte(b.Checkpoint), keys)
	if err != nil {
		if cat, detail := sigCategory(err); cat != "" {
			return nil, fmt.Errorf("%w: checkpoint %s: %s", ErrBadBundle, cat, detail)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadBundle, err)
	}
	if c.Origin != b.Origin || c.Size != b.TreeSize {
		return nil, fmt.Errorf("%w: the checkpoint is of log %s size %d, the bundle claims %s size %d", ErrBadBundle, c.Origin, c.Size, b.Origin, b.TreeSize)
	}
	if b.LeafIndex != b.Seq || b.LeafIndex >= c.Size {
		return nil, fmt.Errorf("%w: leaf %d (seq %d) is not in a tree of size %d", ErrBadBundle, b.LeafIndex, b.Seq, c.Size)
	}
	line := []byte(b.Record)
	var lf lineFields
	if err := scanLine(line, &lf); err != nil {
		return nil, fmt.Errorf("%w: the record is not a canonical record: %v", ErrBadBundle, err)
	}
	seq, ok := lf.uint(line, fSeq)
	logRaw, ok2 := lf.str(line, fLog)
	kind, _ := lf.str(line, fKind)
	ts, _ := lf.str(line, fTs)
	if !ok || !ok2 || seq != b.Seq || logRaw != c.Origin {
		return nil, fmt.Errorf("%w: the record is not record %d of log %s", ErrBadBundle, b.Seq, c.Origin)
	}
	path := make([][]byte, len(b.InclusionProof))
	for i, s := range b.InclusionProof {
		h, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(h) != len(Hash{}) {
			return nil, fmt.Errorf("%w: inclusion proof hash %d is not base64 SHA-256", ErrBadBundle, i)
		}
		path[i] = h
	}
	leaf := LeafHash(line)
	if b.LeafHash != "" && b.LeafHash != leaf.String() {
		return nil, fmt.Errorf("%w: leaf_hash is not the record's leaf hash", ErrBadBundle)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, b.LeafIndex, c.Size, leaf[:], path, c.Root[:]); err != nil {
		return nil, fmt.Errorf("%w: inclusion proof: %v", ErrBadBundle, err)
	}
	signer := ""
	if len(n.Sigs) > 0 {
		signer = n.Sigs[0].Name
	}
	return &BundleResult{Origin: c.Origin, Seq: seq, Kind: kind, Time: ts, TreeSize: c.Size,
		Root: base64.StdEncoding.EncodeToString(c.Root[:]), Signer: signer}, nil
}
