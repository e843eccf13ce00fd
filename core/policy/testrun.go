package policy

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions configure RunTests.
type TestOptions struct {
	Builtin   fs.FS    // the embedded library; nil to test Paths alone
	Paths     []string // user policy directories or files (tests included)
	DataFiles []string
	// Run keeps only the tests whose full name (data.<package>.<rule>)
	// matches this regular expression, like opa test --run.
	Run string
	// LibraryTests runs the embedded library's own tests too. They always
	// run when Paths is empty; with user policies they are off by default,
	// since a user rule that changes a decision the library's tests expect
	// (a stricter limit, a denied tool) would fail them. The library's
	// test fixtures (data.sovereign_test.fixtures) are loaded either way.
	LibraryTests bool
	Verbose      bool
	Coverage     bool
	Out          io.Writer
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
	mods, store, err := tester.LoadWithParserOptions(dirs, nil,
		ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	// The data files are merged the way the proxy merges them (a later
	// file replaces a list or value of an earlier one), over the data the
	// directories hold, which opa test's loader would refuse as conflicts.
	store, err = withDataFiles(ctx, store, opts.Builtin, opts.DataFiles)
	if err != nil {
		return sum, err
	}
	if builtinDir != "" && len(opts.Paths) > 0 && !opts.LibraryTests {
		dropTests(mods, builtinDir)
	}
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return sum, err
	}
	defer store.Abort(ctx, txn)
	runner := tester.NewRunner().SetStore(store).SetModules(mods).SetDefaultRegoVersion(ast.RegoV1).RaiseBuiltinErrors(true)
	if opts.Run != "" {
		runner = runner.Filter(opts.Run)
	}
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

// withDataFiles returns a store holding what store holds with the embedded
// library's data and the data files merged over it in order.
func withDataFiles(ctx context.Context, store storage.Store, builtin fs.FS, dataFiles []string) (storage.Store, error) {
	if len(dataFiles) == 0 {
		return store, nil
	}
	b, err := loadBundle(builtin, builtin != nil, nil, dataFiles)
	if err != nil {
		return nil, err
	}
	extra, err := b.mergedData()
	if err != nil {
		return nil, err
	}
	doc, err := storage.ReadOne(ctx, store, storage.Path{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	base, ok := doc.(map[string]any)
	if !ok {
		base = map[string]any{}
	}
	mergeInto(base, extra)
	return inmem.NewFromObject(base), nil
}

// dropTests removes the test rules of the modules loaded from dir (the
// embedded library), keeping their helpers (the fixtures).
func dropTests(mods map[string]*ast.Module, dir string) {
	for name, m := range mods {
		if !strings.HasSuffix(name, "_test.rego") {
			continue
		}
		if rel, err := filepath.Rel(dir, name); err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		m.Rules = slices.DeleteFunc(m.Rules, func(r *ast.Rule) bool {
			return strings.HasPrefix(string(r.Head.Name), "test_") || strings.HasPrefix(r.Head.Ref().String(), "test_")
		})
	}
}
