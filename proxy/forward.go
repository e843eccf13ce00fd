package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/yosida95/uritemplate/v3"

	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy/catalog"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// DecisionMetaKey is the _meta key under which a denial carries its decision.
const DecisionMetaKey = "dev.sovereign/decision"

// CallerMetaKey is the _meta key under which the proxy tells its in-process
// engine who makes a call: {"session", "principal", "client"}. Keys under
// metaPrefix that a client sends are dropped before forwarding, so no
// client can claim to be another session.
const CallerMetaKey = metaPrefix + "caller"

const metaPrefix = "dev.sovereign/"

// stdioSessionID is the id mcp-go gives every stdio session; the engine is
// told the proxy's own stdio session name instead (see Proxy.stdioSession).
const stdioSessionID = "stdio"

// clientMeta returns the client's _meta fields without the proxy's own
// (metaPrefix) keys; nil when none are left.
func clientMeta(meta *mcp.Meta) map[string]any {
	if meta == nil || len(meta.AdditionalFields) == 0 {
		return nil
	}
	out := make(map[string]any, len(meta.AdditionalFields))
	for k, v := range meta.AdditionalFields {
		if !strings.HasPrefix(k, metaPrefix) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// callTool is the handler of every exposed tool: gate, forward, relay.
func (p *Proxy) callTool(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	e, ok := p.cat.Load().Tool(req.Params.Name)
	if !ok {
		return nil, fmt.Errorf("tool %q is no longer offered by any upstream", req.Params.Name)
	}
	greq := p.newRequest(ctx, PhaseCall, mcpmsg.ToolsCall)
	greq.Server, greq.Name, greq.Original = e.Server, e.Name, e.Original
	greq.Transport, greq.Annotations = p.transport(e.Server), e.Annotations
	greq.Arguments = req.Params.RawArguments
	greq.CallCount = p.countCall(greq.SessionID)
	start := time.Now()
	d := p.gate.Decide(ctx, greq)
	if !d.Allow {
		p.log.Debug("denied", "method", greq.Method, "tool", e.Name, "upstream", e.Server, "decision_id", d.ID, "reason", d.Reason)
		return denial(d), nil
	}
	params := map[string]any{"name": e.Original}
	if len(req.Params.RawArguments) > 0 {
		params["arguments"] = json.RawMessage(req.Params.RawArguments)
	} else if req.Params.Arguments != nil {
		params["arguments"] = req.Params.Arguments
	}
	raw, err := p.forward(ctx, e.Server, mcpmsg.ToolsCall, params, req.Params.Meta)
	if err != nil {
		p.recordOutcome(ctx, greq, d, Outcome{Status: failureStatus(err), IsError: true, Duration: time.Since(start)})
		return toolError(e, err)
	}
	checked, rd := p.checkResult(ctx, greq, raw)
	o := Outcome{Status: resultStatus(rd), Result: raw, Duration: time.Since(start), ResultDecision: rd.ID}
	if !rd.Allow {
		o.IsError = true
		p.recordOutcome(ctx, greq, d, o)
		p.log.Debug("result withheld", "tool", e.Name, "upstream", e.Server, "decision_id", rd.ID, "reason", rd.Reason)
		return denial(rd), nil
	}
	res, err := mcp.ParseCallToolResult(&checked)
	if err != nil {
		o.Status, o.IsError = OutcomeUpstreamError, true
		p.recordOutcome(ctx, greq, d, o)
		return nil, fmt.Errorf("upstream %q sent a malformed tools/call result: %w", e.Server, err)
	}
	if res.IsError && o.Status == OutcomeOK {
		o.Status = OutcomeToolError
	}
	o.IsError = res.IsError
	p.recordOutcome(ctx, greq, d, o)
	return res, nil
}

// recordOutcome tells the gate, when it records outcomes, what became of a
// request it allowed.
func (p *Proxy) recordOutcome(ctx context.Context, req *Request, d Decision, o Outcome) {
	if r, ok := p.gate.(OutcomeRecorder); ok {
		r.RecordOutcome(context.WithoutCancel(ctx), req, d, o)
	}
}

// failureStatus classifies a forwarding failure.
func failureStatus(err error) string {
	var rpc *upstream.RPCError
	switch {
	case errors.As(err, &rpc):
		return OutcomeUpstreamError
	case errors.Is(err, context.Canceled):
		return OutcomeCancelled
	}
	return OutcomeUnavailable
}

// resultStatus is the outcome status after the result phase decided rd.
func resultStatus(rd Decision) string {
	switch {
	case !rd.Allow:
		return OutcomeWithheld
	case len(rd.Redact) > 0:
		return OutcomeRedacted
	}
	return OutcomeOK
}

// forward sends a request to an upstream on behalf of the client request in
// ctx: the call is registered (for sampling, elicitation and logging relays)
// and a progress token is replaced by one of the proxy's own.
func (p *Proxy) forward(ctx context.Context, server, method string, params map[string]any, meta *mcp.Meta) (json.RawMessage, error) {
	u, ok := p.upstreams[server]
	if !ok {
		return nil, fmt.Errorf("%w: server %q is not configured", upstream.ErrUnavailable, server)
	}
	m := &mcp.Meta{AdditionalFields: clientMeta(meta)}
	if meta != nil && meta.ProgressToken != nil {
		token, release := p.progress.register(ctx, meta.ProgressToken)
		defer release()
		m.ProgressToken = token
	}
	if u.Transport() == upstream.TransportInProcess {
		// Only the proxy's own in-process engine learns who calls.
		r := p.newRequest(ctx, "", method)
		if m.AdditionalFields == nil {
			m.AdditionalFields = map[string]any{}
		}
		session := r.SessionID
		if session == stdioSessionID {
			session = p.stdioSession
		}
		m.AdditionalFields[CallerMetaKey] = map[string]any{
			"session": session, "principal": r.Principal.Kind + ":" + r.Principal.ID, "client": r.Client.Name,
		}
	}
	if m.ProgressToken != nil || len(m.AdditionalFields) > 0 {
		params["_meta"] = m
	}
	done := p.calls.add(server, ctx)
	defer done()
	return u.Request(ctx, method, params)
}

// denial is the result of a tools/call the gate refused: a tool error the
// model can read, with the decision in _meta.
func denial(d Decision) *mcp.CallToolResult {
	reason := d.Reason
	if reason == "" {
		reason = "no reason given"
	}
	res := mcp.NewToolResultError(fmt.Sprintf("Denied by policy: %s (decision %s)", reason, d.ID))
	meta := map[string]any{"id": d.ID, "allow": false, "reason": reason}
	if len(d.Rules) > 0 {
		meta["rules"] = d.Rules
	}
	if d.Revision != "" {
		meta["revision"] = d.Revision
	}
	if d.RetryAfter > 0 {
		meta["retry_after_ms"] = d.RetryAfter.Milliseconds()
	}
	res.Meta = &mcp.Meta{AdditionalFields: map[string]any{DecisionMetaKey: meta}}
	return res
}

// toolError maps a forwarding failure to what the client gets: an error
// result when the upstream could not be reached (the model can react), the
// upstream's own error message when it answered with a JSON-RPC error, and
// nothing when the client cancelled.
func toolError(e catalog.Entry, err error) (*mcp.CallToolResult, error) {
	var rpc *upstream.RPCError
	switch {
	case errors.As(err, &rpc):
		return nil, errors.New(rpc.Message)
	case errors.Is(err, context.Canceled):
		return nil, err
	case errors.Is(err, upstream.ErrUnavailable), errors.Is(err, upstream.ErrTimeout):
		return mcp.NewToolResultError(fmt.Sprintf("Tool %s could not run: %v", e.Name, err)), nil
	}
	return nil, fmt.Errorf("upstream %q: %w", e.Server, err)
}

// requestError maps a forwarding failure of a non-tool request.
func requestError(server string, err error) error {
	var rpc *upstream.RPCError
	if errors.As(err, &rpc) {
		return errors.New(rpc.Message)
	}
	return fmt.Errorf("upstream %q: %w", server, err)
}

// getPrompt gates and forwards prompts/get (gated here rather than in
// onRequest so that the decision and the outcome meet).
func (p *Proxy) getPrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	e, ok := p.cat.Load().Prompt(req.Params.Name)
	if !ok {
		return nil, fmt.Errorf("prompt %q is no longer offered by any upstream", req.Params.Name)
	}
	greq := p.newRequest(ctx, PhaseCall, mcpmsg.PromptsGet)
	greq.Server, greq.Name, greq.Original, greq.Transport = e.Server, req.Params.Name, e.Original, p.transport(e.Server)
	params := map[string]any{"name": e.Original}
	if req.Params.Arguments != nil {
		params["arguments"] = req.Params.Arguments
		greq.Arguments, _ = json.Marshal(req.Params.Arguments)
	}
	raw, err := p.forwardChecked(ctx, greq, params, req.Params.Meta)
	if err != nil {
		return nil, err
	}
	return mcp.ParseGetPromptResult(&raw)
}

// forwardChecked is the path of a prompts/get or resources/read: call
// phase, forward, result phase, outcome. Errors are what the client gets.
func (p *Proxy) forwardChecked(ctx context.Context, greq *Request, params map[string]any, meta *mcp.Meta) (json.RawMessage, error) {
	start := time.Now()
	d := p.gate.Decide(ctx, greq)
	if !d.Allow {
		p.log.Debug("denied", "method", greq.Method, "upstream", greq.Server, "decision_id", d.ID, "reason", d.Reason)
		return nil, deniedError(d)
	}
	raw, err := p.forward(ctx, greq.Server, greq.Method, params, meta)
	if err != nil {
		p.recordOutcome(ctx, greq, d, Outcome{Status: failureStatus(err), IsError: true, Duration: time.Since(start)})
		return nil, requestError(greq.Server, err)
	}
	checked, rd := p.checkResult(ctx, greq, raw)
	o := Outcome{Status: resultStatus(rd), Result: raw, Duration: time.Since(start), ResultDecision: rd.ID, IsError: !rd.Allow}
	p.recordOutcome(ctx, greq, d, o)
	if !rd.Allow {
		return nil, deniedError(rd)
	}
	return checked, nil
}

// readResource forwards resources/read of a listed resource.
func (p *Proxy) readResource(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	e, ok := p.cat.Load().Resource(req.Params.URI)
	if !ok {
		return nil, fmt.Errorf("resource %q is no longer offered by any upstream", req.Params.URI)
	}
	return p.read(ctx, e.Server, req.Params.URI, e.Original, req.Params.Meta)
}

// readTemplate forwards resources/read of a URI that matched a template.
func (p *Proxy) readTemplate(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	server, ok := p.templateServer(req.Params.URI)
	if !ok {
		return nil, fmt.Errorf("no upstream offers resource %q", req.Params.URI)
	}
	return p.read(ctx, server, req.Params.URI, req.Params.URI, req.Params.Meta)
}

// templateServer finds the upstream whose resource template matches uri.
func (p *Proxy) templateServer(uri string) (string, bool) {
	for _, t := range p.cat.Load().Templates {
		tmpl, err := uritemplate.New(t.Original)
		if err == nil && tmpl.Regexp().MatchString(uri) {
			return t.Server, true
		}
	}
	return "", false
}

func (p *Proxy) read(ctx context.Context, server, uri, original string, meta *mcp.Meta) ([]mcp.ResourceContents, error) {
	greq := p.newRequest(ctx, PhaseCall, mcpmsg.ResourcesRead)
	greq.Server, greq.URI, greq.Original, greq.Transport = server, uri, original, p.transport(server)
	raw, err := p.forwardChecked(ctx, greq, map[string]any{"uri": original}, meta)
	if err != nil {
		return nil, err
	}
	res, err := mcp.ParseReadResourceResult(&raw)
	if err != nil {
		return nil, fmt.Errorf("upstream %q sent a malformed resources/read result: %w", server, err)
	}
	if uri != original {
		for i, c := range res.Contents {
			res.Contents[i] = withURI(c, original, uri)
		}
	}
	return res.Contents, nil
}

// withURI rewrites the URI of resource contents read through a rewritten URI.
func withURI(c mcp.ResourceContents, from, to string) mcp.ResourceContents {
	switch v := c.(type) {
	case mcp.TextResourceContents:
		if v.URI == from {
			v.URI = to
		}
		return v
	case mcp.BlobResourceContents:
		if v.URI == from {
			v.URI = to
		}
		return v
	}
	return c
}

// deniedError is how a denial of a request other than tools/call reaches the
// client: a JSON-RPC error naming the decision.
func deniedError(d Decision) error {
	return fmt.Errorf("denied by policy: %s (decision %s)", d.Reason, d.ID)
}

// CompletePromptArgument implements server.PromptCompletionProvider.
func (p *Proxy) CompletePromptArgument(ctx context.Context, promptName string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	e, ok := p.cat.Load().Prompt(promptName)
	if !ok {
		return nil, fmt.Errorf("unknown prompt %q", promptName)
	}
	return p.complete(ctx, e.Server, map[string]any{"type": "ref/prompt", "name": e.Original}, arg, cc)
}

// CompleteResourceArgument implements server.ResourceCompletionProvider.
func (p *Proxy) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	for _, t := range p.cat.Load().Templates {
		if t.Original == uri {
			return p.complete(ctx, t.Server, map[string]any{"type": "ref/resource", "uri": uri}, arg, cc)
		}
	}
	return nil, fmt.Errorf("unknown resource template %q", uri)
}

func (p *Proxy) complete(ctx context.Context, server string, ref map[string]any, arg mcp.CompleteArgument, cc mcp.CompleteContext) (*mcp.Completion, error) {
	params := map[string]any{"ref": ref, "argument": arg}
	if cc.Arguments != nil {
		params["context"] = cc
	}
	raw, err := p.forward(ctx, server, mcpmsg.CompletionComplete, params, nil)
	if err != nil {
		return nil, requestError(server, err)
	}
	var res struct {
		Completion mcp.Completion `json:"completion"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("upstream %q sent a malformed completion: %w", server, err)
	}
	if res.Completion.Values == nil {
		res.Completion.Values = []string{}
	}
	return &res.Completion, nil
}
