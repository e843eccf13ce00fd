package policy

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions configure RunTests.
type TestOptions struct {
	Builtin   fs.FS    // the embedded library; nil to test Paths alone
	Paths     []string // user policy directories or files (tests included)
	DataFiles []string
	Verbose   bool
	Coverage  bool
	Out       io.Writer
}

// TestSummary counts test results.
type TestSummary struct {
	Passed, Failed, Errored, Skipped int
	Coverage                         float64 // percent, when asked for
}

// RunTests runs the Rego tests of the library and the user's policies the
// way `opa test` does, writing opa-test-style output to Out.
func RunTests(ctx context.Context, opts TestOptions) (TestSummary, error) {
	var sum TestSummary
	dirs := append([]string(nil), opts.Paths...)
	builtinDir := ""
	if opts.Builtin != nil {
		tmp, err := os.MkdirTemp("", "sovereign-policy-test-")
		if err != nil {
			return sum, err
		}
		defer os.RemoveAll(tmp)
		if err := os.CopyFS(filepath.Join(tmp, "builtin"), opts.Builtin); err != nil {
			return sum, fmt.Errorf("materialise the embedded library: %w", err)
		}
		builtinDir = filepath.Join(tmp, "builtin")
		dirs = append([]string{builtinDir}, dirs...)
	}
	mods, store, err := tester.LoadWithParserOptions(append(dirs, opts.DataFiles...), nil,
		ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return sum, err
	}
	defer store.Abort(ctx, txn)
	runner := tester.NewRunner().SetStore(store).SetModules(mods).SetDefaultRegoVersion(ast.RegoV1).RaiseBuiltinErrors(true)
	var cov *cover.Cover
	if opts.Coverage {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	results := make(chan *tester.Result)
	go func() {
		defer close(results)
		for r := range ch {
			switch {
			case r.Skip:
				sum.Skipped++
			case r.Error != nil:
				sum.Errored++
			case r.Fail:
				sum.Failed++
			default:
				sum.Passed++
			}
			results <- r
		}
	}()
	if err := (tester.PrettyReporter{Output: opts.Out, Verbose: opts.Verbose, FailureLine: true}).Report(results); err != nil {
		return sum, err
	}
	if cov != nil {
		report := cov.Report(mods)
		sum.Coverage = report.Coverage
		writeCoverage(opts.Out, report, builtinDir)
	}
	return sum, nil
}

// writeCoverage prints coverage per file; files of the embedded library are
// named "builtin:<file>".
func writeCoverage(w io.Writer, r cover.Report, builtinDir string) {
	files := make([]string, 0, len(r.Files))
	for f := range r.Files {
		files = append(files, f)
	}
	sort.Strings(files)
	fmt.Fprintln(w, "coverage:")
	for _, f := range files {
		name := f
		if rel, err := filepath.Rel(builtinDir, f); builtinDir != "" && err == nil && !strings.HasPrefix(rel, "..") {
			name = "builtin:" + rel
		}
		fmt.Fprintf(w, "  %6.2f%%  %s\n", r.Files[f].Coverage, name)
	}
	fmt.Fprintf(w, "  %6.2f%%  total\n", r.Coverage)
}
