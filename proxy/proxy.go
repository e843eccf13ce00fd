package proxy

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sovereign-stack/sovereign/proxy/catalog"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// ServerName is how the proxy introduces itself to clients and upstreams.
const ServerName = "sovereign"

// Upstream describes one configured server for the proxy.
type Upstream struct {
	Spec     upstream.Spec
	Prefix   string // "" for none
	Disabled bool
}

// Options configure a Proxy.
type Options struct {
	Upstreams []Upstream
	Gate      Gate
	Logger    hclog.Logger
	Version   string
	// Instructions are sent to clients in the initialize result.
	Instructions string
	// Principal acts for clients of the stdio front (the OS user who
	// started the proxy). HTTP clients are "http" principals until
	// authentication exists.
	Principal Principal
	// SingleClient says that exactly one client will connect (the stdio
	// front alone). Upstreams then mirror that client's capabilities and
	// their handshake waits for its initialize.
	SingleClient bool
}

// Proxy aggregates upstreams behind one MCP server and gates every request.
type Proxy struct {
	// stdioSession names the stdio client's session for the built-in
	// engine: mcp-go calls every stdio session "stdio", so two proxy
	// processes (two Claude sessions) would look like one session to it.
	stdioSession string

	log     hclog.Logger
	gate    Gate
	version string
	srv     *server.MCPServer

	upstreams map[string]*upstream.Upstream // enabled servers by key
	prefixes  map[string]string             // server key → prefix
	disabled  map[string]string             // prefix → disabled server key

	refreshMu  sync.Mutex   // serialises catalog rebuilds
	refreshing sync.Map     // server key → *sync.Mutex held while that upstream is listed
	logLevel   atomic.Value // string: the last logging/setLevel a client sent, renewed on restarts
	snapMu     sync.Mutex
	snaps      map[string]catalog.Snapshot
	cat        atomic.Pointer[catalog.Catalog]
	applied    appliedCatalog // what the MCP server currently lists; guarded by refreshMu

	settleOnce sync.Once
	settled    chan struct{} // closed when every upstream has been tried once
	pending    sync.Map      // server key → struct{} until its first attempt ends
	pendingN   atomic.Int64
	settleMax  time.Duration

	ownInstructions string
	principal       Principal
	callCounts      sync.Map // session id → *atomic.Int64

	singleClient   bool
	clientInitOnce sync.Once
	clientInit     chan struct{} // closed when the single client's capabilities are known
	clientCaps     mcp.ClientCapabilities

	calls    *callTable
	progress *progressTable
	subs     *subscriptionTable
	sessions sync.Map // session id → server.ClientSession
}

// New builds a proxy. Call Run to connect the upstreams and Server to serve
// clients.
func New(opts Options) *Proxy {
	p := &Proxy{
		log:          opts.Logger,
		gate:         opts.Gate,
		version:      opts.Version,
		upstreams:    map[string]*upstream.Upstream{},
		prefixes:     map[string]string{},
		disabled:     map[string]string{},
		snaps:        map[string]catalog.Snapshot{},
		settled:      make(chan struct{}),
		clientInit:   make(chan struct{}),
		singleClient: opts.SingleClient,
		calls:        newCallTable(),
		progress:     newProgressTable(),
		subs:         newSubscriptionTable(),
		stdioSession: "stdio-" + uuid.NewString(),
	}
	if p.gate == nil {
		p.gate = AllowKnown{}
	}
	if p.log == nil {
		p.log = hclog.NewNullLogger()
	}
	p.cat.Store(catalog.Build(nil))
	info := mcp.Implementation{Name: ServerName, Version: opts.Version}
	for _, u := range opts.Upstreams {
		p.prefixes[u.Spec.Name] = u.Prefix
		if u.Disabled {
			p.disabled[u.Prefix] = u.Spec.Name
			continue
		}
		p.upstreams[u.Spec.Name] = upstream.New(u.Spec, info, p, p.log.Named("upstream").With("upstream", u.Spec.Name))
		p.pending.Store(u.Spec.Name, struct{}{})
		p.pendingN.Add(1)
		p.settleMax = max(p.settleMax, u.Spec.Timeout)
	}
	p.ownInstructions = opts.Instructions
	p.principal = opts.Principal
	p.srv = p.newMCPServer()
	if p.pendingN.Load() == 0 {
		p.settleOnce.Do(func() { close(p.settled) })
	}
	return p
}

// Server returns the MCP server that the fronts serve.
func (p *Proxy) Server() *server.MCPServer { return p.srv }

// UpstreamNames lists the enabled upstreams in name order.
func (p *Proxy) UpstreamNames() []string {
	names := make([]string, 0, len(p.upstreams))
	for n := range p.upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run connects every enabled upstream in parallel and keeps them connected
// until ctx ends. It returns when all upstreams have stopped.
func (p *Proxy) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range p.upstreams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.Run(ctx)
		}()
	}
	if len(p.upstreams) == 0 {
		p.log.Info("no upstream servers configured; serving an empty catalog")
	}
	wg.Wait()
}

// settle marks the first attempt of an upstream as finished.
func (p *Proxy) settle(name string) {
	if _, ok := p.pending.LoadAndDelete(name); ok && p.pendingN.Add(-1) == 0 {
		p.settleOnce.Do(func() { close(p.settled) })
	}
}

// waitSettled holds a list request until every upstream has had its first
// chance to connect (bounded), so the first list a client sees is complete.
func (p *Proxy) waitSettled(ctx context.Context) {
	select {
	case <-p.settled:
		return
	default:
	}
	t := time.NewTimer(p.settleMax)
	defer t.Stop()
	select {
	case <-p.settled:
	case <-t.C:
	case <-ctx.Done():
	}
}

// UpstreamReady implements upstream.Events: list the server and merge it in.
func (p *Proxy) UpstreamReady(u *upstream.Upstream) {
	go func() {
		defer p.settle(u.Name())
		p.refresh(context.Background(), u)
		p.resubscribe(u)
		if level, ok := p.logLevel.Load().(string); ok {
			p.setUpstreamLevel(context.Background(), u, level)
		}
	}()
}

// UpstreamDown implements upstream.Events. The server's catalog stays listed
// while it restarts, so clients keep a stable list; calls to it fail fast
// with a clear error until it is back.
func (p *Proxy) UpstreamDown(u *upstream.Upstream, err error) {
	p.settle(u.Name())
}

// transport names the transport of a configured upstream.
func (p *Proxy) transport(server string) string {
	if u, ok := p.upstreams[server]; ok {
		return u.Transport()
	}
	return ""
}

// countCall counts a tools/call of a session and returns the new count.
func (p *Proxy) countCall(session string) int64 {
	v, _ := p.callCounts.LoadOrStore(session, new(atomic.Int64))
	return v.(*atomic.Int64).Add(1)
}

// FindTool returns the tool the catalog exposes as name (the govern tool's
// policygate.ToolFinder).
func (p *Proxy) FindTool(name string) (catalog.Entry, bool) { return p.cat.Load().Tool(name) }
