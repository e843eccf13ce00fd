package engine

import (
	"context"
	"encoding/json"
)

// Judge evaluates a proposed action against the live policy, exactly as the
// gate would decide it, and records the decision in the audit log. The
// proxy's policy gate implements it; govern uses it.
type Judge interface {
	Judge(ctx context.Context, p Proposal) (Verdict, error)
}

// Proposal is an action govern is asked about: a tool call (Upstream, Tool,
// Arguments) or, when Tool is empty, a described action.
type Proposal struct {
	Caller    Caller
	Upstream  string          // the upstream the tool belongs to; empty: any
	Tool      string          // the tool name as the client sees it
	Arguments json.RawMessage // the call's arguments (a JSON object)
	Action    string          // a described action, checked as text
	Rationale string
}

// Verdict is the policy's decision on a Proposal.
type Verdict struct {
	Allow      bool     `json:"allow"`
	DecisionID string   `json:"decision_id"`
	Reasons    []Reason `json:"reasons"`
	// Obligations the gate would attach (approval, rate limit, redaction).
	Obligations json.RawMessage `json:"obligations,omitempty"`
	Revision    string          `json:"policy_revision"`
	Mode        string          `json:"mode"`
	Enforced    bool            `json:"enforced"`
}

// Reason is one reason of a Verdict.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
