package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Dir is the engine's folder in the data root; the database lives in it.
const Dir = "engine"

// ErrInvalidOptions: Options that New cannot work with.
var ErrInvalidOptions = errors.New("invalid engine options")

// Options configure New.
type Options struct {
	// DataDir is the data root ($SOVEREIGN_ROOT, default ~/.sovereign).
	// Everything the engine writes stays inside it.
	DataDir string
	// Roots are the directories scan_thresholds may walk (the proxy's
	// configured roots); a path outside them is refused.
	Roots []string
	// Judge evaluates govern's proposals against the live policy; without
	// one, govern fails with CategoryUnavailable (it never approves by
	// default).
	Judge Judge
	// Version is sovereign's version, shown by my_toolkit.
	Version string
	Logger  hclog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine is the built-in tool engine: its registry, database and data root.
type Engine struct {
	opts      Options
	log       hclog.Logger
	now       func() time.Time
	db        *sql.DB
	root      *os.Root // the data root; files are opened through it only
	reg       *Registry
	resources []Resource
	prompts   []Prompt
	observers []callObserver
}

// callObserver is told about every call that succeeded (the spiral counts
// them per session).
type callObserver func(ctx context.Context, c Caller, t *Tool)

// New opens the engine's database under opts.DataDir (creating the
// folders, applying migrations) and registers every tool.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.DataDir == "" || !filepath.IsAbs(opts.DataDir) {
		return nil, fmt.Errorf("%w: the data directory must be an absolute path, got %q", ErrInvalidOptions, opts.DataDir)
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(filepath.Join(opts.DataDir, Dir), 0o700); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	root, err := os.OpenRoot(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{opts: opts, log: opts.Logger, now: opts.Now, root: root, reg: NewRegistry()}
	e.db, err = openDB(ctx, filepath.Join(opts.DataDir, Dir, DBFile), migrations)
	if err != nil {
		_ = root.Close()
		return nil, err
	}
	for _, group := range e.toolGroups() {
		for _, t := range group {
			if err := e.reg.Add(t); err != nil {
				_ = e.Close()
				return nil, fmt.Errorf("engine: %w", err)
			}
		}
	}
	return e, nil
}

// Close closes the database and the data root.
func (e *Engine) Close() error {
	return errors.Join(e.db.Close(), e.root.Close())
}

// Registry returns the engine's tools.
func (e *Engine) Registry() *Registry { return e.reg }

// Call runs one tool call: schema, handler, observers. Every failure is an
// *Error.
func (e *Engine) Call(ctx context.Context, name string, c *Call) (*Result, error) {
	res, err := e.reg.Call(ctx, name, c)
	if err != nil {
		return nil, err
	}
	t, _ := e.reg.Tool(name)
	for _, o := range e.observers {
		o(ctx, c.Caller, t)
	}
	return res, nil
}

// ts formats the engine's clock for storage: UTC, fixed width, so that
// text order is time order.
func (e *Engine) ts() string { return formatTS(e.now()) }

// tsLayout is the stored timestamp form (fixed width: sortable as text).
const tsLayout = "2006-01-02T15:04:05.000000Z"

func formatTS(t time.Time) string { return t.UTC().Format(tsLayout) }
