package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// FormatVersion is the "v" of every record.
const FormatVersion = 1

// Kinds of records (docs/audit-format.md describes each one's fields).
const (
	KindDecision          = "decision"            // the gate decided a request
	KindOutcome           = "outcome"             // what became of a forwarded request
	KindCheckpoint        = "checkpoint"          // a signed tree head covering every earlier record
	KindLogOpened         = "log_opened"          // a process opened the log (first record: genesis)
	KindLogClosed         = "log_closed"          // a process closed the log cleanly
	KindPolicyLoaded      = "policy_loaded"       // a policy revision was loaded or reloaded
	KindRecoveredTornTail = "recovered_torn_tail" // a crash left a partial last line; it was quarantined
	KindTamperAccepted    = "tamper_accepted"     // the operator restarted over a damaged log
	KindAuditFailure      = "audit_failure"       // records could not be written for a while
	KindResumed           = "resumed"             // writing works again after an audit_failure
	KindSegmentSealed     = "segment_sealed"      // last record of a segment
	KindSegmentOpened     = "segment_opened"      // first record of a later segment
	KindKeyRotated        = "key_rotated"         // checkpoints are signed by a new key from here on
	KindRetentionPrune    = "retention_prune"     // sealed segments were deleted by retention
)

// Fields every record has; an Entry's body may not use them.
const (
	FieldVersion = "v"
	FieldSeq     = "seq"
	FieldTime    = "ts"
	FieldKind    = "kind"
	FieldLog     = "log"
	FieldPrev    = "prev"
)

// ErrReservedField is returned for an entry whose body sets a common field.
var ErrReservedField = errors.New("entry body uses a field every record has")

// GenesisPrev is the "prev" of the first record of a log.
const GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is the layout of "ts": UTC, microseconds, always 6 digits.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Hash is a SHA-256 hash.
type Hash [sha256.Size]byte

// String is the lower-case hex form used in records.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// LeafHash is the RFC 6962 leaf hash of a record line (without its "\n"):
// SHA-256(0x00 ‖ line). It is the next record's "prev" and the line's leaf
// in the Merkle tree.
func LeafHash(line []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(line)
	var out Hash
	h.Sum(out[:0])
	return out
}

// Entry is what a caller records: a kind and its fields. The log adds the
// common fields.
type Entry struct {
	Kind string
	Time time.Time // zero: the time of the append
	Body map[string]any
}

// EncodeRecord builds the canonical line (no "\n") of e as record seq of the
// log origin, chained to prev.
func EncodeRecord(dst []byte, origin string, seq uint64, prev Hash, e Entry) ([]byte, error) {
	if e.Kind == "" {
		return nil, errors.New("entry has no kind")
	}
	rec := make(map[string]any, len(e.Body)+6)
	for k, v := range e.Body {
		switch k {
		case FieldVersion, FieldSeq, FieldTime, FieldKind, FieldLog, FieldPrev:
			return nil, fmt.Errorf("%w: %q", ErrReservedField, k)
		}
		rec[k] = v
	}
	rec[FieldVersion] = FormatVersion
	rec[FieldSeq] = seq
	rec[FieldTime] = e.Time.UTC().Format(TimeFormat)
	rec[FieldKind] = e.Kind
	rec[FieldLog] = origin
	rec[FieldPrev] = prev.String()
	return AppendCanonical(dst, rec)
}
