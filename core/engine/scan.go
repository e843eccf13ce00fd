package engine

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// scansKept is how many scans of one path are kept (older ones are pruned).
const scansKept = 100

// scanSchema is migration 5: every scan_thresholds run, for growth.
const scanSchema = `
CREATE TABLE threshold_scans (
	id          INTEGER PRIMARY KEY,
	path        TEXT NOT NULL,              -- the resolved directory (never shown)
	recursive   INTEGER NOT NULL,
	ts          TEXT NOT NULL,              -- tsLayout, UTC
	file_count  INTEGER NOT NULL,
	dir_count   INTEGER NOT NULL,
	max_depth   INTEGER NOT NULL,
	entropy     REAL NOT NULL,
	entries     INTEGER NOT NULL,
	complete    INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	session_id  TEXT NOT NULL DEFAULT '',
	principal   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX threshold_scans_path ON threshold_scans(path, recursive, complete, ts);
`

// scanLimits are the thresholds of one scan.
type scanLimits struct {
	MaxFiles   int     `json:"max_files"`
	MaxDepth   int     `json:"max_depth"`
	MaxEntropy float64 `json:"max_entropy"`
}

// thresholdEvent is one metric at or above 0.64 of its limit.
type thresholdEvent struct {
	Metric    string  `json:"metric"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Ratio     float64 `json:"ratio"`
	Severity  string  `json:"severity"`
	EventHash string  `json:"event_hash"`
}

// scanGrowth compares a scan with the previous complete scan of the path.
type scanGrowth struct {
	Since           string   `json:"since"`
	Hours           float64  `json:"hours"`
	FileCountDelta  int      `json:"file_count_delta"`
	MaxDepthDelta   int      `json:"max_depth_delta"`
	EntropyDelta    float64  `json:"entropy_delta"`
	FilesPerHour    *float64 `json:"files_per_hour"`
	PreviousScanned int      `json:"previous_file_count"`
}

// scanReport is scan_thresholds's result.
type scanReport struct {
	// Path is relative to the root it is in ("." for the root itself).
	Path      string           `json:"path"`
	RootIndex int              `json:"root_index"`
	Recursive bool             `json:"recursive"`
	Timestamp string           `json:"timestamp"`
	Metrics   scanMetrics      `json:"metrics"`
	Limits    scanLimits       `json:"limits"`
	Events    []thresholdEvent `json:"events"`
	Growth    *scanGrowth      `json:"growth"`
	Note      string           `json:"note,omitempty"`
}

func (e *Engine) scanThresholds(ctx context.Context, c *Call) (*Result, error) {
	return e.scan(ctx, c, defaultScanBounds)
}

func (e *Engine) scan(ctx context.Context, c *Call, b scanBounds) (*Result, error) {
	var in struct {
		Path      string `json:"path"`
		Recursive *bool  `json:"recursive"`
		Limits    struct {
			MaxFiles   *int     `json:"max_files"`
			MaxDepth   *int     `json:"max_depth"`
			MaxEntropy *float64 `json:"max_entropy"`
		} `json:"limits"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	recursive := in.Recursive == nil || *in.Recursive
	lim := scanLimits{MaxFiles: 100, MaxDepth: 10, MaxEntropy: 0.85}
	if in.Limits.MaxFiles != nil {
		lim.MaxFiles = *in.Limits.MaxFiles
	}
	if in.Limits.MaxDepth != nil {
		lim.MaxDepth = *in.Limits.MaxDepth
	}
	if in.Limits.MaxEntropy != nil {
		lim.MaxEntropy = *in.Limits.MaxEntropy
	}
	dir, rootIdx, rel, err := resolveScanDir(e.opts.Roots, in.Path)
	if err != nil {
		return nil, err
	}
	m, err := walkScan(ctx, dir, recursive, b, c.progress)
	if err != nil {
		return nil, err
	}
	now := e.now()
	rep := scanReport{Path: rel, RootIndex: rootIdx, Recursive: recursive, Timestamp: formatTS(now), Metrics: m, Limits: lim}
	rep.Events = thresholdEvents(m, lim, rep.Timestamp, rel)
	err = inTx(ctx, e.db, func(tx *sql.Tx) error {
		g, note, err := growthSince(ctx, tx, dir, recursive, m, now)
		if err != nil {
			return err
		}
		rep.Growth, rep.Note = g, note
		if _, err := tx.ExecContext(ctx, `INSERT INTO threshold_scans
			(path, recursive, ts, file_count, dir_count, max_depth, entropy, entries, complete, reason, session_id, principal)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			dir, recursive, rep.Timestamp, m.FileCount, m.DirCount, m.MaxDepth, m.Entropy, m.Entries, m.Complete, m.Reason,
			c.Caller.Session, c.Caller.Principal); err != nil {
			return internal("cannot store the scan", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM threshold_scans WHERE path = ? AND recursive = ? AND id NOT IN
			(SELECT id FROM threshold_scans WHERE path = ? AND recursive = ? ORDER BY ts DESC, id DESC LIMIT ?)`,
			dir, recursive, dir, recursive, scansKept); err != nil {
			return internal("cannot prune old scans", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if rep.Events == nil {
		rep.Events = []thresholdEvent{}
	}
	return &Result{Text: scanText(rep), Data: rep}, nil
}

// growthSince compares m with the last complete scan of the same path.
func growthSince(ctx context.Context, tx *sql.Tx, dir string, recursive bool, m scanMetrics, now time.Time) (*scanGrowth, string, error) {
	if !m.Complete {
		return nil, "growth is not computed from a partial scan", nil
	}
	var (
		ts           string
		files, depth int
		entropy      float64
	)
	err := tx.QueryRowContext(ctx, `SELECT ts, file_count, max_depth, entropy FROM threshold_scans
		WHERE path = ? AND recursive = ? AND complete = 1 ORDER BY ts DESC, id DESC LIMIT 1`, dir, recursive).
		Scan(&ts, &files, &depth, &entropy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, "first complete scan of this path: growth is reported from the next one", nil
	case err != nil:
		return nil, "", internal("cannot read earlier scans", err)
	}
	then, err := time.Parse(tsLayout, ts)
	if err != nil {
		return nil, "", internal("a stored scan has a bad timestamp", err)
	}
	hours := now.Sub(then).Hours()
	g := &scanGrowth{Since: ts, Hours: scanRound(hours), FileCountDelta: m.FileCount - files, MaxDepthDelta: m.MaxDepth - depth,
		EntropyDelta: scanRound(m.Entropy - entropy), PreviousScanned: files}
	if hours > 0 {
		r := scanRound(float64(g.FileCountDelta) / hours)
		g.FilesPerHour = &r
	}
	return g, "", nil
}

// scanRound rounds to three decimals.
func scanRound(f float64) float64 { return math.Round(f*1000) / 1000 }

// scanSeverity of ratio = value/limit.
func scanSeverity(ratio float64) string {
	switch {
	case ratio >= 1.5:
		return "EMERGENCY"
	case ratio >= 1.0:
		return "CRITICAL"
	case ratio >= 0.8:
		return "WARNING"
	case ratio >= 0.64:
		return "INFO"
	}
	return ""
}

func thresholdEvents(m scanMetrics, lim scanLimits, ts, rel string) []thresholdEvent {
	var out []thresholdEvent
	for _, x := range []struct {
		metric       string
		value, limit float64
	}{
		{"file_count", float64(m.FileCount), float64(lim.MaxFiles)},
		{"directory_depth", float64(m.MaxDepth), float64(lim.MaxDepth)},
		{"entropy", scanRound(m.Entropy), lim.MaxEntropy},
	} {
		ratio := x.value / x.limit
		sev := scanSeverity(ratio)
		if sev == "" {
			continue
		}
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s:%g:%g:%s:%s", x.metric, x.value, x.limit, ts, rel)))
		out = append(out, thresholdEvent{Metric: x.metric, Value: x.value, Threshold: x.limit, Ratio: scanRound(ratio),
			Severity: sev, EventHash: hex.EncodeToString(sum[:])[:16]})
	}
	return out
}

func scanText(r scanReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Scanned %s (root %d): %d files, %d directories, depth %d, name entropy %.3f",
		r.Path, r.RootIndex, r.Metrics.FileCount, r.Metrics.DirCount, r.Metrics.MaxDepth, r.Metrics.Entropy)
	if !r.Metrics.Complete {
		fmt.Fprintf(&b, " (INCOMPLETE: %s; the figures are lower bounds)", r.Metrics.Reason)
	}
	b.WriteString(".")
	if len(r.Events) == 0 {
		b.WriteString("\nNo threshold reached.")
	}
	for _, ev := range r.Events {
		fmt.Fprintf(&b, "\n[%s] %s: %g (threshold: %g)", ev.Severity, ev.Metric, ev.Value, ev.Threshold)
	}
	if g := r.Growth; g != nil {
		fmt.Fprintf(&b, "\nGrowth since %s (%.2f h): %+d files, %+d depth, %+.3f entropy", g.Since, g.Hours, g.FileCountDelta, g.MaxDepthDelta, g.EntropyDelta)
		if g.FilesPerHour != nil {
			fmt.Fprintf(&b, ", %.3f files per hour", *g.FilesPerHour)
		}
		b.WriteString(".")
	} else if r.Note != "" {
		b.WriteString("\n" + r.Note + ".")
	}
	return b.String()
}
