package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// toolName is the shape of a tool name (MCP allows more; ours are plain).
var toolName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Registry holds the engine's tools by name. It is filled once, by New, and
// read concurrently afterwards.
type Registry struct {
	tools   map[string]*registered
	ordered []*Tool
}

type registered struct {
	tool   *Tool
	schema *jsonschema.Schema
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{tools: map[string]*registered{}} }

// Add registers a tool after checking its declaration: name, effect, tier,
// intent, handler, and a schema that compiles.
func (r *Registry) Add(t Tool) error {
	if !toolName.MatchString(t.Name) {
		return fmt.Errorf("tool name %q is not lowercase snake case", t.Name)
	}
	if _, dup := r.tools[t.Name]; dup {
		return fmt.Errorf("tool %s registered twice", t.Name)
	}
	switch t.Effect {
	case EffectRead, EffectAppend, EffectMutate:
	default:
		return fmt.Errorf("tool %s: unknown effect %q", t.Name, t.Effect)
	}
	switch t.Tier {
	case TierEssential, TierCore, TierAdvanced:
	default:
		return fmt.Errorf("tool %s: unknown tier %q", t.Name, t.Tier)
	}
	known := false
	for _, i := range Intents {
		known = known || i == t.Intent
	}
	if !known {
		return fmt.Errorf("tool %s: unknown intent %q", t.Name, t.Intent)
	}
	if t.Handler == nil || t.Description == "" {
		return fmt.Errorf("tool %s: no handler or description", t.Name)
	}
	s, err := compileSchema(t.Name, t.Schema)
	if err != nil {
		return err
	}
	tt := t
	r.tools[t.Name] = &registered{tool: &tt, schema: s}
	r.ordered = append(r.ordered, &tt)
	sort.Slice(r.ordered, func(i, j int) bool { return r.ordered[i].Name < r.ordered[j].Name })
	return nil
}

// Tools returns the tools sorted by name. The slice and the tools must not
// be changed.
func (r *Registry) Tools() []*Tool { return r.ordered }

// Tool returns the named tool.
func (r *Registry) Tool(name string) (*Tool, bool) {
	t, ok := r.tools[name]
	if !ok {
		return nil, false
	}
	return t.tool, true
}

// Call validates the arguments against the tool's schema and runs it. Every
// failure is an *Error.
func (r *Registry) Call(ctx context.Context, name string, c *Call) (*Result, error) {
	t, ok := r.tools[name]
	if !ok {
		return nil, Errorf(CategoryNotFound, "no tool named %q", name)
	}
	args, err := validateArgs(t.schema, c.Args)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, AsError(err)
	}
	cc := *c
	cc.Args = args
	res, err := t.tool.Handler(ctx, &cc)
	if err != nil {
		if ctx.Err() != nil {
			// A query interrupted by the cancellation fails as an I/O
			// error; the caller cancelled, and that is what it learns.
			return nil, &Error{Category: CategoryCancelled, Msg: "the call was cancelled or timed out", Err: err}
		}
		return nil, AsError(err)
	}
	if res == nil {
		return nil, internal("tool returned no result", fmt.Errorf("tool %s", name))
	}
	return res, nil
}

// mustJSON is for schemas written as Go literals in this package.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
