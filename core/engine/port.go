package engine

// Import and export: `sovereign import --from DIR|FILE` and `sovereign
// export`.
//
// Import reads a data directory of the original Sovereign Stack (Python; its
// ~/.sovereign, layout in the reference's §3) or a JSONL file written by
// Export, validates every record as the live tools would, and stores it
// through the record-level inserts of each tool group (chronicle_port.go,
// threads_store.go, handoff_store.go, reflection_port.go). Files:
// port_import.go (the walk and the report), port_import_chronicle.go
// (insights, learnings, archive, supersession ledger),
// port_import_threads.go (threads, touches, handoffs, acted-on),
// port_import_reflection.go (consciousness/*.json), port_import_jsonl.go
// (the export format), port_import_lines.go (bounded lines, fields, timestamps),
// port_export.go.
//
// Decisions:
//   - DIR is read only through os.OpenRoot: a symlink that leads outside it
//     is not followed (reported as skipped); an archive index "path" (an
//     absolute path of the original machine) is never opened as given —
//     the blob is looked for by file name inside DIR/chronicle/archives/.
//     Nothing is ever written to DIR.
//   - Bounds: a line longer than 1 MiB (8 MiB in the export format, whose
//     archive lines carry content) is skipped; a blob larger than 16 MiB is
//     not read (and the engine archives at most 1 MiB); at most
//     ImportOptions.MaxFiles directory entries are walked.
//   - Ids are kept: an insight keeps the original's claim id (sha256 of its
//     timestamp text, domain and content as the original wrote them), so
//     the supersession ledger and claim receipts that name original ids
//     still resolve; timestamps are normalised to the stored UTC form. A
//     handoff's id is its file name without .json (handoff_acted_on's
//     handoff_path still finds it); threads, uncertainty markers and
//     experiments keep their ids. Reflections and session reviews, which
//     had none, get ids derived from their content (ref_/rev_ + 16 hex),
//     so that a second import finds them.
//   - Naive timestamps (no zone) are local time of the original's machine
//     in handoffs, acted-on records, touches, threads, learnings, insights:
//     they are read in ImportOptions.Location (default the local zone).
//     consciousness/*.json was written with utcnow(): naive there is UTC.
//   - Domains and applies_to are normalised only trivially (case, spaces
//     around commas); anything else that is not up to 8 tags of a-z, 0-9,
//     '.', '_', '-' — e.g. a sentence used as a domain — is skipped with
//     the reason and its file:line, never stored under a mangled name.
//   - An archive blob whose bytes do not hash to its index's archive_id is
//     skipped (never served as good).
//   - The supersession ledger is folded as the original folds it (latest
//     action per predecessor wins, revoke nullifies); the effective
//     supersede records are imported; retire records (no successor) have
//     no equivalent and are skipped.
//   - One transaction per file (the export format: per batch of
//     importBatch lines). A file that fails mid-way (a database error) is
//     rolled back whole and listed in the report; records that fail
//     validation are skipped and counted, the first ones listed with
//     file:line and reason.
//   - Idempotent: what is stored already is counted as already_present.
//   - Dry run: everything but the commit (one transaction with a savepoint
//     per file, rolled back at the end).

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Record kinds of import and export (the "kind" of an exported line), in
// export order: every kind comes after the kinds it refers to.
const (
	KindInsight      = "insight"
	KindSupersession = "supersession"
	KindLearning     = "learning"
	KindArchive      = "archive"
	KindThread       = "thread"
	KindTouch        = "touch"
	KindHandoff      = "handoff"
	KindActedOn      = "acted_on"
	KindUncertainty  = "uncertainty"
	KindExperiment   = "experiment"
	KindReflection   = "reflection"
	KindReview       = "review"
)

// PortKinds are the record kinds in export order.
var PortKinds = []string{
	KindInsight, KindSupersession, KindLearning, KindArchive, KindThread, KindTouch,
	KindHandoff, KindActedOn, KindUncertainty, KindExperiment, KindReflection, KindReview,
}

// Import bounds.
const (
	importMaxLine       = 1 << 20  // a line of an original's JSONL, or a whole handoff/consciousness file
	importMaxExportLine = 8 << 20  // a line of the export format (archive content)
	importMaxBlob       = 16 << 20 // an archived blob read from DIR
	importMaxFiles      = 1_000_000
	importMaxSamples    = 50
	importBatch         = 1000 // lines of the export format per transaction
	importMaxLedger     = 1_000_000
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Location is the zone of the original's naive timestamps (handoffs,
	// acted-on records, touches, threads, learnings, insights); nil is
	// time.Local.
	Location *time.Location
	// DryRun does everything but the commit.
	DryRun bool
	// Principal is stored as the principal of every imported record of the
	// original (which had none); the export format carries its own.
	Principal string
	// MaxFiles bounds the directory entries walked (0: 1,000,000).
	MaxFiles int
	// MaxSamples bounds the skipped records listed (0: 50); all are counted.
	MaxSamples int
	// Progress, when set, is told after every file.
	Progress func(filesDone int, file string)
}

// KindCounts are the counts of one record kind.
type KindCounts struct {
	Read           int `json:"read"`
	Imported       int `json:"imported"`
	AlreadyPresent int `json:"already_present"`
	Skipped        int `json:"skipped"`
}

// ImportSkip is one skipped record (or file): where and why.
type ImportSkip struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Reason string `json:"reason"`
}

// NotImported is an entry of DIR that Import does not read, and why.
type NotImported struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// FailedFile is a file (or a batch of the export format) whose transaction
// failed: none of its records were stored.
type FailedFile struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// ImportReport says what Import took and what it skipped.
type ImportReport struct {
	Source string `json:"source"`
	// Format is "original" (a data directory of the Python project) or
	// "export" (a JSONL file written by Export).
	Format string `json:"format"`
	DryRun bool   `json:"dry_run"`
	// FilesRead counts the files read.
	FilesRead int                    `json:"files_read"`
	Kinds     map[string]*KindCounts `json:"kinds"`
	// Skipped lists the first skipped records; SkippedTotal counts them all.
	Skipped      []ImportSkip  `json:"skipped"`
	SkippedTotal int           `json:"skipped_total"`
	NotImported  []NotImported `json:"not_imported"`
	Failed       []FailedFile  `json:"failed_files"`
	// Truncated: the walk stopped at MaxFiles entries.
	Truncated bool `json:"truncated,omitempty"`

	maxSamples int
}

func newImportReport(source, format string, opts ImportOptions) *ImportReport {
	r := &ImportReport{Source: source, Format: format, DryRun: opts.DryRun, Kinds: map[string]*KindCounts{},
		Skipped: []ImportSkip{}, NotImported: []NotImported{}, Failed: []FailedFile{}, maxSamples: opts.MaxSamples}
	if r.maxSamples <= 0 {
		r.maxSamples = importMaxSamples
	}
	for _, k := range PortKinds {
		r.Kinds[k] = &KindCounts{}
	}
	return r
}

// Totals sums the counts of every kind.
func (r *ImportReport) Totals() KindCounts {
	var t KindCounts
	for _, c := range r.Kinds {
		t.Read += c.Read
		t.Imported += c.Imported
		t.AlreadyPresent += c.AlreadyPresent
		t.Skipped += c.Skipped
	}
	return t
}

// kind returns the counts of kind, adding them when missing.
func (r *ImportReport) kind(k string) *KindCounts {
	c := r.Kinds[k]
	if c == nil {
		c = &KindCounts{}
		r.Kinds[k] = c
	}
	return c
}

func (r *ImportReport) sample(s ImportSkip) {
	r.SkippedTotal++
	if len(r.Skipped) < r.maxSamples {
		r.Skipped = append(r.Skipped, s)
	}
}

func (r *ImportReport) notImported(path, reason string) {
	r.NotImported = append(r.NotImported, NotImported{Path: path, Reason: reason})
}

// WriteText writes the report for a person to read.
func (r *ImportReport) WriteText(w io.Writer) error {
	var b strings.Builder
	verb := "Imported"
	if r.DryRun {
		verb = "Dry run (nothing stored): would import"
	}
	t := r.Totals()
	fmt.Fprintf(&b, "%s from %s (%s format): %d files read, %d records read.\n", verb, r.Source, r.Format, r.FilesRead, t.Read)
	fmt.Fprintf(&b, "%-13s %8s %9s %16s %8s\n", "kind", "read", "imported", "already present", "skipped")
	for _, k := range append(slices.Clone(PortKinds), "unknown") {
		c := r.Kinds[k]
		if c == nil || *c == (KindCounts{}) {
			continue
		}
		fmt.Fprintf(&b, "%-13s %8d %9d %16d %8d\n", k, c.Read, c.Imported, c.AlreadyPresent, c.Skipped)
	}
	fmt.Fprintf(&b, "%-13s %8d %9d %16d %8d\n", "total", t.Read, t.Imported, t.AlreadyPresent, t.Skipped)
	if r.SkippedTotal > 0 {
		fmt.Fprintf(&b, "\nSkipped (%d", r.SkippedTotal)
		if len(r.Skipped) < r.SkippedTotal {
			fmt.Fprintf(&b, ", the first %d listed", len(r.Skipped))
		}
		b.WriteString("):\n")
		for _, s := range r.Skipped {
			loc := s.File
			if s.Line > 0 {
				loc = fmt.Sprintf("%s:%d", s.File, s.Line)
			}
			fmt.Fprintf(&b, "  %s: %s\n", loc, s.Reason)
		}
	}
	if len(r.Failed) > 0 {
		b.WriteString("\nFailed (rolled back, nothing of them stored):\n")
		for _, f := range r.Failed {
			fmt.Fprintf(&b, "  %s: %s\n", f.File, f.Error)
		}
	}
	if len(r.NotImported) > 0 {
		b.WriteString("\nNot imported:\n")
		for _, n := range r.NotImported {
			fmt.Fprintf(&b, "  %s: %s\n", n.Path, n.Reason)
		}
	}
	if r.Truncated {
		b.WriteString("\nThe walk stopped at its limit of directory entries; run again on a smaller directory for the rest.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ExportOptions configure Export.
type ExportOptions struct {
	// Kinds selects record kinds (nil: all of PortKinds).
	Kinds []string
}

// ExportReport counts what Export wrote.
type ExportReport struct {
	Kinds map[string]int `json:"kinds"`
	Lines int            `json:"lines"`
	Bytes int64          `json:"bytes"`
}

// ErrUnknownKind: a kind that is not one of PortKinds.
var ErrUnknownKind = fmt.Errorf("unknown record kind (known: %s)", strings.Join(PortKinds, ", "))

// selectKinds checks kinds and returns the set selected (all for none).
func selectKinds(kinds []string) (map[string]bool, error) {
	sel := map[string]bool{}
	if len(kinds) == 0 {
		for _, k := range PortKinds {
			sel[k] = true
		}
		return sel, nil
	}
	for _, k := range kinds {
		k = strings.TrimSpace(k)
		if !slices.Contains(PortKinds, k) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownKind, k)
		}
		sel[k] = true
	}
	return sel, nil
}
