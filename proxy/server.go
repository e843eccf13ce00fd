package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy/catalog"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// newMCPServer builds the mcp-go server every front serves, with the hooks
// through which all client requests pass.
func (p *Proxy) newMCPServer() *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddOnRequestInitialization(p.onRequest)
	hooks.AddAfterInitialize(p.afterInitialize)
	hooks.AddAfterListResources(p.filterResources)
	hooks.AddAfterListResourceTemplates(p.filterTemplates)
	hooks.AddOnRegisterSession(func(_ context.Context, s server.ClientSession) {
		p.sessions.Store(s.SessionID(), s)
	})
	hooks.AddOnUnregisterSession(func(ctx context.Context, s server.ClientSession) {
		p.sessions.Delete(s.SessionID())
		p.callCounts.Delete(s.SessionID())
		for _, uri := range p.subs.dropSession(s.SessionID()) {
			p.unsubscribeUpstream(context.WithoutCancel(ctx), uri)
		}
	})
	opts := []server.ServerOption{
		server.WithToolCapabilities(true),
		server.WithResourceCapabilities(true, true),
		server.WithPromptCapabilities(true),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithElicitation(),
		server.WithPromptCompletionProvider(p),
		server.WithResourceCompletionProvider(p),
		server.WithHooks(hooks),
		server.WithToolFilter(p.filterTools),
		server.WithPromptFilter(p.filterPrompts),
		server.WithRecovery(),
		server.WithResourceRecovery(),
	}
	srv := server.NewMCPServer(ServerName, p.version, opts...)
	srv.EnableSampling()
	srv.AddNotificationHandler("notifications/roots/list_changed", p.forwardRootsChanged)
	return srv
}

// afterInitialize completes the answer to a client's initialize. With a
// single client, its capabilities are what the upstreams declare, so their
// handshakes start now. The answer then waits (bounded, as a client would
// wait for the server itself) until each upstream has had its first chance to
// start, so it can carry the upstreams' instructions: a model told how to use
// a server directly is told the same through the proxy.
func (p *Proxy) afterInitialize(ctx context.Context, _ any, req *mcp.InitializeRequest, res *mcp.InitializeResult) {
	p.recordClientCapabilities(req.Params.Capabilities)
	p.waitSettled(ctx)
	if text := p.instructions(); text != "" {
		res.Instructions = text
	}
}

// instructions merges the proxy's configured instructions with those of the
// upstreams: one upstream's text as it is, several under a heading each.
func (p *Proxy) instructions() string {
	var parts []string
	if p.ownInstructions != "" {
		parts = append(parts, p.ownInstructions)
	}
	var texts, names []string
	for _, name := range p.UpstreamNames() {
		if text := p.upstreams[name].Instructions(); strings.TrimSpace(text) != "" {
			texts, names = append(texts, text), append(names, name)
		}
	}
	if len(texts) == 1 && len(parts) == 0 {
		return texts[0]
	}
	for i, text := range texts {
		parts = append(parts, "## Server "+names[i]+" (tools prefixed "+strconv.Quote(p.prefixes[names[i]]+catalog.Separator)+")\n\n"+text)
	}
	return strings.Join(parts, "\n\n")
}

// newRequest starts a gate request with what the session tells.
func (p *Proxy) newRequest(ctx context.Context, phase, method string) *Request {
	r := &Request{Phase: phase, Method: method, Principal: p.principal}
	if hp, ok := ctx.Value(httpPrincipalKey{}).(Principal); ok {
		r.Principal = hp
	}
	s := server.ClientSessionFromContext(ctx)
	if s == nil {
		return r
	}
	r.SessionID = s.SessionID()
	if ci, ok := s.(server.SessionWithClientInfo); ok {
		info := ci.GetClientInfo()
		r.Client = ClientInfo{Name: info.Name, Version: info.Version}
	}
	return r
}

// onRequest is where every client request enters the proxy, before mcp-go
// handles it. The gate decides all of them here except tools/call, whose
// denial must be a tool result and is therefore decided in callTool, and
// prompts/get and resources/read, decided in their handlers next to their
// outcome. A returned error becomes the JSON-RPC error the client receives.
func (p *Proxy) onRequest(ctx context.Context, _ any, message any) error {
	raw, err := rawMessage(message)
	if err != nil {
		return err
	}
	var env struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("malformed request: %w", err)
	}
	switch mcpmsg.Classify(env.Method) {
	case mcpmsg.List, mcpmsg.Act, mcpmsg.Subscribe, mcpmsg.Complete:
		// The first requests of a session may arrive while upstreams are
		// still starting: hold them (bounded) rather than answer from a
		// partial catalog.
		p.waitSettled(ctx)
	}
	switch env.Method {
	case mcpmsg.ToolsCall:
		return p.checkToolTarget(env.Params)
	case mcpmsg.PromptsGet, mcpmsg.ResourcesRead:
		// Gated in their handlers, where the decision meets the outcome.
		return nil
	}
	req := p.newRequest(ctx, PhaseCall, env.Method)
	if err := p.describe(req, env.Params); err != nil {
		return err
	}
	req.Transport = p.transport(req.Server)
	if d := p.gate.Decide(ctx, req); !d.Allow {
		p.log.Debug("denied", "method", req.Method, "upstream", req.Server, "decision_id", d.ID, "reason", d.Reason)
		return deniedError(d)
	}
	switch env.Method {
	case mcpmsg.SetLevel:
		p.forwardSetLevel(ctx, env.Params)
	case mcpmsg.ResourcesSubscribe:
		return p.subscribe(ctx, req)
	case mcpmsg.ResourcesUnsubscribe:
		if p.subs.remove(req.SessionID, req.URI) {
			p.unsubscribeUpstream(ctx, req.URI)
		}
	}
	return nil
}

func rawMessage(message any) (json.RawMessage, error) {
	switch m := message.(type) {
	case json.RawMessage:
		return m, nil
	case []byte:
		return m, nil
	}
	b, err := json.Marshal(message)
	if err != nil {
		return nil, fmt.Errorf("unreadable request: %w", err)
	}
	return b, nil
}

// describe fills in the target of a request from its params.
func (p *Proxy) describe(req *Request, params json.RawMessage) error {
	var f struct {
		Name      string          `json:"name"`
		URI       string          `json:"uri"`
		Arguments json.RawMessage `json:"arguments"`
		Ref       struct {
			Type string `json:"type"`
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"ref"`
		Argument json.RawMessage `json:"argument"`
	}
	if len(params) > 0 && json.Unmarshal(params, &f) != nil {
		return errors.New("malformed params")
	}
	switch req.Method {
	case mcpmsg.PromptsGet:
		req.Name, req.Arguments = f.Name, f.Arguments
		if e, ok := p.cat.Load().Prompt(f.Name); ok {
			req.Server, req.Original = e.Server, e.Original
		}
	case mcpmsg.ResourcesRead, mcpmsg.ResourcesSubscribe, mcpmsg.ResourcesUnsubscribe:
		req.URI = f.URI
		req.Server, req.Original, _ = p.routeURI(f.URI)
	case mcpmsg.CompletionComplete:
		req.Arguments = f.Argument
		switch f.Ref.Type {
		case "ref/prompt":
			req.Name = f.Ref.Name
			if e, ok := p.cat.Load().Prompt(f.Ref.Name); ok {
				req.Server, req.Original = e.Server, e.Original
			}
		case "ref/resource":
			req.URI = f.Ref.URI
			for _, t := range p.cat.Load().Templates {
				if t.Original == f.Ref.URI {
					req.Server = t.Server
				}
			}
		}
	}
	return nil
}

// checkToolTarget answers a call to a tool of a disabled server with a clear
// error instead of "tool not found".
func (p *Proxy) checkToolTarget(params json.RawMessage) error {
	var f struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(params, &f) != nil {
		return nil // mcp-go reports malformed params itself
	}
	if _, ok := p.cat.Load().Tool(f.Name); ok {
		return nil
	}
	prefix, _, found := strings.Cut(f.Name, catalog.Separator)
	if !found {
		return nil
	}
	if server, ok := p.disabled[prefix]; ok {
		return fmt.Errorf("tool %q belongs to server %q, which is disabled in the configuration", f.Name, server)
	}
	for name, u := range p.upstreams {
		if p.prefixes[name] != prefix {
			continue
		}
		if state, last := u.State(); state != upstream.StateReady {
			if last != nil {
				return fmt.Errorf("tool %q: server %q is %s (last error: %v); the proxy keeps retrying", f.Name, name, state, last)
			}
			return fmt.Errorf("tool %q: server %q is %s", f.Name, name, state)
		}
	}
	return nil
}

// subscribe forwards a resource subscription to its upstream the first time
// any client subscribes to the URI.
func (p *Proxy) subscribe(ctx context.Context, req *Request) error {
	server, original, ok := p.routeURI(req.URI)
	if !ok {
		return fmt.Errorf("no upstream offers resource %q", req.URI)
	}
	u, ok := p.upstreams[server]
	if !ok {
		return fmt.Errorf("server %q is not available", server)
	}
	if caps, ok := u.Capabilities(); ok && (caps.Resources == nil || !caps.Resources.Subscribe) {
		return fmt.Errorf("server %q does not support resource subscriptions", server)
	}
	if !p.subs.add(req.SessionID, req.URI) {
		return nil
	}
	if _, err := u.Request(ctx, mcpmsg.ResourcesSubscribe, map[string]any{"uri": original}); err != nil {
		p.subs.remove(req.SessionID, req.URI)
		return requestError(server, err)
	}
	return nil
}

// forwardSetLevel passes a client's logging level on to every upstream that
// logs, so they filter at the source.
func (p *Proxy) forwardSetLevel(ctx context.Context, params json.RawMessage) {
	var f struct {
		Level string `json:"level"`
	}
	if json.Unmarshal(params, &f) != nil || f.Level == "" {
		return
	}
	p.logLevel.Store(f.Level)
	var wg sync.WaitGroup
	for _, u := range p.upstreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.setUpstreamLevel(ctx, u, f.Level)
		}()
	}
	wg.Wait()
}

// setUpstreamLevel sets the logging level of one upstream that logs.
func (p *Proxy) setUpstreamLevel(ctx context.Context, u *upstream.Upstream, level string) {
	if caps, ok := u.Capabilities(); !ok || caps.Logging == nil {
		return
	}
	if _, err := u.Request(ctx, mcpmsg.SetLevel, map[string]any{"level": level}); err != nil {
		p.log.Warn("forwarding log level failed", "upstream", u.Name(), "error", err)
	}
}

// filterTools applies the gate's list phase to tools/list (and, through
// mcp-go, to every tools/call: a tool the client cannot see it cannot call).
func (p *Proxy) filterTools(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	cat := p.cat.Load()
	return filterList(ctx, p, mcpmsg.ToolsList, tools, func(t mcp.Tool) string { return t.Name }, cat.Tool, cat.ToolIndex)
}

// filterPrompts applies the gate's list phase to prompts/list.
func (p *Proxy) filterPrompts(ctx context.Context, prompts []mcp.Prompt) []mcp.Prompt {
	cat := p.cat.Load()
	return filterList(ctx, p, mcpmsg.PromptsList, prompts, func(pr mcp.Prompt) string { return pr.Name }, cat.Prompt, cat.PromptIndex)
}

// filterResources applies the gate's list phase to resources/list. mcp-go
// has no resource filter; its after-hook gets the result before it is sent.
func (p *Proxy) filterResources(ctx context.Context, _ any, _ *mcp.ListResourcesRequest, res *mcp.ListResourcesResult) {
	if res == nil {
		return
	}
	cat := p.cat.Load()
	res.Resources = slices.DeleteFunc(res.Resources, func(r mcp.Resource) bool {
		req := p.newRequest(ctx, PhaseList, mcpmsg.ResourcesList)
		req.URI = r.URI
		if e, ok := cat.Resource(r.URI); ok {
			req.Server, req.Original, req.Transport = e.Server, e.Original, p.transport(e.Server)
		}
		return !p.gate.Decide(ctx, req).Allow
	})
}

// filterTemplates applies the gate's list phase to resources/templates/list;
// the policy sees the template as the resource URI.
func (p *Proxy) filterTemplates(ctx context.Context, _ any, _ *mcp.ListResourceTemplatesRequest, res *mcp.ListResourceTemplatesResult) {
	if res == nil {
		return
	}
	cat := p.cat.Load()
	res.ResourceTemplates = slices.DeleteFunc(res.ResourceTemplates, func(t mcp.ResourceTemplate) bool {
		req := p.newRequest(ctx, PhaseList, mcpmsg.ResourceTemplatesList)
		if t.URITemplate != nil {
			req.URI = t.URITemplate.Raw()
		}
		for _, e := range cat.Templates {
			if e.Original == req.URI {
				req.Server, req.Original, req.Transport = e.Server, e.Original, p.transport(e.Server)
			}
		}
		return !p.gate.Decide(ctx, req).Allow
	})
}

// filterList keeps the items the gate allows the client to see, in the
// catalog's order: mcp-go sorts by name, and clients get the upstreams' own
// order instead (servers in name order), as they would without the proxy.
func filterList[T any](ctx context.Context, p *Proxy, method string, items []T, name func(T) string,
	lookup func(string) (catalog.Entry, bool), index func(string) int) []T {
	out := items[:0:0]
	for _, it := range items {
		req := p.newRequest(ctx, PhaseList, method)
		req.Name = name(it)
		if e, ok := lookup(req.Name); ok {
			req.Server, req.Original, req.Annotations = e.Server, e.Original, e.Annotations
			req.Transport = p.transport(e.Server)
		}
		if p.gate.Decide(ctx, req).Allow {
			out = append(out, it)
		}
	}
	slices.SortStableFunc(out, func(a, b T) int { return index(name(a)) - index(name(b)) })
	return out
}
