package engine

import (
	"context"
	"encoding/json"
)

// Effect is what a tool does to the engine's state; the proxy gives it to
// policies as the tool's effect class.
type Effect string

// Effects.
const (
	// EffectRead: reads only.
	EffectRead Effect = "read"
	// EffectAppend: adds records, never changes or removes one.
	EffectAppend Effect = "append"
	// EffectMutate: changes stored state (resolves a thread, consumes a
	// handoff, resets a session's spiral).
	EffectMutate Effect = "mutate"
)

// Tier orders tools for my_toolkit: what to learn first.
type Tier string

// Tiers.
const (
	TierEssential Tier = "essential"
	TierCore      Tier = "core"
	TierAdvanced  Tier = "advanced"
)

// Intents group tools by what the caller wants to do (my_toolkit's intent).
var Intents = []string{"orient", "read", "write", "govern", "handoff", "route", "introspect"}

// Tool is one tool of the engine.
type Tool struct {
	Name        string
	Title       string
	Description string
	// Schema is the JSON Schema (draft 2020-12) of the arguments; it is
	// enforced on every call before Handler runs.
	Schema json.RawMessage
	Effect Effect
	// Destructive and Idempotent are the MCP hints for a non-read tool;
	// a read tool is always idempotent and never destructive.
	Destructive bool
	Idempotent  bool
	Tier        Tier
	Intent      string
	// PathArgs are the top-level arguments that name host paths (the
	// proxy checks them against its roots, as it would any file tool's).
	// Every other argument is data: a note that mentions /etc/passwd is
	// not a file access, so the proxy does not guess paths in it.
	PathArgs []string
	Handler  Handler
}

// Handler runs a call whose arguments passed the schema.
type Handler func(ctx context.Context, c *Call) (*Result, error)

// Annotations are the MCP tool annotations derived from the declaration.
type Annotations struct {
	ReadOnly    bool
	Destructive bool
	Idempotent  bool
	OpenWorld   bool
}

// Annotations returns the tool's MCP hints. Engine tools only touch the
// engine's own state, so they are never open-world.
func (t *Tool) Annotations() Annotations {
	if t.Effect == EffectRead {
		return Annotations{ReadOnly: true, Idempotent: true}
	}
	return Annotations{Destructive: t.Destructive, Idempotent: t.Idempotent}
}

// Caller is who makes a call, as the proxy saw it. Session is the MCP
// session of the client (the proxy passes it; empty when unknown).
type Caller struct {
	Session   string
	Principal string
	Client    string
}

// Progress reports how far a long call has come; total 0 means unknown.
// It is a no-op when the caller passed no progress token.
type Progress func(done, total float64, message string)

// Call is one tool call.
type Call struct {
	Caller   Caller
	Args     json.RawMessage // validated against the tool's schema
	Progress Progress
}

// Decode unmarshals the arguments into v (a struct with json tags). The
// schema has been checked already; a type the schema allowed but v cannot
// hold is a validation error.
func (c *Call) Decode(v any) error {
	if len(c.Args) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Args, v); err != nil {
		return &Error{Category: CategoryValidation, Msg: "arguments do not fit the tool", Err: err}
	}
	return nil
}

// progress calls Progress when set.
func (c *Call) progress(done, total float64, msg string) {
	if c.Progress != nil {
		c.Progress(done, total, msg)
	}
}

// Result is a successful call: Text for the model to read and Data, the
// structured content (a JSON object), when the tool has one. When Text is
// empty the binding shows Data as JSON.
type Result struct {
	Text string
	Data any
}
