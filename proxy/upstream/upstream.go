package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Transport names, as written in the config file.
const (
	TransportStdio          = "stdio"
	TransportStreamableHTTP = "streamable-http"
	TransportSSE            = "sse"
	// TransportInProcess: an mcp-go server in this process (the built-in
	// tool engine), reached without serialising to a pipe or socket.
	TransportInProcess = "inprocess"
)

// Spec says how to reach one upstream server.
type Spec struct {
	Name      string
	Transport string // TransportStdio, TransportStreamableHTTP, TransportSSE or TransportInProcess

	Command    string
	Args       []string
	Env        map[string]string
	Dir        string
	InheritEnv bool // pass the proxy's whole environment to the child (used by `sovereign run`)

	URL     string
	Headers map[string]string

	// InProcess is the server of TransportInProcess.
	InProcess *server.MCPServer

	Timeout         time.Duration // per request; also bounds the handshake
	MaxMessageBytes int64
}

// Events receives what happens on an upstream. The proxy implements it.
// Methods are called from the upstream's own goroutines and must not block
// for long.
type Events interface {
	// UpstreamReady is called after every successful handshake, including
	// each restart.
	UpstreamReady(u *Upstream)
	// UpstreamDown is called when a connected upstream is lost, and when an
	// attempt to start it fails.
	UpstreamDown(u *Upstream, err error)
	// UpstreamNotification is called for every notification the server sends.
	UpstreamNotification(u *Upstream, n mcp.JSONRPCNotification)
	// UpstreamSampling relays a sampling/createMessage request of the server.
	UpstreamSampling(ctx context.Context, u *Upstream, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error)
	// UpstreamElicitation relays an elicitation/create request of the server.
	UpstreamElicitation(ctx context.Context, u *Upstream, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error)
	// UpstreamRoots relays a roots/list request of the server.
	UpstreamRoots(ctx context.Context, u *Upstream, req mcp.ListRootsRequest) (*mcp.ListRootsResult, error)
	// ClientCapabilities returns the capabilities to declare in the
	// handshake (sampling, elicitation, roots: what the proxy can relay). It
	// may block until they are known, e.g. until the client has initialized.
	ClientCapabilities(ctx context.Context) (mcp.ClientCapabilities, error)
}

// State is where an upstream is in its life.
type State int32

const (
	StateStarting State = iota // not yet connected
	StateReady                 // handshake done, requests flow
	StateDown                  // lost or failed; a restart is scheduled
	StateStopped               // Run returned
)

func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateReady:
		return "ready"
	case StateDown:
		return "down"
	case StateStopped:
		return "stopped"
	}
	return "unknown"
}

// Backoff bounds between restart attempts.
const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 30 * time.Second
	// stableAfter is how long a connection must live for the backoff to reset.
	stableAfter = 30 * time.Second
	// pingEvery is how often HTTP upstreams are checked for liveness.
	pingEvery = 15 * time.Second
)

// Upstream is one supervised connection to an MCP server.
type Upstream struct {
	spec       Spec
	log        hclog.Logger
	events     Events
	clientInfo mcp.Implementation

	mu           sync.RWMutex
	conn         *conn
	state        State
	lastErr      error
	instructions string

	nextID atomic.Uint64
}

// New prepares an upstream; Run connects it.
func New(spec Spec, clientInfo mcp.Implementation, events Events, log hclog.Logger) *Upstream {
	if spec.Timeout <= 0 {
		spec.Timeout = 60 * time.Second
	}
	if spec.MaxMessageBytes <= 0 {
		spec.MaxMessageBytes = 4 << 20
	}
	return &Upstream{spec: spec, log: log, events: events, clientInfo: clientInfo}
}

// Name is the server's key in the config.
func (u *Upstream) Name() string { return u.spec.Name }

// Transport is the transport name of the server.
func (u *Upstream) Transport() string { return u.spec.Transport }

// Timeout is the per-request timeout of the server.
func (u *Upstream) Timeout() time.Duration { return u.spec.Timeout }

// State reports the current state and the last error seen.
func (u *Upstream) State() (State, error) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.state, u.lastErr
}

// Capabilities returns what the server declared in its handshake, and false
// while it is not connected.
func (u *Upstream) Capabilities() (mcp.ServerCapabilities, bool) {
	c := u.current()
	if c == nil {
		return mcp.ServerCapabilities{}, false
	}
	return c.init.Capabilities, true
}

// ServerInfo returns the server's self-description from its handshake.
func (u *Upstream) ServerInfo() (mcp.Implementation, bool) {
	c := u.current()
	if c == nil {
		return mcp.Implementation{}, false
	}
	return c.init.ServerInfo, true
}

// Instructions returns the server's instructions from its last successful
// handshake ("" when it gave none or never connected). They stay known while
// the server restarts.
func (u *Upstream) Instructions() string {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.instructions
}

func (u *Upstream) current() *conn {
	u.mu.RLock()
	defer u.mu.RUnlock()
	if u.state != StateReady {
		return nil
	}
	return u.conn
}

// Run connects the upstream and keeps it connected until ctx ends, restarting
// it with exponential backoff whenever it fails to start or is lost.
func (u *Upstream) Run(ctx context.Context) {
	defer u.setState(StateStopped, nil, nil)
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		c, err := u.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			u.setState(StateDown, nil, err)
			u.log.Error("upstream failed to start", "attempt", attempt, "retry_in", backoff.String(), "error", err)
			u.events.UpstreamDown(u, err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		started := time.Now()
		u.setState(StateReady, c, nil)
		u.log.Info("upstream ready", "server", c.init.ServerInfo.Name, "server_version", c.init.ServerInfo.Version,
			"protocol", c.init.ProtocolVersion, "attempt", attempt)
		u.events.UpstreamReady(u)

		lost := c.wait(ctx)
		u.setState(StateDown, nil, lost)
		c.close()
		if ctx.Err() != nil {
			return
		}
		u.log.Error("upstream lost", "error", lost, "retry_in", backoff.String())
		u.events.UpstreamDown(u, lost)
		if time.Since(started) > stableAfter {
			backoff = minBackoff
		}
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

func (u *Upstream) setState(s State, c *conn, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.state, u.conn = s, c
	if c != nil {
		u.instructions = c.init.Instructions
	}
	if err != nil || s == StateReady {
		u.lastErr = err
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// unavailable builds the error for a request that cannot be sent now.
func (u *Upstream) unavailable() error {
	state, last := u.State()
	if last != nil {
		return fmt.Errorf("%w: server %q is %s (last error: %v)", ErrUnavailable, u.spec.Name, state, last)
	}
	return fmt.Errorf("%w: server %q is %s", ErrUnavailable, u.spec.Name, state)
}

// Request sends one JSON-RPC request and returns the raw result. A JSON-RPC
// error answered by the server comes back as *RPCError. When ctx ends before
// the answer (the client cancelled, or the timeout passed), the server is
// sent notifications/cancelled for the request.
func (u *Upstream) Request(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c := u.current()
	if c == nil {
		return nil, u.unavailable()
	}
	id := mcp.NewRequestId("sov-" + strconv.FormatUint(u.nextID.Add(1), 10))
	rctx, cancel := context.WithTimeout(ctx, u.spec.Timeout)
	defer cancel()
	resp, err := c.tr.SendRequest(rctx, transport.JSONRPCRequest{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Method: method, Params: params})
	if err != nil {
		if rctx.Err() != nil {
			reason := "cancelled by the client"
			if ctx.Err() == nil {
				reason = "timed out in the proxy after " + u.spec.Timeout.String()
			}
			c.sendCancelled(id, reason)
			if ctx.Err() == nil {
				return nil, fmt.Errorf("%w: %s did not answer %s within %s", ErrTimeout, u.spec.Name, method, u.spec.Timeout)
			}
			return nil, ctx.Err()
		}
		if errors.Is(err, transport.ErrTransportClosed) {
			c.markLost(err)
			return nil, fmt.Errorf("%w: server %q closed the connection", ErrUnavailable, u.spec.Name)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, u.spec.Name, err)
	}
	if resp.Error != nil {
		data, _ := json.Marshal(resp.Error.Data)
		if resp.Error.Data == nil {
			data = nil
		}
		return nil, &RPCError{Code: resp.Error.Code, Message: resp.Error.Message, Data: data}
	}
	return resp.Result, nil
}

// Notify sends a notification to the server; it is dropped when the server
// is not connected.
func (u *Upstream) Notify(ctx context.Context, method string, params map[string]any) error {
	c := u.current()
	if c == nil {
		return u.unavailable()
	}
	return c.tr.SendNotification(ctx, mcp.JSONRPCNotification{
		JSONRPC:      mcp.JSONRPC_VERSION,
		Notification: mcp.Notification{Method: method, Params: mcp.NotificationParams{AdditionalFields: params}},
	})
}

// maxListPages bounds pagination so a server that always returns a cursor
// cannot keep the proxy listing forever.
const maxListPages = 1000

// List fetches every page of a list method (tools/list, resources/list, ...)
// and returns the items under field as raw JSON, exactly as the server sent
// them.
func (u *Upstream) List(ctx context.Context, method, field string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	cursor := ""
	for page := 0; page < maxListPages; page++ {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		raw, err := u.Request(ctx, method, params)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("%s: malformed result: %w", method, err)
		}
		var items []json.RawMessage
		if v, ok := body[field]; ok && string(v) != "null" {
			if err := json.Unmarshal(v, &items); err != nil {
				return nil, fmt.Errorf("%s: malformed %s: %w", method, field, err)
			}
		}
		all = append(all, items...)
		cursor = ""
		if v, ok := body["nextCursor"]; ok {
			_ = json.Unmarshal(v, &cursor)
		}
		if cursor == "" {
			return all, nil
		}
	}
	return nil, fmt.Errorf("%s: more than %d pages", method, maxListPages)
}
