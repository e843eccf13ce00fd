package proxy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/sovereign-stack/sovereign/core/mcpmsg"
)

// Phases of a gate decision.
const (
	PhaseCall = "call" // a request the client sent
	PhaseList = "list" // whether one catalog item is shown to the client
)

// Request is what the gate sees of one client→server request.
type Request struct {
	Phase     string
	Method    string
	SessionID string
	Client    ClientInfo
	// Server is the upstream the request goes to; empty when the proxy
	// answers it itself.
	Server string
	// Name is the exposed tool or prompt name; Original is the upstream's.
	Name     string
	Original string
	// URI is the resource URI for resources/*.
	URI string
	// Arguments are the raw JSON arguments of tools/call, prompts/get or
	// completion/complete.
	Arguments json.RawMessage
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
}

// Gate decides every client request before the proxy acts on it. The policy
// engine implements it; so does AllowKnown.
type Gate interface {
	Decide(ctx context.Context, req *Request) Decision
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
