package audit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

var rangeFactory = compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// Tree is the RFC 6962 Merkle tree of a log's leaf hashes, kept as a compact
// range: O(log n) hashes, O(1) amortised per leaf. Writer and verifier both
// use it to compute checkpoint roots. It is not safe for concurrent use.
type Tree struct {
	r *compact.Range
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{r: rangeFactory.NewEmptyRange(0)} }

// Append adds the next leaf.
func (t *Tree) Append(leaf Hash) error {
	if err := t.r.Append(leaf[:], nil); err != nil {
		return fmt.Errorf("merkle tree: %w", err)
	}
	return nil
}

// Size is the number of leaves.
func (t *Tree) Size() uint64 { return t.r.End() }

// Root is the RFC 6962 root of the leaves so far (SHA-256 of the empty
// string for none).
func (t *Tree) Root() (Hash, error) {
	var out Hash
	if t.r.End() == 0 {
		copy(out[:], rfc6962.DefaultHasher.EmptyRoot())
		return out, nil
	}
	root, err := t.r.GetRootHash(nil)
	if err != nil {
		return out, fmt.Errorf("merkle tree: %w", err)
	}
	copy(out[:], root)
	return out, nil
}

// TreeState is the compact range of leaves 0…Size−1: what a segment_opened
// record carries as "tree" ({"size": N, "hashes": [base64 …]}), so that a
// log whose first segments were deleted can still compute the roots of its
// checkpoints.
type TreeState struct {
	Size   uint64
	Hashes []Hash
}

// State exports the tree's compact range.
func (t *Tree) State() TreeState {
	hs := t.r.Hashes()
	out := TreeState{Size: t.r.End(), Hashes: make([]Hash, len(hs))}
	for i, h := range hs {
		copy(out.Hashes[i][:], h)
	}
	return out
}

// TreeFromState is the tree of Size leaves whose compact range is
// st.Hashes; it fails when their number does not fit Size.
func TreeFromState(st TreeState) (*Tree, error) {
	hs := make([][]byte, len(st.Hashes))
	for i := range st.Hashes {
		hs[i] = st.Hashes[i][:]
	}
	r, err := rangeFactory.NewRange(0, st.Size, hs)
	if err != nil {
		return nil, fmt.Errorf("merkle tree state: %w", err)
	}
	return &Tree{r: r}, nil
}

// recordValue is the state as the "tree" field of a record.
func (st TreeState) recordValue() map[string]any {
	hs := make([]any, len(st.Hashes))
	for i, h := range st.Hashes {
		hs[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return map[string]any{"size": st.Size, "hashes": hs}
}

// parseTreeState reads the "tree" field of a record, as recordValue writes
// it.
func parseTreeState(raw json.RawMessage) (TreeState, error) {
	var v struct {
		Size   *uint64  `json:"size"`
		Hashes []string `json:"hashes"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Size == nil || v.Hashes == nil {
		return TreeState{}, errors.New("tree is not {size, hashes}")
	}
	st := TreeState{Size: *v.Size, Hashes: make([]Hash, len(v.Hashes))}
	for i, s := range v.Hashes {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != len(Hash{}) {
			return TreeState{}, errors.New("tree hash is not a base64 SHA-256 hash")
		}
		copy(st.Hashes[i][:], b)
	}
	return st, nil
}

// openedHead is what the first line of a segment tells when it is
// segment_opened: its seq, prev, segment names and tree state.
type openedHead struct {
	Seq      uint64          `json:"seq"`
	Prev     string          `json:"prev"`
	Kind     string          `json:"kind"`
	Log      string          `json:"log"`
	Segment  string          `json:"segment"`
	Previous string          `json:"previous"`
	Tree     json.RawMessage `json:"tree"`
}

// parseOpenedHead parses a segment's first line as a segment_opened record
// carrying the tree state of the records before it (size = its seq).
func parseOpenedHead(line []byte) (openedHead, TreeState, error) {
	var h openedHead
	if err := json.Unmarshal(line, &h); err != nil {
		return h, TreeState{}, err
	}
	if h.Kind != KindSegmentOpened {
		return h, TreeState{}, errors.New("the first record is not segment_opened")
	}
	if h.Tree == nil {
		return h, TreeState{}, errors.New("segment_opened carries no tree state")
	}
	st, err := parseTreeState(h.Tree)
	if err != nil {
		return h, st, err
	}
	if st.Size != h.Seq {
		return h, st, fmt.Errorf("segment_opened %d carries the tree state of %d records", h.Seq, st.Size)
	}
	if _, err := TreeFromState(st); err != nil {
		return h, st, err
	}
	return h, st, nil
}
