package proxy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// HTTP paths of the fronts.
const (
	PathStreamable = "/mcp"
	PathSSE        = "/sse"
	PathMessage    = "/message"
)

// HTTPOptions configure the HTTP fronts.
type HTTPOptions struct {
	// Addr is the listen address; its host is accepted in Host headers.
	Addr string
	// AllowedHosts are extra Host header names accepted besides loopback.
	AllowedHosts []string
	// AllowedOrigins are extra Origin values accepted besides loopback.
	AllowedOrigins []string
	// MaxMessageBytes bounds a request body.
	MaxMessageBytes int64
	// SessionIdleTTL ends Streamable HTTP sessions idle this long.
	SessionIdleTTL time.Duration
}

// maxTrackedSessions bounds the session ids the HTTP front remembers; the
// oldest are forgotten first, and a client that used one re-initializes.
const maxTrackedSessions = 65536

// HTTPHandler returns the handler serving Streamable HTTP at /mcp and legacy
// SSE at /sse and /message, behind Host/Origin validation and a body limit.
func (p *Proxy) HTTPHandler(opts HTTPOptions) (http.Handler, error) {
	ids, err := newSessionIDs(maxTrackedSessions)
	if err != nil {
		return nil, err
	}
	if opts.SessionIdleTTL <= 0 {
		opts.SessionIdleTTL = 30 * time.Minute
	}
	streamable := server.NewStreamableHTTPServer(p.srv,
		server.WithHTTPContextFunc(withHTTPPrincipal),
		server.WithSessionIdManager(ids),
		server.WithSessionIdleTTL(opts.SessionIdleTTL),
		server.WithStreamableHTTPProtocolVersions(mcp.LegacyProtocolVersions()...),
		server.WithDisableLocalhostProtection(true), // hostGuard does it, with the configured names
	)
	sse := server.NewSSEServer(p.srv,
		server.WithSSEContextFunc(withHTTPPrincipal),
		server.WithSSEEndpoint(PathSSE),
		server.WithMessageEndpoint(PathMessage),
		server.WithUseFullURLForMessageEndpoint(false),
		server.WithKeepAlive(true),
		server.WithSessionIDGenerator(func(context.Context, *http.Request) (string, error) { return newSessionID() }),
		server.WithSSEDisableLocalhostProtection(true),
	)
	mux := http.NewServeMux()
	mux.Handle(PathStreamable, streamable)
	mux.Handle(PathSSE, sse.SSEHandler())
	mux.Handle(PathMessage, sse.MessageHandler())
	guard, err := newHostGuard(opts)
	if err != nil {
		return nil, err
	}
	return guard.wrap(limitBody(mux, opts.MaxMessageBytes)), nil
}

// newSessionID returns 256 bits of randomness, URL-safe.
func newSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return "sov-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionIDs issues unguessable Streamable HTTP session ids and accepts only
// ids it issued and has not seen terminated.
type sessionIDs struct {
	live *lru.Cache[string, bool] // id → terminated
}

func newSessionIDs(size int) (*sessionIDs, error) {
	c, err := lru.New[string, bool](size)
	if err != nil {
		return nil, err
	}
	return &sessionIDs{live: c}, nil
}

var errUnknownSession = errors.New("unknown session id")

func (s *sessionIDs) Generate() string {
	id, err := newSessionID()
	if err != nil {
		// crypto/rand does not fail on supported platforms; an empty id
		// makes the initialize request fail rather than issue a weak one.
		return ""
	}
	s.live.Add(id, false)
	return id
}

func (s *sessionIDs) Validate(id string) (bool, error) {
	terminated, ok := s.live.Get(id)
	if !ok {
		return false, errUnknownSession
	}
	return terminated, nil
}

func (s *sessionIDs) Terminate(id string) (bool, error) {
	if _, ok := s.live.Get(id); !ok {
		return false, errUnknownSession
	}
	s.live.Add(id, true)
	return false, nil
}

// limitBody refuses request bodies larger than max: 413 when the length is
// declared, a read error (and a JSON-RPC parse error) when it is not.
func limitBody(next http.Handler, max int64) http.Handler {
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", max), http.StatusRequestEntityTooLarge)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// hostGuard protects against DNS rebinding: the Host header must name a
// loopback address, the listen host or a configured name, and an Origin
// header, when present, must be loopback or configured.
type hostGuard struct {
	hosts   []string
	origins []string
}

func newHostGuard(opts HTTPOptions) (*hostGuard, error) {
	g := &hostGuard{hosts: []string{"localhost", "127.0.0.1", "::1"}}
	if opts.Addr != "" {
		host, _, err := net.SplitHostPort(opts.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen address %q: %w", opts.Addr, err)
		}
		if host != "" && !net.ParseIP(host).IsUnspecified() {
			g.hosts = append(g.hosts, strings.ToLower(host))
		}
	}
	for _, h := range opts.AllowedHosts {
		// A configured host may carry a port, as sent in the Host header;
		// then only that port matches.
		name, port := splitHost(h)
		if port != "" {
			name = net.JoinHostPort(name, port)
		}
		g.hosts = append(g.hosts, name)
	}
	for _, o := range opts.AllowedOrigins {
		g.origins = append(g.origins, strings.ToLower(strings.TrimSuffix(o, "/")))
	}
	return g, nil
}

func (g *hostGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.hostAllowed(r.Host) {
			http.Error(w, "Forbidden: Host not allowed", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !g.originAllowed(o) {
			http.Error(w, "Forbidden: Origin not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (g *hostGuard) hostAllowed(hostport string) bool {
	host, port := splitHost(hostport)
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.Contains(g.hosts, host) ||
		port != "" && slices.Contains(g.hosts, net.JoinHostPort(host, port))
}

// splitHost splits a Host header value into its lower-case name, without
// IPv6 brackets or a trailing dot, and its port, "" when there is none.
func splitHost(hostport string) (host, port string) {
	host = hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, p
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), ".")), port
}

func (g *hostGuard) originAllowed(origin string) bool {
	o := strings.ToLower(strings.TrimSuffix(origin, "/"))
	if slices.Contains(g.origins, o) {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpPrincipalKey marks the context of a request that came over HTTP.
type httpPrincipalKey struct{}

// withHTTPPrincipal records that a request came over HTTP. Until the
// front authenticates clients, they are all the anonymous "http" principal.
func withHTTPPrincipal(ctx context.Context, _ *http.Request) context.Context {
	return context.WithValue(ctx, httpPrincipalKey{}, Principal{Kind: "http", ID: "anonymous"})
}
