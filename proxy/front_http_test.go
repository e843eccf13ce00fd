package proxy

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// guardStatus sends a request with the given Host and Origin through a
// hostGuard built from opts and returns the status and whether the wrapped
// handler ran.
func guardStatus(t *testing.T, opts HTTPOptions, host, origin string) (int, bool) {
	t.Helper()
	g, err := newHostGuard(opts)
	if err != nil {
		t.Fatalf("newHostGuard(%+v): %v", opts, err)
	}
	called := false
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		called = true
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Host = host
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, called
}

func TestHostGuardHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts HTTPOptions
		host string
		ok   bool
	}{
		{"localhost", HTTPOptions{}, "localhost", true},
		{"localhost with port", HTTPOptions{}, "localhost:8080", true},
		{"localhost upper case", HTTPOptions{}, "LocalHost:1", true},
		{"localhost trailing dot", HTTPOptions{}, "localhost.:80", true},
		{"127.0.0.1 with port", HTTPOptions{}, "127.0.0.1:8080", true},
		{"127.0.0.1", HTTPOptions{}, "127.0.0.1", true},
		{"other 127/8 address", HTTPOptions{}, "127.5.5.5", true},
		{"other 127/8 address with port", HTTPOptions{}, "127.5.5.5:3000", true},
		{"IPv6 loopback with port", HTTPOptions{}, "[::1]:9", true},
		{"IPv6 loopback bracketed", HTTPOptions{}, "[::1]", true},
		{"IPv6 loopback bare", HTTPOptions{}, "::1", true},
		{"evil host", HTTPOptions{}, "evil.example", false},
		{"evil host with port", HTTPOptions{}, "evil.example:8080", false},
		{"loopback name as a subdomain", HTTPOptions{}, "localhost.evil.example", false},
		{"loopback address as a subdomain", HTTPOptions{}, "127.0.0.1.evil.example", false},
		{"empty host", HTTPOptions{}, "", false},
		{"unspecified address", HTTPOptions{}, "0.0.0.0:8080", false},
		{"private address", HTTPOptions{}, "192.168.1.5:8080", false},
		{"garbage", HTTPOptions{}, "localhost:80:80", false},

		{"configured host", HTTPOptions{AllowedHosts: []string{"mybox.lan"}}, "mybox.lan", true},
		{"configured host with any port", HTTPOptions{AllowedHosts: []string{"mybox.lan"}}, "mybox.lan:8080", true},
		{"configured host case-insensitive", HTTPOptions{AllowedHosts: []string{"MyBox.LAN"}}, "MYBOX.lan:1", true},
		{"configured host with trailing dot", HTTPOptions{AllowedHosts: []string{"mybox.lan."}}, "mybox.lan", true},
		{"configured host:port", HTTPOptions{AllowedHosts: []string{"app.example:8443"}}, "app.example:8443", true},
		{"configured host:port, other port", HTTPOptions{AllowedHosts: []string{"app.example:8443"}}, "app.example:9999", false},
		{"configured host:port, no port", HTTPOptions{AllowedHosts: []string{"app.example:8443"}}, "app.example", false},
		{"configured IPv6", HTTPOptions{AllowedHosts: []string{"[fd00::1]"}}, "[fd00::1]:8080", true},
		{"configured IPv6 with port", HTTPOptions{AllowedHosts: []string{"[fd00::1]:8080"}}, "[FD00::1]:8080", true},
		{"configured host is not a suffix match", HTTPOptions{AllowedHosts: []string{"mybox.lan"}}, "evil.mybox.lan", false},
		{"other hosts still rejected when some are configured", HTTPOptions{AllowedHosts: []string{"mybox.lan"}}, "evil.example", false},

		{"listen host", HTTPOptions{Addr: "192.168.1.5:8080"}, "192.168.1.5:8080", true},
		{"listen host name", HTTPOptions{Addr: "MyBox:8080"}, "mybox:8080", true},
		{"listen IPv6 host", HTTPOptions{Addr: "[fd00::2]:8080"}, "[fd00::2]:8080", true},
		{"wildcard listen host is not a name", HTTPOptions{Addr: "0.0.0.0:8080"}, "0.0.0.0:8080", false},
		{"IPv6 wildcard listen host is not a name", HTTPOptions{Addr: "[::]:8080"}, "[::]:8080", false},
		{"empty listen host", HTTPOptions{Addr: ":8080"}, "evil.example:8080", false},
		{"loopback still accepted with a listen host", HTTPOptions{Addr: "192.168.1.5:8080"}, "localhost:8080", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, called := guardStatus(t, tt.opts, tt.host, "")
			if tt.ok && (code != http.StatusNoContent || !called) {
				t.Errorf("Host %q: status %d, handler called %v; want it accepted", tt.host, code, called)
			}
			if !tt.ok && (code != http.StatusForbidden || called) {
				t.Errorf("Host %q: status %d, handler called %v; want 403 without calling the handler", tt.host, code, called)
			}
		})
	}
}

func TestHostGuardOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"absent", nil, "", true},
		{"localhost with port", nil, "http://localhost:3000", true},
		{"localhost https", nil, "https://localhost", true},
		{"localhost upper case", nil, "HTTP://LOCALHOST:3000", true},
		{"127.0.0.1", nil, "http://127.0.0.1", true},
		{"other 127/8 address", nil, "http://127.9.9.9:80", true},
		{"IPv6 loopback", nil, "http://[::1]:3000", true},
		{"trailing slash", nil, "http://localhost:3000/", true},
		{"evil", nil, "https://evil.example", false},
		{"evil http", nil, "http://evil.example:3000", false},
		{"loopback name as a subdomain", nil, "http://localhost.evil.example", false},
		{"loopback address as a subdomain", nil, "http://127.0.0.1.evil.example", false},
		{"userinfo trick", nil, "http://localhost@evil.example", false},
		{"null", nil, "null", false},
		{"file scheme", nil, "file://localhost", false},
		{"extension scheme", nil, "chrome-extension://localhost", false},
		{"no scheme", nil, "localhost:3000", false},
		{"garbage", nil, "http://%zz", false},

		{"configured", []string{"https://app.example"}, "https://app.example", true},
		{"configured case-insensitive", []string{"https://App.Example"}, "https://app.example", true},
		{"configured with trailing slash", []string{"https://app.example/"}, "https://app.example", true},
		{"request with trailing slash", []string{"https://app.example"}, "https://app.example/", true},
		{"configured with port", []string{"https://app.example:8443"}, "https://app.example:8443", true},
		{"configured, other port", []string{"https://app.example:8443"}, "https://app.example:9443", false},
		{"configured, other scheme", []string{"https://app.example"}, "http://app.example", false},
		{"configured, other host", []string{"https://app.example"}, "https://evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, called := guardStatus(t, HTTPOptions{AllowedOrigins: tt.allowed}, "localhost:8080", tt.origin)
			if tt.ok && (code != http.StatusNoContent || !called) {
				t.Errorf("Origin %q: status %d, handler called %v; want it accepted", tt.origin, code, called)
			}
			if !tt.ok && (code != http.StatusForbidden || called) {
				t.Errorf("Origin %q: status %d, handler called %v; want 403 without calling the handler", tt.origin, code, called)
			}
		})
	}
}

func TestHostGuardChecksHostBeforeOrigin(t *testing.T) {
	t.Parallel()
	// A good Origin does not excuse a bad Host.
	code, called := guardStatus(t, HTTPOptions{}, "evil.example", "http://localhost:3000")
	if code != http.StatusForbidden || called {
		t.Errorf("status %d, handler called %v; want 403", code, called)
	}
}

func TestNewHostGuardRejectsBadAddr(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"localhost", "127.0.0.1", "[::1"} {
		if _, err := newHostGuard(HTTPOptions{Addr: addr}); err == nil {
			t.Errorf("newHostGuard(Addr %q): no error", addr)
		}
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	const limit = 16
	tests := []struct {
		name        string
		body        string
		chunked     bool // no Content-Length
		max         int64
		wantStatus  int
		wantCalled  bool
		wantReadErr bool
	}{
		{"under the limit", "hello", false, limit, http.StatusOK, true, false},
		{"exactly the limit", strings.Repeat("x", limit), false, limit, http.StatusOK, true, false},
		{"declared over the limit", strings.Repeat("x", limit+1), false, limit, http.StatusRequestEntityTooLarge, false, false},
		{"chunked under the limit", "hello", true, limit, http.StatusOK, true, false},
		{"chunked exactly the limit", strings.Repeat("x", limit), true, limit, http.StatusOK, true, false},
		{"chunked over the limit", strings.Repeat("x", limit+1), true, limit, http.StatusOK, true, true},
		{"no limit", strings.Repeat("x", 1000), false, 0, http.StatusOK, true, false},
		{"negative limit is no limit", strings.Repeat("x", 1000), true, -1, http.StatusOK, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			called := false
			var readErr error
			var got []byte
			h := limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				got, readErr = io.ReadAll(r.Body)
			}), tt.max)
			r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(tt.body))
			if tt.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(tt.body)) // hide the length
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if called != tt.wantCalled {
				t.Fatalf("handler called %v, want %v", called, tt.wantCalled)
			}
			if !called {
				return
			}
			if tt.wantReadErr {
				var mbe *http.MaxBytesError
				if !errors.As(readErr, &mbe) {
					t.Errorf("reading the body: %v, want a *http.MaxBytesError", readErr)
				}
				if int64(len(got)) > tt.max {
					t.Errorf("handler read %d bytes, more than the limit %d", len(got), tt.max)
				}
				return
			}
			if readErr != nil || string(got) != tt.body {
				t.Errorf("handler read %q, %v; want the whole body", got, readErr)
			}
		})
	}
}

var sessionIDRE = regexp.MustCompile(`^sov-[A-Za-z0-9_-]{43,}$`)

func TestSessionIDsGenerate(t *testing.T) {
	t.Parallel()
	ids, err := newSessionIDs(1024)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 200 {
		id := ids.Generate()
		if !sessionIDRE.MatchString(id) {
			t.Fatalf("Generate() = %q, want sov- and at least 43 base64url characters", id)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, "sov-"))
		if err != nil || len(raw) < 32 {
			t.Fatalf("Generate() = %q: %d random bytes, %v; want at least 32", id, len(raw), err)
		}
		if seen[id] {
			t.Fatalf("Generate() repeated %q", id)
		}
		seen[id] = true
		if terminated, err := ids.Validate(id); err != nil || terminated {
			t.Fatalf("Validate(fresh %q) = %v, %v; want false, nil", id, terminated, err)
		}
	}
}

func TestSessionIDsLifecycle(t *testing.T) {
	t.Parallel()
	ids, err := newSessionIDs(16)
	if err != nil {
		t.Fatal(err)
	}
	id := ids.Generate()
	other := ids.Generate()

	for _, unknown := range []string{"", "sov-unknown", strings.TrimPrefix(id, "sov-"), id + "x"} {
		if _, err := ids.Validate(unknown); err == nil {
			t.Errorf("Validate(%q): no error for an id never issued", unknown)
		}
		if _, err := ids.Terminate(unknown); err == nil {
			t.Errorf("Terminate(%q): no error for an id never issued", unknown)
		}
	}

	if notAllowed, err := ids.Terminate(id); err != nil || notAllowed {
		t.Fatalf("Terminate(issued) = %v, %v; want false, nil", notAllowed, err)
	}
	if terminated, err := ids.Validate(id); err != nil || !terminated {
		t.Errorf("Validate(terminated) = %v, %v; want true, nil", terminated, err)
	}
	if terminated, err := ids.Validate(other); err != nil || terminated {
		t.Errorf("Validate(other) = %v, %v; terminating one id must not end another", terminated, err)
	}
	// Terminating twice is harmless and the id stays terminated.
	if _, err := ids.Terminate(id); err != nil {
		t.Errorf("second Terminate: %v", err)
	}
	if terminated, _ := ids.Validate(id); !terminated {
		t.Error("id no longer terminated after a second Terminate")
	}
}

func TestSessionIDsForgetOldest(t *testing.T) {
	t.Parallel()
	ids, err := newSessionIDs(2)
	if err != nil {
		t.Fatal(err)
	}
	first := ids.Generate()
	ids.Generate()
	ids.Generate()
	if _, err := ids.Validate(first); err == nil {
		t.Error("the oldest id is still known beyond the table's size")
	}
	if _, err := newSessionIDs(0); err == nil {
		t.Error("newSessionIDs(0): no error")
	}
}

// TestHTTPHandlerWiring checks, through the real handler, that the guard and
// the body limit sit in front of the MCP endpoints and that sessions get the
// proxy's own ids.
func TestHTTPHandlerWiring(t *testing.T) {
	t.Parallel()
	p := New(Options{})
	h, err := p.HTTPHandler(HTTPOptions{Addr: "127.0.0.1:0", MaxMessageBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	post := func(host, origin, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, PathStreamable, strings.NewReader(body))
		r.Host = host
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	if w := post("evil.example", "", initialize); w.Code != http.StatusForbidden {
		t.Errorf("evil Host: status %d, want 403", w.Code)
	}
	if w := post("localhost:8080", "https://evil.example", initialize); w.Code != http.StatusForbidden {
		t.Errorf("evil Origin: status %d, want 403", w.Code)
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 5000) + `"}}`
	if w := post("localhost:8080", "", big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", w.Code)
	}
	w := post("localhost:8080", "http://localhost:3000", initialize)
	if w.Code != http.StatusOK {
		t.Fatalf("initialize: status %d, body %s", w.Code, w.Body)
	}
	if id := w.Header().Get("Mcp-Session-Id"); !sessionIDRE.MatchString(id) {
		t.Errorf("session id %q, want one issued by sessionIDs", id)
	}
}
