package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// The commands that read the audit log for people: show, tail, export and
// hash. Filters (auditfilter.go) and outputs (this file and auditocsf.go)
// are shared.

// readFlags are the flags of every reading command: which logs, which
// records.
type readFlags struct {
	dir, log string
	filter   filterFlags
}

func (f *readFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "dir", "", "audit directory, or one log folder (default: audit.dir, <data_dir>/audit)")
	fl.StringVar(&f.log, "log", "", "read only this log folder (main, main-2, …); default: every log, merged by time")
	f.filter.register(cmd)
}

// logs resolves the log folders to read. With follow, an audit directory
// that holds no log yet is not an error.
func (f *readFlags) logs(g *globalFlags, follow bool) (auditDir string, folders []string, err error) {
	dir, err := auditDirFor(g, f.dir)
	if err != nil {
		return "", nil, err
	}
	if f.log != "" {
		p, err := logFolder(dir, f.log)
		if err != nil {
			return "", nil, err
		}
		return dir, []string{p}, nil
	}
	auditDir, folders, err = audit.FindLogs(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, usageError{fmt.Errorf("no audit directory %s", dir)}
		}
		return "", nil, usageError{err}
	}
	if len(folders) == 0 && !follow {
		return "", nil, usageError{fmt.Errorf("%w: %s", audit.ErrNoLogs, dir)}
	}
	return auditDir, folders, nil
}

// recordScan is what audit show, export and replay read: the records of
// every selected log in time order, with the filter's verdict on each.
type recordScan struct {
	filter   *recordFilter
	folders  []string
	warnings *readWarnings
	readers  []*audit.LogReader
	merged   *mergedReader
}

// openScan builds the filter, finds the log folders and opens them at the
// filter's start time, or at their beginning with fromStart. The caller
// closes the scan.
func (f *readFlags) openScan(g *globalFlags, stderr io.Writer, fromStart bool) (*recordScan, error) {
	filter, err := f.filter.build(time.Now())
	if err != nil {
		return nil, err
	}
	_, folders, err := f.logs(g, false)
	if err != nil {
		return nil, err
	}
	since := filter.since
	if fromStart {
		since = time.Time{}
	}
	readers, err := openReaders(folders, since)
	if err != nil {
		return nil, err
	}
	warnings := &readWarnings{w: stderr}
	return &recordScan{filter: filter, folders: folders, warnings: warnings, readers: readers,
		merged: newMergedReader(readers, warnings.warn)}, nil
}

// next returns the next record and whether the filter keeps it; io.EOF
// after the last.
func (s *recordScan) next() (*audit.Record, bool, error) {
	rec, err := s.merged.next()
	if err != nil {
		return nil, false, err
	}
	return rec, s.filter.match(rec), nil
}

func (s *recordScan) close() { closeReaders(s.readers) }

// openReaders opens a reader per log folder, each positioned at since when
// it is set.
func openReaders(folders []string, since time.Time) ([]*audit.LogReader, error) {
	out := make([]*audit.LogReader, 0, len(folders))
	for _, p := range folders {
		r, err := audit.OpenLogReader(p)
		if err != nil {
			closeReaders(out)
			return nil, err
		}
		if !since.IsZero() {
			if err := r.SeekTime(since); err != nil {
				closeReaders(append(out, r))
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func closeReaders(rs []*audit.LogReader) {
	for _, r := range rs {
		r.Close()
	}
}

// readWarnings reports lines that are not records (on stderr) and
// remembers that there were some.
type readWarnings struct {
	w     io.Writer
	count int
}

func (rw *readWarnings) warn(err error) {
	rw.count++
	switch {
	case errors.Is(err, audit.ErrCutBack):
		fmt.Fprintf(rw.w, "sovereign: warning: %v: a write failed and was rolled back; records shown from its end on were never durable and will be written again\n", err)
	default:
		fmt.Fprintf(rw.w, "sovereign: warning: %v (run 'sovereign audit verify')\n", err)
	}
}

// failed is the exit status after reading: 1 when some lines were not
// records.
func (rw *readWarnings) failed() error {
	if rw.count > 0 {
		return silentError{code: exitFailure}
	}
	return nil
}

// mergedReader yields the records of several logs in time order (a log's
// own records stay in seq order).
type mergedReader struct {
	readers []*audit.LogReader
	heads   []*audit.Record
	done    []bool
	warn    func(error)
}

func newMergedReader(rs []*audit.LogReader, warn func(error)) *mergedReader {
	return &mergedReader{readers: rs, heads: make([]*audit.Record, len(rs)), done: make([]bool, len(rs)), warn: warn}
}

// fill reads reader i's next record into heads[i].
func (m *mergedReader) fill(i int) error {
	for {
		rec, err := m.readers[i].Next()
		var re *audit.ReadError
		switch {
		case err == nil:
			m.heads[i] = rec
			return nil
		case errors.Is(err, io.EOF):
			m.done[i] = true
			return nil
		case errors.As(err, &re):
			m.warn(err)
		default:
			return err
		}
	}
}

// next returns the earliest record of all logs, or io.EOF.
func (m *mergedReader) next() (*audit.Record, error) {
	best := -1
	for i := range m.readers {
		if m.heads[i] == nil && !m.done[i] {
			if err := m.fill(i); err != nil {
				return nil, err
			}
		}
		if h := m.heads[i]; h != nil && (best < 0 || h.Time.Before(m.heads[best].Time)) {
			best = i
		}
	}
	if best < 0 {
		return nil, io.EOF
	}
	rec := m.heads[best]
	m.heads[best] = nil
	return rec, nil
}

// recordPrinter writes records in one output format.
type recordPrinter interface {
	print(rec *audit.Record) error
	flush() error
}

// jsonlPrinter writes the lines as stored.
type jsonlPrinter struct{ w *bufio.Writer }

func (p *jsonlPrinter) print(rec *audit.Record) error {
	p.w.Write(rec.Line)
	return p.w.WriteByte('\n')
}

func (p *jsonlPrinter) flush() error { return p.w.Flush() }

func newAuditShowCommand(g *globalFlags) *cobra.Command {
	var (
		rf     readFlags
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "show [--since T] [--until T] [--kind K] [--decision allow|deny] [--tool GLOB] [--rule ID] [--json] [--limit N]",
		Short: "Show the records of the audit log, filtered, as a table or JSON lines",
		Long: `Show prints the records of the audit log (every log of the audit directory,
merged by time, or the one --log names) that pass the filters: a table, or with
--json the records exactly as stored, one a line. Show checks nothing: whether
the log is intact is 'sovereign audit verify''s question.

Times (--since, --until) are RFC 3339 ("2026-11-27T09:00:00Z"), a date
("2026-11-27", local time) or a duration ago ("90m", "1h", "7d").

Filters on what a decision is about (--decision, --tool, --principal,
--session, --rule) also keep the outcome records of the decisions they keep.

  sovereign audit show --since 1h --decision deny
  sovereign audit show --rule 'SEC-*' --json
  sovereign audit show --tool 'fs__write_*' --principal alice`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			scan, err := rf.openScan(g, cmd.ErrOrStderr(), false)
			if err != nil {
				return err
			}
			defer scan.close()
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			var p recordPrinter = &jsonlPrinter{w: w}
			if !asJSON {
				p = newTablePrinter(w, len(scan.folders) > 1)
			}
			for n := 0; limit <= 0 || n < limit; {
				rec, keep, err := scan.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					p.flush()
					return err
				}
				if !keep {
					continue
				}
				if err := p.print(rec); err != nil {
					return err
				}
				n++
			}
			if err := p.flush(); err != nil {
				return err
			}
			return scan.warnings.failed()
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as stored (JSON lines) instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most N records (0: all)")
	return cmd
}

func newAuditTailCommand(g *globalFlags) *cobra.Command {
	var (
		rf     readFlags
		asJSON bool
		follow bool
		n      int
	)
	cmd := &cobra.Command{
		Use:   "tail [-f] [-n N] [filters] [--json]",
		Short: "Show the newest records of the audit log, and with -f the ones appended since",
		Long: `Tail prints the last N records (default 10) that pass the filters (the
filters of 'sovereign audit show'). With -f it then keeps printing the records as
they are appended, following the log into its next segments and picking up logs
that other proxy processes start, until interrupted.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 0 {
				return usageError{errors.New("-n must not be negative")}
			}
			filter, err := rf.filter.build(time.Now())
			if err != nil {
				return err
			}
			auditDir, folders, err := rf.logs(g, follow)
			if err != nil {
				return err
			}
			warnings := &readWarnings{w: cmd.ErrOrStderr()}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			var p recordPrinter = &jsonlPrinter{w: w}
			if !asJSON {
				p = newTablePrinter(w, len(folders) > 1 || (follow && rf.log == ""))
			}
			var last []*audit.Record
			followers := make(map[string]*audit.LogReader, len(folders))
			defer func() {
				for _, r := range followers {
					r.Close()
				}
			}()
			for _, folder := range folders {
				recs, r, err := tailLog(folder, n, filter, warnings.warn)
				if err != nil {
					return err
				}
				followers[folder] = r
				last = append(last, recs...)
			}
			slices.SortStableFunc(last, func(a, b *audit.Record) int { return a.Time.Compare(b.Time) })
			if len(last) > n {
				last = last[len(last)-n:]
			}
			for _, rec := range last {
				if err := p.print(rec); err != nil {
					return err
				}
			}
			if err := p.flush(); err != nil {
				return err
			}
			if !follow {
				return warnings.failed()
			}
			fw := &follower{auditDir: auditDir, all: rf.log == "", readers: followers, filter: filter, warn: warnings.warn, out: p}
			return fw.run(cmd.Context().Done())
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the records as stored (JSON lines) instead of a table")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing records as they are appended")
	cmd.Flags().IntVarP(&n, "lines", "n", 10, "print the last N records")
	return cmd
}

// tailLog returns the last n records of one log that pass the filter, and a
// reader positioned after the log's last complete line (to follow it). It
// reads the segments from the newest back, only as far as it needs to.
func tailLog(folder string, n int, filter *recordFilter, warn func(error)) ([]*audit.Record, *audit.LogReader, error) {
	r, err := audit.OpenLogReader(folder)
	if err != nil {
		return nil, nil, err
	}
	segs := r.Segments()
	if len(segs) == 0 {
		return nil, r, nil
	}
	if err := r.SeekSegment(segs[len(segs)-1]); err != nil {
		r.Close()
		return nil, nil, err
	}
	out, first, err := lastOf(r, "", n, filter, warn)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	// Older segments, newest first, until there are n records or the
	// records are older than --since. (An outcome whose decision is in the
	// segment before is missed by the decision filters: a rare edge.)
	for i := len(segs) - 2; i >= 0 && len(out) < n; i-- {
		if !filter.since.IsZero() && first != nil && first.Time.Before(filter.since) {
			break
		}
		older, err := audit.OpenLogReader(folder)
		if err != nil {
			r.Close()
			return nil, nil, err
		}
		var recs []*audit.Record
		if err = older.SeekSegment(segs[i]); err == nil {
			recs, first, err = lastOf(older, segs[i], n-len(out), filter, warn)
		}
		older.Close()
		if err != nil {
			r.Close()
			return nil, nil, err
		}
		out = append(recs, out...)
	}
	return out, r, nil
}

// lastOf reads r to its end (or, when segment is set, to the end of that
// segment) and returns the last n records that pass the filter, and the
// first record read.
func lastOf(r *audit.LogReader, segment string, n int, filter *recordFilter, warn func(error)) (out []*audit.Record, first *audit.Record, err error) {
	for {
		rec, err := r.Next()
		var re *audit.ReadError
		switch {
		case errors.Is(err, io.EOF):
			return out, first, nil
		case errors.As(err, &re):
			warn(err)
			continue
		case err != nil:
			return nil, nil, err
		}
		if segment != "" && rec.Segment != segment {
			return out, first, nil
		}
		if first == nil {
			first = rec
		}
		// match runs on every record: it remembers the decisions it kept.
		if filter.match(rec) && n > 0 {
			if len(out) == n {
				out = append(out[:0], out[1:]...)
			}
			out = append(out, rec)
		}
	}
}

// followPoll is how often tail -f looks for new records.
const followPoll = 200 * time.Millisecond

// follower prints the records appended to the logs (tail -f).
type follower struct {
	auditDir string
	all      bool // follow every log, including the ones started later
	readers  map[string]*audit.LogReader
	filter   *recordFilter
	warn     func(error)
	out      recordPrinter
}

// run polls until done is closed.
func (f *follower) run(done <-chan struct{}) error {
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for polls := 0; ; polls++ {
		if f.all && polls%5 == 0 {
			if err := f.findLogs(); err != nil {
				return err
			}
		}
		var batch []*audit.Record
		for _, r := range f.readers {
			for {
				rec, err := r.Next()
				var re *audit.ReadError
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.As(err, &re) {
					f.warn(err)
					continue
				}
				if err != nil {
					return err
				}
				if f.filter.match(rec) {
					batch = append(batch, rec)
				}
			}
		}
		slices.SortStableFunc(batch, func(a, b *audit.Record) int { return a.Time.Compare(b.Time) })
		for _, rec := range batch {
			if err := f.out.print(rec); err != nil {
				return err
			}
		}
		if err := f.out.flush(); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-tick.C:
		}
	}
}

// findLogs starts following the log folders that appeared.
func (f *follower) findLogs() error {
	if f.auditDir == "" {
		return nil
	}
	_, folders, err := audit.FindLogs(f.auditDir)
	if err != nil {
		return nil // the directory may not exist yet
	}
	for _, p := range folders {
		if _, ok := f.readers[p]; ok {
			continue
		}
		r, err := audit.OpenLogReader(p)
		if err != nil {
			return err
		}
		f.readers[p] = r
	}
	return nil
}

func newAuditExportCommand(g *globalFlags) *cobra.Command {
	var (
		rf          readFlags
		format, out string
	)
	cmd := &cobra.Command{
		Use:   "export --format jsonl|ocsf [filters] [--out FILE]",
		Short: "Export records for another system: as stored (jsonl) or as OCSF API Activity events",
		Long: `Export writes the records that pass the filters (those of 'sovereign audit show')
to FILE or stdout, one JSON object a line:

  jsonl  the records exactly as stored (they still verify as lines of the log)
  ocsf   OCSF 1.3 "API Activity" events (class_uid 6003), for a SIEM; the mapping
         is in docs/audit-format.md, section Export`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" && format != "ocsf" {
				return usageError{fmt.Errorf("--format %q: want jsonl or ocsf", format)}
			}
			// OCSF needs each log's log_opened (the version): read from the
			// start then.
			scan, err := rf.openScan(g, cmd.ErrOrStderr(), format == "ocsf")
			if err != nil {
				return err
			}
			defer scan.close()
			dst := cmd.OutOrStdout()
			var file *os.File
			if out != "" && out != "-" {
				if file, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return err
				}
				defer file.Close()
				dst = file
			}
			w := bufio.NewWriterSize(dst, 256<<10)
			var p recordPrinter = &jsonlPrinter{w: w}
			var mapper *ocsfMapper
			if format == "ocsf" {
				mapper = newOCSFMapper()
				p = &ocsfPrinter{w: w, m: mapper}
			}
			count := 0
			for {
				rec, keep, err := scan.next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return err
				}
				if mapper != nil {
					mapper.observe(rec)
				}
				if !keep {
					continue
				}
				if err := p.print(rec); err != nil {
					return err
				}
				count++
			}
			if err := p.flush(); err != nil {
				return err
			}
			if file != nil {
				if err := file.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d records exported to %s (%s)\n", count, out, format)
			}
			return scan.warnings.failed()
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl (the records as stored) or ocsf (OCSF API Activity events)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to FILE (default stdout)")
	return cmd
}

// maxHashValue bounds a value read from stdin by audit hash.
const maxHashValue = 16 << 20

func newAuditHashCommand(g *globalFlags) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "hash VALUE",
		Short: "Print the keyed digest of a value, to find it in args_redacted",
		Long: `Hash prints "hmac-sha256:" and the HMAC-SHA256 of VALUE keyed by the log's HMAC
key (audit.keys_dir/audit-hmac.key, default <data_dir>/keys; or --key-file):
the digest a record's args_redacted holds wherever the arguments held VALUE.
Numbers and booleans are hashed as their JSON text ("42", "true"), so
'hash 42' finds the number 42 as well as the string "42".

VALUE "-" reads the value from stdin (one trailing newline is dropped), which
keeps a secret out of the shell history and the process list.

  sovereign audit show --json | grep "$(sovereign audit hash /home/alice/.ssh/id_rsa)"`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				cfg, err := loadConfig(g.configPath)
				if err != nil {
					return err
				}
				keyFile = filepath.Join(cfg.AuditKeysDir(), audit.HMACKeyFile)
			}
			key, err := readHMACKey(keyFile)
			if err != nil {
				return usageError{err}
			}
			value := args[0]
			if value == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxHashValue+1))
				if err != nil {
					return err
				}
				if len(b) > maxHashValue {
					return usageError{fmt.Errorf("the value on stdin is longer than %d bytes", maxHashValue)}
				}
				value = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), audit.HashValue(key, value))
			return err
		},
	}
	cmd.Flags().StringVar(&keyFile, "key-file", "", "the HMAC key file (default <audit.keys_dir>/audit-hmac.key)")
	return cmd
}

// readHMACKey reads an HMAC key file: hex, at least 16 bytes.
func readHMACKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no audit HMAC key at %s (it is created when the proxy first starts; see audit.keys_dir, or give --key-file)", path)
		}
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("%s is not an audit HMAC key (16 or more hex-encoded bytes)", path)
	}
	return key, nil
}
