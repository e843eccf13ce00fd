package audit

import (
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
