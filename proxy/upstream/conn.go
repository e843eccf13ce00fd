package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// conn is one live connection: a handshake done over one transport. A restart
// makes a new conn; an old one is never reused.
type conn struct {
	c    *client.Client
	tr   transport.Interface
	init *mcp.InitializeResult
	proc *process // stdio only

	cancel   context.CancelFunc // ends the connection's own context
	lost     chan struct{}
	lostOnce sync.Once
	lostErr  error
}

func (c *conn) markLost(err error) {
	c.lostOnce.Do(func() {
		c.lostErr = err
		close(c.lost)
	})
}

// wait blocks until the connection is lost or ctx ends, and says why.
func (c *conn) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.lost:
		return c.lostErr
	}
}

// close tears the connection down, killing a stdio child's process group.
func (c *conn) close() {
	c.cancel()
	switch {
	case c.c != nil:
		_ = c.c.Close()
	case c.tr != nil:
		_ = c.tr.Close()
	}
	if c.proc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c.proc.stop(ctx)
	}
}

// sendCancelled tells the server that the proxy no longer waits for request
// id, off the caller's path.
func (c *conn) sendCancelled(id mcp.RequestId, reason string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.tr.SendNotification(ctx, mcp.JSONRPCNotification{
			JSONRPC: mcp.JSONRPC_VERSION,
			Notification: mcp.Notification{
				Method: string(mcp.MethodNotificationCancelled),
				Params: mcp.NotificationParams{AdditionalFields: map[string]any{"requestId": id, "reason": reason}},
			},
		})
	}()
}

// samplingRelay and elicitationRelay adapt the client's handler interfaces to
// Events, remembering which upstream asked.
type samplingRelay struct{ u *Upstream }

func (r samplingRelay) CreateMessage(ctx context.Context, req mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	return r.u.events.UpstreamSampling(ctx, r.u, req)
}

type elicitationRelay struct{ u *Upstream }

func (r elicitationRelay) Elicit(ctx context.Context, req mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return r.u.events.UpstreamElicitation(ctx, r.u, req)
}

type rootsRelay struct{ u *Upstream }

func (r rootsRelay) ListRoots(ctx context.Context, req mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return r.u.events.UpstreamRoots(ctx, r.u, req)
}

// clientOptions declares exactly the relayable capabilities in caps, with a
// handler for each.
func clientOptions(u *Upstream, caps mcp.ClientCapabilities) []client.ClientOption {
	declared := mcp.ClientCapabilities{Sampling: caps.Sampling, Elicitation: caps.Elicitation, Roots: caps.Roots}
	opts := []client.ClientOption{client.WithClientCapabilities(declared)}
	if caps.Sampling != nil {
		opts = append(opts, client.WithSamplingHandler(samplingRelay{u}))
	}
	if caps.Elicitation != nil {
		opts = append(opts, client.WithElicitationHandler(elicitationRelay{u}))
	}
	if caps.Roots != nil {
		opts = append(opts, client.WithRootsHandler(rootsRelay{u}))
	}
	return opts
}

// connect starts the transport and performs the handshake, bounded by the
// server's timeout.
func (u *Upstream) connect(parent context.Context) (*conn, error) {
	ctx, cancel := context.WithCancel(parent)
	c := &conn{cancel: cancel, lost: make(chan struct{})}
	var err error
	switch u.spec.Transport {
	case TransportStdio:
		env := childEnv(u.spec.InheritEnv, u.spec.Env)
		c.proc, err = startProcess(u.spec.Command, u.spec.Args, u.spec.Dir, env, u.log.Named("child"), u.spec.MaxMessageBytes)
		if err != nil {
			cancel()
			return nil, err
		}
		u.log.Info("started child", "command", u.spec.Command, "pid", c.proc.cmd.Process.Pid)
		c.tr = transport.NewIO(c.proc.stdout, c.proc.stdin, nil)
	case TransportStreamableHTTP:
		c.tr, err = transport.NewStreamableHTTP(u.spec.URL,
			transport.WithHTTPHeaders(u.spec.Headers),
			transport.WithHTTPBasicClient(newLimitedClient(u.spec.MaxMessageBytes)),
			transport.WithContinuousListening())
	case TransportSSE:
		c.tr, err = transport.NewSSE(u.spec.URL, transport.WithHeaders(u.spec.Headers),
			transport.WithHTTPClient(newLimitedClient(u.spec.MaxMessageBytes)))
	case TransportInProcess:
		if u.spec.InProcess == nil {
			err = errors.New("in-process upstream without a server")
			break
		}
		c.tr = transport.NewInProcessTransport(u.spec.InProcess)
	default:
		err = fmt.Errorf("unknown transport %q", u.spec.Transport)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	fail := func(err error) (*conn, error) {
		c.markLost(err)
		c.close()
		return nil, err
	}
	// A stdio child is already starting; the handshake waits until the
	// capabilities to declare are known (the client's, when mirrored).
	caps, err := u.events.ClientCapabilities(ctx)
	if err != nil {
		return fail(fmt.Errorf("client capabilities: %w", err))
	}
	c.c = client.NewClient(c.tr, clientOptions(u, caps)...)
	c.c.OnNotification(func(n mcp.JSONRPCNotification) { u.events.UpstreamNotification(u, n) })
	c.c.OnConnectionLost(func(err error) { c.markLost(fmt.Errorf("connection lost: %w", err)) })

	hctx, hcancel := context.WithTimeout(ctx, u.spec.Timeout)
	defer hcancel()
	if err := c.c.Start(ctx); err != nil {
		return fail(fmt.Errorf("start transport: %w", err))
	}
	if c.proc != nil {
		go func() {
			select {
			case <-c.proc.exited:
				c.markLost(fmt.Errorf("child exited: %s", exitDescription(c.proc.err)))
			case <-ctx.Done():
			}
		}()
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
	init.Params.ClientInfo = u.clientInfo
	type result struct {
		r   *mcp.InitializeResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := c.c.Initialize(hctx, init)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			if c.proc != nil {
				select {
				case <-c.proc.exited:
					return fail(fmt.Errorf("handshake: child exited: %s", exitDescription(c.proc.err)))
				default:
				}
			}
			return fail(fmt.Errorf("handshake: %w", res.err))
		}
		c.init = res.r
	case <-c.lost:
		return fail(fmt.Errorf("handshake: %w", c.lostErr))
	case <-hctx.Done():
		if parent.Err() != nil {
			return fail(parent.Err())
		}
		return fail(fmt.Errorf("handshake: no answer within %s", u.spec.Timeout))
	}
	if u.spec.Transport == TransportStreamableHTTP || u.spec.Transport == TransportSSE {
		go u.watchHTTP(ctx, c)
	}
	return c, nil
}

// watchHTTP pings an HTTP upstream periodically; two failed pings in a row
// mean the connection is lost (a restarted server forgets our session).
func (u *Upstream) watchHTTP(ctx context.Context, c *conn) {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.lost:
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, min(u.spec.Timeout, 10*time.Second))
		err := c.c.Ping(pctx)
		cancel()
		if err == nil {
			failures = 0
			continue
		}
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return
		}
		failures++
		u.log.Warn("upstream ping failed", "failures", failures, "error", err)
		if failures >= 2 {
			c.markLost(fmt.Errorf("ping failed twice: %w", err))
			return
		}
	}
}
