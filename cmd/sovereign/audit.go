package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-stack/sovereign/core/audit"
)

func newAuditCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify the tamper-evident audit log and prove records from it",
		Long: `The audit log (<data_dir>/audit, format in docs/audit-format.md) records every
decision of the gate as hash-chained, canonical JSON lines with signed checkpoints.

  sovereign audit verify                          check every log; exit 0 intact, 1 damaged
  sovereign audit verify --checkpoint copy.note   also prove nothing was cut off since
  sovereign audit prove --seq 1234 --out p.json   evidence that one record is in the log
  sovereign audit check-proof p.json --key k.vkey check such evidence, without the log
  sovereign audit rotate-key                      replace the signing key (logs record it)
  sovereign audit replay --policy-dir ./new       would another policy decide the records otherwise?`,
	}
	// One line per subcommand.
	cmd.AddCommand(newAuditVerifyCommand(g))
	cmd.AddCommand(newAuditProveCommand(g))
	cmd.AddCommand(newAuditCheckProofCommand(g))
	cmd.AddCommand(newAuditShowCommand(g))
	cmd.AddCommand(newAuditTailCommand(g))
	cmd.AddCommand(newAuditExportCommand(g))
	cmd.AddCommand(newAuditHashCommand(g))
	cmd.AddCommand(newAuditReplayCommand(g))
	cmd.AddCommand(newAuditRotateKeyCommand(g))
	return cmd
}

// auditDirFor returns dir, or the configured audit directory
// (audit.dir, default <data_dir>/audit).
func auditDirFor(g *globalFlags, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return "", err
	}
	return cfg.AuditDir(), nil
}

// unsignedRatio: verify allows this many checkpoint intervals of records
// without a checkpoint (the writer's batching and restarts need slack).
const unsignedRatio = 10

// verifierKeys reads --key files; nil when none was given.
func verifierKeys(files []string) (note.Verifiers, string, error) {
	if len(files) == 0 {
		return nil, "", nil
	}
	vs, err := audit.LoadVerifierKeys(files...)
	if err != nil {
		return nil, "", usageError{fmt.Errorf("--key: %w", err)}
	}
	return note.VerifierList(vs...), strings.Join(files, ", ") + " (given with --key)", nil
}

// usageArgs makes a wrong number of arguments a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// defaultStatePath is where --remember keeps the newest checkpoints:
// $XDG_STATE_HOME/sovereign/audit-verified.json (~/.local/state/…).
func defaultStatePath() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "sovereign", "audit-verified.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "sovereign", "audit-verified.json"), nil
}

func newAuditVerifyCommand(g *globalFlags) *cobra.Command {
	var (
		dir, state  string
		checkpoints []string
		keyFiles    []string
		remember    bool
		asJSON      bool
		maxUnsigned uint64
	)
	cmd := &cobra.Command{
		Use:   "verify [--dir D] [--checkpoint FILE]... [--remember] [--json] [--key FILE]",
		Short: "Check the audit logs: every line, link, checkpoint and segment",
		Long: `Verify reads every log under the audit directory (default: audit.dir of the
config, <data_dir>/audit) and
reports, per log, the first record that was modified, deleted, reordered,
duplicated or cut off, or how far integrity is proven.

Checkpoints inside the log shrink with it: cutting off the newest records is only
detected against a checkpoint kept outside, given with --checkpoint (a copy of
<log>/checkpoint taken earlier) or remembered from the last run with --remember.
The public key is read from <audit dir>/audit.vkey (with the retired keys
audit.vkey.retired-*, see 'audit rotate-key') unless --key names a copy kept
elsewhere (stronger: the one next to the log can be replaced with the log). A
verifier given only an old key learns a new one from the log's key_rotated
record, once a checkpoint signed by the old key and the new one covers it.

Exit status: 0 intact, 1 an integrity failure, 2 a usage error.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, cfgErr := loadConfig(g.configPath)
			if dir == "" {
				if cfgErr != nil {
					return cfgErr
				}
				dir = cfg.AuditDir()
			}
			if !cmd.Flags().Changed("max-unsigned") && cfgErr == nil {
				maxUnsigned = max(audit.DefaultMaxUnsigned, unsignedRatio*uint64(max(cfg.Audit.CheckpointEvery, 0)))
			}
			opts := audit.VerifyOptions{Dir: dir, MaxUnsigned: maxUnsigned}
			var err error
			if opts.Keys, opts.KeySource, err = verifierKeys(keyFiles); err != nil {
				return err
			}
			for _, f := range checkpoints {
				b, err := os.ReadFile(f)
				if err != nil {
					return usageError{fmt.Errorf("--checkpoint: %w", err)}
				}
				opts.Trusted = append(opts.Trusted, b)
				opts.TrustedNames = append(opts.TrustedNames, f)
			}
			if remember || state != "" {
				if state == "" {
					if state, err = defaultStatePath(); err != nil {
						return usageError{fmt.Errorf("--remember: %w", err)}
					}
				}
				opts.Remember = state
			}
			bar := newProgressBar(cmd.ErrOrStderr())
			if bar != nil {
				opts.Progress = bar.update
			}
			rep, err := audit.Verify(cmd.Context(), opts)
			bar.done()
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) || errors.Is(err, audit.ErrNoLogs) || errors.Is(err, audit.ErrBadTrusted) {
					return usageError{err}
				}
				if rep == nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "sovereign:", err) // the state was not saved; the report stands
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(out); err != nil {
				return err
			}
			if !rep.OK() {
				return silentError{code: exitFailure}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "audit directory or one log folder (default: audit.dir, <data_dir>/audit)")
	f.StringArrayVar(&checkpoints, "checkpoint", nil, "a checkpoint kept outside the log (a copy of <log>/checkpoint); repeatable")
	f.BoolVar(&remember, "remember", false, "check against the newest checkpoints of the last run and save this run's (rollback protection)")
	f.StringVar(&state, "state", "", "the file --remember uses (implies --remember; default $XDG_STATE_HOME/sovereign/audit-verified.json)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringArrayVar(&keyFiles, "key", nil, "public key file (note verifier keys, one a line; default <audit dir>/audit.vkey); repeatable")
	f.Uint64Var(&maxUnsigned, "max-unsigned", 0, fmt.Sprintf("records allowed without a checkpoint before UNSIGNED (default: %d times audit.checkpoint_every, at least %d)", unsignedRatio, audit.DefaultMaxUnsigned))
	return cmd
}

func newAuditProveCommand(g *globalFlags) *cobra.Command {
	var (
		dir, logName, out string
		keyFiles          []string
		seq               uint64
	)
	cmd := &cobra.Command{
		Use:   "prove --seq N [--log NAME] [--out FILE]",
		Short: "Write the evidence that one record is in the log (an inclusion proof)",
		Long: `Prove verifies the log, then writes an evidence bundle (JSON) for record N: the
record line, the newest checkpoint covering it (signed by the log's key) and the
RFC 6962 inclusion proof of the record in that checkpoint's tree. Anyone with the
public key checks it with 'sovereign audit check-proof', without the log.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seq") {
				return usageError{errors.New("--seq N is required")}
			}
			d, err := auditDirFor(g, dir)
			if err != nil {
				return err
			}
			folder, err := logFolder(d, logName)
			if err != nil {
				return err
			}
			keys, _, err := verifierKeys(keyFiles)
			if err != nil {
				return err
			}
			b, err := audit.Prove(cmd.Context(), folder, seq, keys)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(b, "", "  ")
			if err != nil {
				return err
			}
			data = append(data, '\n')
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "record %d of %s, proven in the checkpoint of size %d: %s\n", seq, filepath.Base(folder), b.TreeSize, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&seq, "seq", 0, "the record's seq")
	f.StringVar(&logName, "log", "", "the log folder (main, main-2, …); needed when there are several")
	f.StringVar(&dir, "dir", "", "audit directory (default <data_dir>/audit)")
	f.StringVarP(&out, "out", "o", "", "write the bundle to FILE (default stdout)")
	f.StringArrayVar(&keyFiles, "key", nil, "public key file (default <audit dir>/audit.vkey); repeatable")
	return cmd
}

// logFolder picks the log folder to prove from.
func logFolder(dir, name string) (string, error) {
	if name != "" {
		if strings.ContainsAny(name, `/\`) {
			return "", usageError{fmt.Errorf("--log %q is not a log folder name", name)}
		}
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err != nil || !info.IsDir() {
			return "", usageError{fmt.Errorf("no log %q in %s", name, dir)}
		}
		return p, nil
	}
	_, logs, err := audit.FindLogs(dir)
	if err != nil {
		return "", usageError{err}
	}
	switch len(logs) {
	case 0:
		return "", usageError{fmt.Errorf("%w: %s", audit.ErrNoLogs, dir)}
	case 1:
		return logs[0], nil
	}
	names := make([]string, len(logs))
	for i, l := range logs {
		names[i] = filepath.Base(l)
	}
	return "", usageError{fmt.Errorf("%s holds several logs (%s): name one with --log", dir, strings.Join(names, ", "))}
}

func newAuditCheckProofCommand(g *globalFlags) *cobra.Command {
	var (
		dir      string
		keyFiles []string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "check-proof FILE [--key FILE]",
		Short: "Check an evidence bundle written by 'audit prove', offline",
		Long: `Check-proof verifies an evidence bundle without the log: the checkpoint's
signature by the public key, the record, and its inclusion proof. Give the public
key with --key (default <audit dir>/audit.vkey). Exit status: 0 the bundle proves
the record, 1 it does not, 2 a usage error.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			keys, _, err := verifierKeys(keyFiles)
			if err != nil {
				return err
			}
			if keys == nil {
				d, err := auditDirFor(g, dir)
				if err != nil {
					return err
				}
				vs, err := audit.DefaultVerifierKeys(d)
				if err != nil {
					return usageError{err}
				}
				keys = note.VerifierList(vs...)
			}
			res, err := audit.CheckBundle(data, keys)
			if err != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "INVALID: %v\n", err)
				return silentError{code: exitFailure}
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "OK: record %d (%s, %s) is in log %s: included in the checkpoint of size %d signed by %s\n",
				res.Seq, res.Kind, res.Time, res.Origin, res.TreeSize, res.Signer)
			return err
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&keyFiles, "key", nil, "public key file (note verifier keys, one a line); repeatable")
	f.StringVar(&dir, "dir", "", "audit directory whose audit.vkey to use when --key is not given (default <data_dir>/audit)")
	f.BoolVar(&asJSON, "json", false, "print what the bundle proves as JSON")
	return cmd
}

// progressBar draws verify's progress on stderr when it is a terminal.
type progressBar struct {
	w     io.Writer
	last  time.Time
	start time.Time
	drawn bool
}

// newProgressBar returns nil unless stderr is a terminal.
func newProgressBar(w io.Writer) *progressBar {
	info, err := os.Stderr.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 || w != io.Writer(os.Stderr) {
		return nil
	}
	return &progressBar{w: w, start: time.Now()}
}

func (b *progressBar) update(p audit.Progress) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	const width = 30
	frac := 0.0
	if p.TotalBytes > 0 {
		frac = min(float64(p.Bytes)/float64(p.TotalBytes), 1)
	}
	filled := int(frac * width)
	rate := float64(p.Records) / max(now.Sub(b.start).Seconds(), 0.001)
	fmt.Fprintf(b.w, "\r\033[Kverifying %s [%s%s] %3.0f%%  %s records  %s records/s",
		p.Log, strings.Repeat("#", filled), strings.Repeat("-", width-filled), frac*100,
		strconv.FormatUint(p.Records, 10), strconv.FormatFloat(rate, 'f', 0, 64))
	b.drawn = true
}

// done clears the bar.
func (b *progressBar) done() {
	if b != nil && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
