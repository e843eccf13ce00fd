package audit

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Category is the kind of the first problem a verifier finds in a log
// (docs/audit-format.md, "Verification").
type Category string

// Problem categories.
const (
	// Modified: a line's bytes changed: it is not a canonical record, the
	// next line's prev does not match it, a field is wrong, or a checkpoint
	// root disagrees with the records before it.
	Modified Category = "MODIFIED"
	// Deleted: lines are missing inside a segment (seq jumps forward).
	Deleted Category = "DELETED"
	// Gap: a segment is missing or renamed.
	Gap Category = "GAP"
	// Reordered: a record is not in its place (seq goes backwards).
	Reordered Category = "REORDERED"
	// Duplicate: a line repeats an earlier record byte for byte.
	Duplicate Category = "DUPLICATE"
	// Truncated: a trusted checkpoint covers more records than the log holds,
	// or the log it covers is gone.
	Truncated Category = "TRUNCATED"
	// Fork: a trusted checkpoint disagrees with the log's records.
	Fork Category = "FORK"
	// BadSignature: a checkpoint's signature by a known key does not verify.
	BadSignature Category = "BAD_SIGNATURE"
	// UnknownKey: a checkpoint is signed by no key the verifier knows.
	UnknownKey Category = "UNKNOWN_KEY"
	// Unsigned: records that must be covered by a checkpoint are not (no
	// checkpoint before segment_sealed, or too many records without one).
	Unsigned Category = "UNSIGNED"
)

// Problem is the first thing wrong with a log (or with a trusted
// checkpoint).
type Problem struct {
	Category Category `json:"category"`
	// Seq is the record the problem is about: the changed record
	// (MODIFIED), the first record after a hole (DELETED, GAP), the record
	// out of place (REORDERED), the repeated record (DUPLICATE), the first
	// record missing (TRUNCATED), the checkpoint's size (FORK) or the
	// checkpoint record (BAD_SIGNATURE, UNKNOWN_KEY).
	Seq uint64 `json:"seq"`
	// Segment is the file the problem is in: a segment, "checkpoint", or
	// empty for a checkpoint given to the verifier.
	Segment string `json:"segment,omitempty"`
	// Line is the 1-based line in Segment (0: not about one line).
	Line int64 `json:"line,omitempty"`
	// Detail says what was found, for a human.
	Detail string `json:"detail"`
}

func (p *Problem) String() string {
	where := ""
	switch {
	case p.Segment != "" && p.Line > 0:
		where = fmt.Sprintf(" (%s line %d)", p.Segment, p.Line)
	case p.Segment != "":
		where = fmt.Sprintf(" (%s)", p.Segment)
	}
	return fmt.Sprintf("%s at seq %d%s: %s", p.Category, p.Seq, where, p.Detail)
}

// CheckpointInfo describes a verified checkpoint.
type CheckpointInfo struct {
	Size   uint64 `json:"size"`
	Root   string `json:"root"` // base64
	Source string `json:"source"`
	// Note is the signed checkpoint text.
	Note string `json:"note"`
}

// LogReport is the verdict on one log folder.
type LogReport struct {
	Folder  string `json:"folder"` // path of the log folder
	Name    string `json:"name"`   // its base name, e.g. "main"
	Origin  string `json:"origin,omitempty"`
	Records uint64 `json:"records"` // records read (up to the first problem)
	// First is the seq of the first record present: above 0 when the
	// first segments were deleted (retention).
	First    uint64 `json:"first,omitempty"`
	Segments int    `json:"segments"` // segment files
	Bytes    int64  `json:"bytes"`    // bytes read
	// Newest is the newest checkpoint found in the log (records or its
	// checkpoint file) that verified and matches the records.
	Newest *CheckpointInfo `json:"newest_checkpoint,omitempty"`
	// Signed is the number of records covered by the log's own checkpoints
	// (Newest.Size): records 0…Signed−1 are vouched for by a signature.
	Signed uint64 `json:"signed"`
	// Anchored is the size of the largest checkpoint kept outside the log
	// (supplied, or remembered from the last run) that matched: records
	// 0…Anchored−1 are proven intact, truncation included. 0: none.
	Anchored   uint64 `json:"anchored"`
	AnchoredBy string `json:"anchored_by,omitempty"`
	// LearnedKeys are the keys ("name+hash") the log taught the verifier:
	// new keys of key_rotated records covered by a checkpoint signed by a
	// trusted key and co-signed by the new key.
	LearnedKeys []string `json:"learned_keys,omitempty"`
	// Problem is the first problem, nil when the log verified.
	Problem *Problem `json:"problem,omitempty"`
	// Notes are remarks that are not failures (a stale checkpoint file, an
	// empty last segment…).
	Notes []string `json:"notes,omitempty"`
}

// OK reports whether the log verified.
func (l *LogReport) OK() bool { return l.Problem == nil }

// Trusted-checkpoint statuses besides a Category.
const (
	StatusOK        = "OK"        // it matched the log
	StatusUnchecked = "UNCHECKED" // the log failed before reaching its size
)

// CheckpointResult is what became of one checkpoint the verifier was given
// (or read from a log's checkpoint file, or remembered).
type CheckpointResult struct {
	Source string `json:"source"`
	Origin string `json:"origin,omitempty"`
	Size   uint64 `json:"size"`
	Log    string `json:"log,omitempty"` // the log folder it was checked against
	// External is set for checkpoints kept outside the log (supplied or
	// remembered): only those prove the newest records were not cut off.
	External bool     `json:"external"`
	Status   string   `json:"status"` // StatusOK, StatusUnchecked or a Category
	Problem  *Problem `json:"problem,omitempty"`
}

// Report is the result of Verify.
type Report struct {
	Dir         string              `json:"dir"`
	KeySource   string              `json:"key_source"`
	Intact      bool                `json:"intact"`
	Logs        []*LogReport        `json:"logs"`
	Checkpoints []*CheckpointResult `json:"checkpoints,omitempty"`
	// Remembered is the state file updated after the run ("" when not
	// asked for).
	Remembered string    `json:"remembered,omitempty"`
	Time       time.Time `json:"time"`
}

// OK reports whether every log verified and every checkpoint matched.
func (r *Report) OK() bool {
	for _, l := range r.Logs {
		if l.Problem != nil {
			return false
		}
	}
	for _, c := range r.Checkpoints {
		if c.Problem != nil {
			return false
		}
	}
	return true
}

// WriteText writes the report for a human: per log, the verdict and how far
// integrity is proven.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "audit directory %s\n", r.Dir)
	fmt.Fprintf(&b, "key: %s\n", r.KeySource)
	for _, l := range r.Logs {
		b.WriteString("\n")
		writeLogText(&b, l)
	}
	var bad []*CheckpointResult
	for _, c := range r.Checkpoints {
		if c.Problem != nil && c.Log == "" {
			bad = append(bad, c)
		}
	}
	if len(bad) > 0 {
		b.WriteString("\n")
		for _, c := range bad {
			fmt.Fprintf(&b, "checkpoint %s: %s\n", c.Source, c.Problem)
		}
	}
	b.WriteString("\n")
	failed := 0
	for _, l := range r.Logs {
		if l.Problem != nil {
			failed++
		}
	}
	switch {
	case r.OK():
		fmt.Fprintf(&b, "result: INTACT (%d %s)\n", len(r.Logs), pluralWord(len(r.Logs), "log", "logs"))
	case failed > 0:
		fmt.Fprintf(&b, "result: FAILED: %d of %d %s damaged\n", failed, len(r.Logs), pluralWord(len(r.Logs), "log", "logs"))
	default:
		b.WriteString("result: FAILED: a checkpoint you gave matches no log here\n")
	}
	if r.Remembered != "" {
		fmt.Fprintf(&b, "newest checkpoints remembered in %s\n", r.Remembered)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLogText(b *strings.Builder, l *LogReport) {
	fmt.Fprintf(b, "log %s", l.Name)
	if l.Origin != "" {
		fmt.Fprintf(b, " (%s)", l.Origin)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "  %s %s in %d %s", groupDigits(l.Records), pluralWord(int(min(l.Records, 2)), "record", "records"), l.Segments, pluralWord(l.Segments, "segment", "segments"))
	if l.First > 0 {
		fmt.Fprintf(b, " (seq %s on: the records before were deleted)", groupDigits(l.First))
	}
	if l.Newest != nil {
		fmt.Fprintf(b, "; newest checkpoint: size %s", groupDigits(l.Newest.Size))
	}
	b.WriteString("\n")
	if l.Problem != nil {
		fmt.Fprintf(b, "  FAILED: %s\n", l.Problem)
		if l.Problem.Seq > 0 && l.Signed > 0 && l.Signed <= l.Problem.Seq {
			fmt.Fprintf(b, "  records 0…%s were vouched for by the log's checkpoints before the failure\n", groupDigits(l.Signed-1))
		}
		for _, n := range l.Notes {
			fmt.Fprintf(b, "  note: %s\n", n)
		}
		return
	}
	end := l.First + l.Records // the seq after the last record
	switch {
	case l.Records == 0:
		b.WriteString("  OK: the log holds no records\n")
	case l.Anchored > 0:
		fmt.Fprintf(b, "  OK: intact up to seq %s, covered by %s\n", groupDigits(l.Anchored-1), l.AnchoredBy)
		if l.Anchored < end {
			fmt.Fprintf(b, "  %s consistent", capitalize(seqRange(l.Anchored, end-1, "is", "are")))
			if l.Signed > l.Anchored {
				fmt.Fprintf(b, " (signed by the log up to seq %s)", groupDigits(l.Signed-1))
			}
			b.WriteString(", but cutting it off would not be detected\n")
		}
	default:
		b.WriteString("  OK: consistent, but only the log's own checkpoints vouch for it: truncation of the newest records would not be detected\n")
		if l.Signed > 0 {
			fmt.Fprintf(b, "  the log's checkpoints sign records %s…%s", groupDigits(l.First), groupDigits(l.Signed-1))
			switch {
			case l.Signed == end-1 && l.Newest != nil && l.Newest.Source == fmt.Sprintf("checkpoint record %d", l.Signed):
				b.WriteString(" (the last record is that checkpoint)")
			case l.Signed < end:
				fmt.Fprintf(b, "; %s chained but not yet signed", seqRange(l.Signed, end-1, "is", "are"))
			}
			b.WriteString("\n")
		} else {
			b.WriteString("  no checkpoint signs any record yet\n")
		}
		b.WriteString("  to prove more, keep copies of <log>/checkpoint elsewhere and pass them with --checkpoint, or use --remember\n")
	}
	for _, n := range l.Notes {
		fmt.Fprintf(b, "  note: %s\n", n)
	}
}

// seqRange names records a…b with the verb that agrees.
func seqRange(a, b uint64, one, many string) string {
	if a == b {
		return fmt.Sprintf("record %s %s", groupDigits(a), one)
	}
	return fmt.Sprintf("records %s…%s %s", groupDigits(a), groupDigits(b), many)
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// group writes n with thousands separators.
func groupDigits(n uint64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
