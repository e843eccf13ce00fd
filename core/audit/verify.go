package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Limits of the verifier.
const (
	// DefaultMaxLine is the longest line Verify reads; a longer one is
	// MODIFIED (the writer's records are far smaller).
	DefaultMaxLine = 16 << 20
	// DefaultMaxUnsigned is how many records may follow one another without
	// a checkpoint record before Verify reports UNSIGNED. The writer signs
	// at least every 1,000 records; the slack absorbs batching and restarts.
	// A log rewritten by someone without the key has no valid checkpoint
	// left after the first change, so this bounds what such a rewrite can
	// hide to the newest records, which only an outside checkpoint covers.
	DefaultMaxUnsigned = 10_000
)

// ErrBadTrusted is returned by Verify for a trusted checkpoint that is not
// a signed checkpoint note at all: an error of the caller, not a problem of
// the log.
var ErrBadTrusted = errors.New("not a signed checkpoint")

// VerifyOptions says what Verify checks.
type VerifyOptions struct {
	// Dir is an audit directory (log folders below it) or one log folder.
	Dir string
	// Keys verify checkpoint signatures. Nil: the keys in audit.vkey of
	// the audit directory (which sits next to the log: a copy kept
	// elsewhere is stronger).
	Keys note.Verifiers
	// KeySource describes Keys for the report when they are given.
	KeySource string
	// Trusted are checkpoint notes kept outside the log (verify
	// --checkpoint); TrustedNames, when set, names each for the report.
	Trusted      [][]byte
	TrustedNames []string
	// Progress, when set, is called as records are read.
	Progress func(Progress)
	// Remember is the path of a state file holding the newest checkpoint
	// seen of each log: it is checked like a trusted checkpoint (so a log
	// rolled back since the last run is TRUNCATED or FORK) and updated
	// with the newest checkpoint of every log that verified. "": off.
	Remember string
	// MaxLine and MaxUnsigned override DefaultMaxLine and
	// DefaultMaxUnsigned when not zero.
	MaxLine     int
	MaxUnsigned uint64
}

// Progress is what Verify has read so far.
type Progress struct {
	Log        string // the log folder being read
	Records    uint64 // records read, all logs
	Bytes      int64  // bytes read, all logs
	TotalBytes int64  // bytes in all segments
}

// Verify checks every log under opts.Dir as docs/audit-format.md
// ("Verification") says, and reports per log the first problem or how far
// integrity is proven. It reads each segment once, with O(log n) memory.
// The error is for what keeps it from verifying (an unreadable directory
// or key, a trusted checkpoint that is not a signed note); damage is in the
// report.
func Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	auditDir, logPaths, err := FindLogs(opts.Dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Dir: opts.Dir, Time: time.Now().UTC()}
	if abs, err := filepath.Abs(opts.Dir); err == nil {
		rep.Dir = abs
	}
	keys := opts.Keys
	rep.KeySource = opts.KeySource
	if keys == nil {
		vs, err := DefaultVerifierKeys(auditDir)
		if err != nil {
			return nil, err
		}
		keys = note.VerifierList(vs...)
		retired := ""
		if files, err := RetiredPublicKeyFiles(auditDir); err == nil && len(files) > 0 {
			retired = fmt.Sprintf(" and %d retired key(s) %s*", len(files), PublicKeyFile+RetiredSuffix)
		}
		rep.KeySource = fmt.Sprintf("%s%s (in the audit directory: a copy kept elsewhere, given with --key, is stronger)", filepath.Join(auditDir, PublicKeyFile), retired)
	} else if rep.KeySource == "" {
		rep.KeySource = "given by the caller"
	}
	var trusted []*trustedCP
	for i, msg := range opts.Trusted {
		name := fmt.Sprintf("#%d", i+1)
		if i < len(opts.TrustedNames) && opts.TrustedNames[i] != "" {
			name = opts.TrustedNames[i]
		}
		t, err := openTrusted(msg, keys, "the checkpoint you supplied ("+name+")", true)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w", name, err)
		}
		trusted = append(trusted, t)
	}
	var state *rememberFile
	if opts.Remember != "" {
		if state, err = loadRemembered(opts.Remember); err != nil {
			return nil, err
		}
		for _, origin := range slices.Sorted(maps.Keys(state.Logs)) {
			e := state.Logs[origin]
			if !inScope(e.Folder, auditDir, logPaths, opts.Dir) {
				continue
			}
			t, err := openTrusted([]byte(e.Checkpoint), keys,
				fmt.Sprintf("the checkpoint remembered from the verification of %s", e.Saved.Format("2006-01-02 15:04:05Z")), true)
			if err != nil {
				return nil, fmt.Errorf("remembered checkpoint of %s in %s: %w", origin, opts.Remember, err)
			}
			t.folder = e.Folder
			t.hint = fmt.Sprintf(" (if that was intended, delete its entry %q from %s)", origin, opts.Remember)
			if t.sig != nil {
				t.sig.Detail += t.hint
			}
			trusted = append(trusted, t)
		}
	}
	if len(logPaths) == 0 && len(trusted) == 0 {
		return nil, fmt.Errorf("%w: %s holds no log folder (a folder of segments named like %s)", ErrNoLogs, rep.Dir, SegmentName(0))
	}

	var total int64
	folders := make([]*logOnDisk, 0, len(logPaths))
	for _, p := range logPaths {
		lf, err := readLogFolder(p)
		if err != nil {
			return nil, err
		}
		folders = append(folders, lf)
		total += lf.bytes
	}
	prog := &progressState{fn: opts.Progress, total: total}
	for _, lf := range folders {
		s := newLogScan(ctx, &opts, keys, lf, trusted, prog)
		if err := s.run(); err != nil {
			return nil, err
		}
		rep.Logs = append(rep.Logs, s.rep)
		rep.Checkpoints = append(rep.Checkpoints, s.fileResult...)
	}
	for _, t := range trusted {
		if !t.matched {
			t.res.Status = string(Truncated)
			what := "no log here has origin " + t.res.Origin
			if t.folder != "" {
				what = fmt.Sprintf("the log folder %s no longer holds the log %s", t.folder, t.res.Origin)
			}
			t.res.Problem = &Problem{Category: Truncated, Seq: 0, Detail: fmt.Sprintf("%s: the %s records it covers are gone (the log was deleted, or re-created with a new origin)%s", what, groupDigits(t.res.Size), t.hint)}
			if t.sig != nil {
				t.res.Status, t.res.Problem = string(t.sig.Category), t.sig
			}
		}
		rep.Checkpoints = append(rep.Checkpoints, t.res)
	}
	rep.Intact = rep.OK()
	if state != nil {
		changed := false
		for _, l := range rep.Logs {
			if l.Problem != nil || l.Newest == nil || l.Origin == "" {
				continue
			}
			state.Logs[l.Origin] = &rememberedLog{Folder: l.Folder, Size: l.Newest.Size, Checkpoint: l.Newest.Note, Saved: rep.Time}
			changed = true
		}
		if changed {
			if err := state.save(opts.Remember); err != nil {
				return rep, err
			}
			rep.Remembered = opts.Remember
		}
	}
	return rep, nil
}

// inScope reports whether a remembered log folder is one this run covers.
func inScope(folder, auditDir string, logs []string, dir string) bool {
	if slices.Contains(logs, folder) {
		return true
	}
	abs, _ := filepath.Abs(dir)
	// Verifying a whole audit directory: a remembered folder of it that is
	// gone is in scope (its log was deleted).
	return abs == auditDir && filepath.Dir(folder) == auditDir
}

type progressState struct {
	fn      func(Progress)
	total   int64
	records uint64
	bytes   int64
}
