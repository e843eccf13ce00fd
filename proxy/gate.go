package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/sovereign-stack/sovereign/core/mcpmsg"
)

// Phases of a gate decision.
const (
	PhaseCall   = "call"   // a request the client sent
	PhaseList   = "list"   // whether one catalog item is shown to the client
	PhaseResult = "result" // what an upstream answered, before the client sees it
)

// Request is what the gate sees of one client→server request.
type Request struct {
	Phase     string
	Method    string
	SessionID string
	Client    ClientInfo
	// Principal is who is acting: the OS user for the stdio front, the
	// HTTP client for the HTTP front (until authentication names them).
	Principal Principal
	// CallCount is the number of tools/call requests of this session so
	// far, this one included.
	CallCount int64
	// Server is the upstream the request goes to; empty when the proxy
	// answers it itself.
	Server string
	// Transport is the upstream's transport.
	Transport string
	// Annotations are the tool's annotations as its upstream listed them
	// (untrusted hints), for tools only.
	Annotations json.RawMessage
	// Name is the exposed tool or prompt name; Original is the upstream's.
	Name     string
	Original string
	// URI is the resource URI for resources/*.
	URI string
	// Arguments are the raw JSON arguments of tools/call, prompts/get or
	// completion/complete.
	Arguments json.RawMessage
	// Result is the upstream's raw result, in the result phase only.
	Result json.RawMessage
}

// Principal identifies who acts.
type Principal struct {
	Kind string // "os_user" (stdio front), "http" (HTTP front, unauthenticated)
	ID   string
}

// ClientInfo identifies the client application of a session.
type ClientInfo struct {
	Name    string
	Version string
}

// Decision is the gate's answer. ID identifies it in logs and in the _meta of
// a denial, so a user can quote it.
type Decision struct {
	Allow  bool
	Reason string
	ID     string
	// Rules are the ids of the rules that denied (or, in the result phase,
	// that asked for a redaction); Revision is the policy
	// revision that decided; RetryAfter is set when a rate limit denied.
	Rules      []string
	Revision   string
	RetryAfter time.Duration
	// Redact lists the JSON pointers (RFC 6901) of the result's strings to
	// replace before the client sees the result (result phase only).
	Redact []string
}

// Gate decides every client request before the proxy acts on it. The policy
// engine implements it; so does AllowKnown.
type Gate interface {
	Decide(ctx context.Context, req *Request) Decision
}

// Outcome statuses: what became of a request the gate allowed.
const (
	OutcomeOK            = "ok"             // the upstream answered and the client got the answer
	OutcomeToolError     = "tool_error"     // the upstream answered with isError
	OutcomeRedacted      = "redacted"       // the client got the answer with strings redacted
	OutcomeWithheld      = "withheld"       // the result phase withheld the answer
	OutcomeUpstreamError = "upstream_error" // the upstream answered with a JSON-RPC error
	OutcomeUnavailable   = "unavailable"    // the upstream could not be reached or timed out
	OutcomeCancelled     = "cancelled"      // the client cancelled
)

// Outcome is what became of a request the gate allowed.
type Outcome struct {
	Status   string
	IsError  bool
	Result   json.RawMessage // the upstream's raw result, when it answered
	Duration time.Duration   // from the decision to the answer
	// ResultDecision is the id of the result-phase decision, if any.
	ResultDecision string
}

// OutcomeRecorder is implemented by a gate that records what became of the
// requests it allowed (the audit log). The proxy calls it once per forwarded
// tools/call, prompts/get and resources/read.
type OutcomeRecorder interface {
	RecordOutcome(ctx context.Context, req *Request, d Decision, o Outcome)
}

// NewDecisionID returns a fresh, time-ordered decision id.
func NewDecisionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// AllowKnown is the gate used until a policy is configured: it allows every
// method the proxy knows and denies everything else.
type AllowKnown struct{}

// Decide implements Gate.
func (AllowKnown) Decide(_ context.Context, req *Request) Decision {
	if mcpmsg.Classify(req.Method) == mcpmsg.Unknown {
		return Decision{Allow: false, ID: NewDecisionID(), Reason: fmt.Sprintf("method %q is not known to the proxy", req.Method)}
	}
	return Decision{Allow: true, ID: NewDecisionID()}
}
