package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/cache"
)

// DefaultQuery is the library's entry point.
const DefaultQuery = "data.sovereign.decision"

// DefaultTimeout bounds one evaluation.
const DefaultTimeout = time.Second

// Modes.
const (
	ModeEnforce = "enforce"
	ModeShadow  = "shadow"
)

// unsafeBuiltins are refused in every policy: policies stay pure (no
// network, no clock, no randomness), so a decision can be replayed.
var unsafeBuiltins = map[string]struct{}{
	"http.send": {}, "net.lookup_ip_addr": {}, "opa.runtime": {}, "time.now_ns": {},
	"rand.intn": {}, "uuid.rfc4122": {}, "trace": {},
}

// Options configure an Engine.
type Options struct {
	Builtin   fs.FS    // the embedded library (package policies)
	NoBuiltin bool     // load only Paths, not the embedded library
	Paths     []string // policy files or directories (*.rego; *_test.rego skipped)
	DataFiles []string // JSON or YAML, merged over the library's data.json in order
	Query     string   // default DefaultQuery
	Timeout   time.Duration
	Mode      string // ModeEnforce (default) or ModeShadow
	Logger    hclog.Logger
	// OnLoad, when set, is called with each revision that takes effect (at
	// New, and at a Reload that changes it), e.g. to record it in the
	// audit log. previous is "" at New.
	OnLoad func(revision, previous string, modules int)
}

// Engine evaluates decisions against the current revision.
type Engine struct {
	opts     Options
	log      hclog.Logger
	cur      atomic.Pointer[compiled]
	reloadMu sync.Mutex
}

type compiled struct {
	pq       rego.PreparedEvalQuery
	revision string
	modules  int
	// ivc holds the regexes and globs compiled by this revision's
	// evaluations, shared across them (without it OPA recompiles beyond
	// its process-wide cache of 100). One per revision, so a reload drops
	// the patterns of the old one; its size is bounded by the patterns the
	// policy uses, since no library rule builds a pattern from input.
	ivc cache.InterQueryValueCache
}

// New loads and compiles the policies; it fails when they do not.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Query == "" {
		opts.Query = DefaultQuery
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModeEnforce
	case ModeEnforce, ModeShadow:
	default:
		return nil, fmt.Errorf("%w: unknown mode %q (enforce or shadow)", ErrInvalidPolicy, opts.Mode)
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	e := &Engine{opts: opts, log: opts.Logger}
	c, err := e.compile(ctx)
	if err != nil {
		return nil, err
	}
	e.cur.Store(c)
	e.log.Info("policy loaded", "revision", c.revision, "modules", c.modules, "mode", opts.Mode)
	if opts.OnLoad != nil {
		opts.OnLoad(c.revision, "", c.modules)
	}
	return e, nil
}

// Revision is the digest of the loaded modules and data.
func (e *Engine) Revision() string {
	if c := e.cur.Load(); c != nil {
		return c.revision
	}
	return ""
}

// Mode is enforce or shadow.
func (e *Engine) Mode() string { return e.opts.Mode }

// Reload compiles the policies again and swaps them in. On failure the
// current revision keeps serving and the error says why.
func (e *Engine) Reload(ctx context.Context) error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	c, err := e.compile(ctx)
	if err != nil {
		e.log.Error("policy reload failed; keeping the current revision", "revision", e.Revision(), "error", err)
		return err
	}
	old := e.Revision()
	e.cur.Store(c)
	if old != c.revision {
		e.log.Info("policy reloaded", "revision", c.revision, "previous", old, "modules", c.modules)
		if e.opts.OnLoad != nil {
			e.opts.OnLoad(c.revision, old, c.modules)
		}
	}
	return nil
}

func (e *Engine) compile(ctx context.Context) (*compiled, error) {
	b, err := loadBundle(e.opts.Builtin, !e.opts.NoBuiltin, e.opts.Paths, e.opts.DataFiles)
	if err != nil {
		return nil, err
	}
	mods, err := b.parseModules()
	if err != nil {
		return nil, err
	}
	data, err := b.mergedData()
	if err != nil {
		return nil, err
	}
	opts := []func(*rego.Rego){
		rego.Query(e.opts.Query),
		rego.Store(inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))),
		rego.Strict(true),
		rego.UnsafeBuiltins(unsafeBuiltins),
	}
	for _, m := range mods {
		opts = append(opts, rego.ParsedModule(m))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	return &compiled{pq: pq, revision: b.revision(data), modules: len(mods), ivc: cache.NewInterQueryValueCache(ctx, nil)}, nil
}

// Decide evaluates the decision for input (decoded JSON). It never returns
// an error: every failure is a deny whose reason says what went wrong.
func (e *Engine) Decide(ctx context.Context, input map[string]any) Decision {
	start := time.Now()
	c := e.cur.Load()
	var d Decision
	if c == nil {
		d = failClosed(ReasonNoPolicyLoaded, "no policy is loaded")
	} else {
		d = e.eval(ctx, c, input)
		d.Revision = c.revision
	}
	d.Mode = e.opts.Mode
	d.Enforced = e.opts.Mode == ModeEnforce
	d.Duration = time.Since(start)
	return d
}

func (e *Engine) eval(ctx context.Context, c *compiled, input map[string]any) Decision {
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return failClosed(ReasonEvalError, "policy input could not be converted: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	var berr []topdown.Error
	rs, err := c.pq.Eval(ctx, rego.EvalParsedInput(v), rego.EvalBuiltinErrorList(&berr),
		rego.EvalInterQueryBuiltinValueCache(c.ivc))
	switch {
	case err != nil:
		if topdown.IsCancel(err) || errors.Is(err, context.DeadlineExceeded) {
			return failClosed(ReasonEvalError, "policy evaluation did not finish within %s", e.opts.Timeout)
		}
		return failClosed(ReasonEvalError, "policy evaluation failed: %v", err)
	case len(berr) > 0:
		return failClosed(ReasonEvalError, "policy built-in error: %v", berr[0].Error())
	case len(rs) == 0 || len(rs[0].Expressions) == 0:
		return failClosed(ReasonUndefined, "policy decision %s is undefined", e.opts.Query)
	}
	return parseDecision(rs[0].Expressions[0].Value)
}
