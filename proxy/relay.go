package proxy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// callTable tracks the client requests in flight on each upstream, newest
// last, so that what an upstream sends while serving them (sampling,
// elicitation, log messages) reaches the client that asked.
type callTable struct {
	mu    sync.Mutex
	seq   uint64
	calls map[string]map[uint64]context.Context
}

func newCallTable() *callTable { return &callTable{calls: map[string]map[uint64]context.Context{}} }

func (t *callTable) add(server string, ctx context.Context) (done func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	id := t.seq
	if t.calls[server] == nil {
		t.calls[server] = map[uint64]context.Context{}
	}
	t.calls[server][id] = ctx
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.calls[server], id)
	}
}

// latest returns the context of the newest call in flight on server whose
// client satisfies ok.
func (t *callTable) latest(server string, ok func(context.Context) bool) (context.Context, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var best uint64
	var found context.Context
	for id, ctx := range t.calls[server] {
		if id > best && ok(ctx) {
			best, found = id, ctx
		}
	}
	return found, found != nil
}

// progressTable maps the proxy's own progress tokens to the client's token
// and the context of the call that asked, for the life of that call.
type progressTable struct {
	next    atomic.Uint64
	entries sync.Map // proxy token (string) → progressEntry
}

type progressEntry struct {
	ctx   context.Context
	token mcp.ProgressToken
}

func newProgressTable() *progressTable { return &progressTable{} }

func (t *progressTable) register(ctx context.Context, clientToken mcp.ProgressToken) (mcp.ProgressToken, func()) {
	token := "sov-progress-" + strconv.FormatUint(t.next.Add(1), 10)
	t.entries.Store(token, progressEntry{ctx: ctx, token: clientToken})
	return token, func() { t.entries.Delete(token) }
}

func (t *progressTable) lookup(token any) (progressEntry, bool) {
	s, ok := token.(string)
	if !ok {
		return progressEntry{}, false
	}
	v, ok := t.entries.Load(s)
	if !ok {
		return progressEntry{}, false
	}
	return v.(progressEntry), true
}

// UpstreamNotification implements upstream.Events: route what an upstream
// announces to the clients it concerns.
func (p *Proxy) UpstreamNotification(u *upstream.Upstream, n mcp.JSONRPCNotification) {
	params := n.Params.AdditionalFields
	if params == nil {
		params = map[string]any{}
	}
	if len(n.Params.Meta) > 0 {
		params["_meta"] = n.Params.Meta
	}
	switch n.Method {
	case "notifications/progress":
		e, ok := p.progress.lookup(params["progressToken"])
		if !ok {
			return // the call ended, or the token was never ours: drop late progress
		}
		params["progressToken"] = e.token
		if err := p.srv.SendNotificationToClient(e.ctx, n.Method, params); err != nil {
			p.log.Debug("progress not relayed", "upstream", u.Name(), "error", err)
		}
	case "notifications/message":
		if ctx, ok := p.calls.latest(u.Name(), func(context.Context) bool { return true }); ok {
			if err := p.srv.SendNotificationToClient(ctx, n.Method, params); err == nil {
				return
			}
		}
		p.srv.SendNotificationToAllClients(n.Method, params)
	case "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed":
		go p.refresh(context.Background(), u)
	case "notifications/resources/updated":
		uri, _ := params["uri"].(string)
		p.resourceUpdated(u.Name(), uri, params)
	case "notifications/cancelled":
		// The upstream gave up a request it sent us; the relay's context
		// ends with the upstream's own request handling.
	default:
		p.log.Debug("dropping unknown upstream notification", "upstream", u.Name(), "method", n.Method)
	}
}

// errNoClient is returned to an upstream whose request cannot be relayed.
var errNoClient = errors.New("no connected client can answer this request")

// relayContext finds the client session that should answer an upstream's
// request: the client of the newest call in flight on that upstream whose
// client declared the capability, or the only session when there is one.
// The returned context ends when the upstream's own request ends.
func (p *Proxy) relayContext(ctx context.Context, u *upstream.Upstream, capable func(mcp.ClientCapabilities) bool) (context.Context, context.CancelFunc, error) {
	ok := func(c context.Context) bool {
		return capable(clientCapabilities(server.ClientSessionFromContext(c)))
	}
	dctx, found := p.calls.latest(u.Name(), ok)
	if !found {
		var only server.ClientSession
		n := 0
		p.sessions.Range(func(_, v any) bool {
			n++
			only = v.(server.ClientSession)
			return n < 2
		})
		if n != 1 || !capable(clientCapabilities(only)) {
			return nil, nil, errNoClient
		}
		dctx = p.srv.WithContext(context.Background(), only)
	}
	rctx, cancel := context.WithCancel(dctx)
	stop := context.AfterFunc(ctx, cancel)
	return rctx, func() { stop(); cancel() }, nil
}

func clientCapabilities(s server.ClientSession) mcp.ClientCapabilities {
	if ci, ok := s.(server.SessionWithClientInfo); ok {
		return ci.GetClientCapabilities()
	}
	return mcp.ClientCapabilities{}
}

// UpstreamSampling implements upstream.Events.
func (p *Proxy) UpstreamSampling(ctx context.Context, u *upstream.Upstream, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	rctx, cancel, err := p.relayContext(ctx, u, func(c mcp.ClientCapabilities) bool { return c.Sampling != nil })
	if err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	defer cancel()
	return p.srv.RequestSampling(rctx, req)
}

// UpstreamElicitation implements upstream.Events.
func (p *Proxy) UpstreamElicitation(ctx context.Context, u *upstream.Upstream, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	rctx, cancel, err := p.relayContext(ctx, u, func(c mcp.ClientCapabilities) bool { return c.Elicitation != nil })
	if err != nil {
		return nil, fmt.Errorf("elicitation: %w", err)
	}
	defer cancel()
	return p.srv.RequestElicitation(rctx, req)
}

// UpstreamRoots implements upstream.Events.
func (p *Proxy) UpstreamRoots(ctx context.Context, u *upstream.Upstream, req mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	rctx, cancel, err := p.relayContext(ctx, u, func(c mcp.ClientCapabilities) bool { return c.Roots != nil })
	if err != nil {
		return nil, fmt.Errorf("roots: %w", err)
	}
	defer cancel()
	return p.srv.RequestRoots(rctx, req)
}

// sharedCapabilities are declared to upstreams shared by several clients:
// sampling and form elicitation are relayed to the client of the call in
// flight. Roots are not declared: they belong to one client, and a shared
// upstream (server-filesystem, say) would otherwise take one client's roots
// for everyone's.
func sharedCapabilities() mcp.ClientCapabilities {
	return mcp.ClientCapabilities{Sampling: &mcp.SamplingCapability{}, Elicitation: &mcp.ElicitationCapability{}}
}

// ClientCapabilities implements upstream.Events. With a single client the
// upstreams declare what that client declared (sampling, elicitation,
// roots), so each upstream behaves as if the client were talking to it
// directly; the answer waits for the client's initialize.
func (p *Proxy) ClientCapabilities(ctx context.Context) (mcp.ClientCapabilities, error) {
	if !p.singleClient {
		return sharedCapabilities(), nil
	}
	select {
	case <-p.clientInit:
		return p.clientCaps, nil
	case <-ctx.Done():
		return mcp.ClientCapabilities{}, ctx.Err()
	}
}

// recordClientCapabilities keeps the first client's capabilities for
// mirroring.
func (p *Proxy) recordClientCapabilities(caps mcp.ClientCapabilities) {
	p.clientInitOnce.Do(func() {
		p.clientCaps = mcp.ClientCapabilities{Sampling: caps.Sampling, Elicitation: caps.Elicitation, Roots: caps.Roots}
		close(p.clientInit)
	})
}

// forwardRootsChanged tells the upstreams that the client's roots changed.
func (p *Proxy) forwardRootsChanged(ctx context.Context, _ mcp.JSONRPCNotification) {
	for name, u := range p.upstreams {
		if err := u.Notify(ctx, "notifications/roots/list_changed", nil); err != nil {
			p.log.Debug("roots change not forwarded", "upstream", name, "error", err)
		}
	}
}
