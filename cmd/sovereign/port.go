package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/engine"
)

// openPortEngine opens the built-in engine on the configured data_dir for
// import and export (whether or not serve enables it).
func openPortEngine(ctx context.Context, g *globalFlags) (*engine.Engine, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(ctx, engine.Options{DataDir: cfg.DataDir, Version: buildVersion(), Logger: hclog.NewNullLogger()})
	if err != nil {
		return nil, fmt.Errorf("built-in engine: %w", err)
	}
	return e, nil
}

func newImportCommand(g *globalFlags) *cobra.Command {
	var (
		from, zone     string
		dryRun, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "import --from DIR|FILE",
		Short: "Import a Sovereign Stack (Python) data directory, or a file written by sovereign export",
		Long: `Import reads an existing data directory of the original Sovereign Stack (Python; its
~/.sovereign) into the built-in engine's database under data_dir, or a JSONL file
written by 'sovereign export'. It reports, per kind of record, what it read, imported,
found already present and skipped (with file:line and the reason), and which parts of
the directory it does not import, and why. DIR is only read, never written.

Timestamps without a zone (the original's handoffs, threads, learnings…) are read as
local time of --timezone (default: this machine's zone). Importing twice imports
nothing new. Exit status: 0 when the import ran (skips are reported, not failures),
1 when nothing could be read or a file could not be stored, 2 on a usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return usageError{errors.New("--from DIR|FILE is required")}
			}
			fi, err := os.Stat(from)
			if err != nil {
				return usageError{fmt.Errorf("--from: %w", err)}
			}
			if !fi.IsDir() && !fi.Mode().IsRegular() {
				return usageError{fmt.Errorf("--from %s: %w", from, engine.ErrImportSource)}
			}
			loc := time.Local
			if zone != "" {
				if loc, err = time.LoadLocation(zone); err != nil {
					return usageError{fmt.Errorf("--timezone: %w", err)}
				}
			}
			e, err := openPortEngine(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer e.Close()
			rep, err := e.Import(cmd.Context(), from, engine.ImportOptions{Location: loc, DryRun: dryRun})
			if rep != nil {
				if werr := writeImportReport(cmd.OutOrStdout(), rep, asJSON); werr != nil && err == nil {
					err = werr
				}
			}
			switch {
			case err != nil:
				return fmt.Errorf("import: %w", err)
			case len(rep.Failed) > 0:
				return fmt.Errorf("import: %d file(s) could not be stored (rolled back; see the report)", len(rep.Failed))
			case rep.Totals().Read == 0:
				return fmt.Errorf("import: nothing could be read from %s", from)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "the data directory of the original (e.g. ~/.sovereign), or a JSONL file of sovereign export")
	f.BoolVar(&dryRun, "dry-run", false, "do everything but store: report what would be imported")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&zone, "timezone", "", "IANA zone of the original's timestamps without a zone (default: the local zone)")
	return cmd
}

func writeImportReport(w io.Writer, rep *engine.ImportReport, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func newExportCommand(g *globalFlags) *cobra.Command {
	var out, kinds string
	cmd := &cobra.Command{
		Use:   "export [--out FILE] [--kinds k1,k2]",
		Short: "Write the built-in engine's records as JSONL",
		Long: `Export writes the built-in engine's records (under data_dir) as JSONL, one object per
line with its "kind" first: ` + strings.Join(engine.PortKinds, ", ") + `.
To stdout by default, or atomically to --out FILE. 'sovereign import --from FILE'
reads it back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sel []string
			if kinds != "" {
				sel = strings.Split(kinds, ",")
				for _, k := range sel {
					if !containsKind(strings.TrimSpace(k)) {
						return usageError{fmt.Errorf("--kinds: %w: %q", engine.ErrUnknownKind, k)}
					}
				}
			}
			e, err := openPortEngine(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer e.Close()
			var rep *engine.ExportReport
			if out == "" {
				rep, err = e.Export(cmd.Context(), cmd.OutOrStdout(), engine.ExportOptions{Kinds: sel})
			} else {
				err = writeFileAtomic(out, func(w io.Writer) error {
					var err error
					rep, err = e.Export(cmd.Context(), w, engine.ExportOptions{Kinds: sel})
					return err
				})
			}
			if err != nil {
				return err
			}
			dest := "stdout"
			if out != "" {
				dest = out
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d records (%d bytes) to %s\n", rep.Lines, rep.Bytes, dest)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write to FILE (atomically) instead of stdout")
	cmd.Flags().StringVar(&kinds, "kinds", "", "only these kinds, comma-separated")
	return cmd
}

func containsKind(k string) bool {
	for _, v := range engine.PortKinds {
		if v == k {
			return true
		}
	}
	return false
}

// writeFileAtomic writes path through a temporary file in its directory,
// renamed over it once complete: path is either untouched or whole.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("export: %w", err)
	}
	done = true
	return nil
}
