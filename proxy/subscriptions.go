package proxy

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy/catalog"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// subscriptionTable records which client sessions subscribed to which
// exposed resource URIs, so that an upstream's resources/updated reaches
// exactly those sessions and the upstream is unsubscribed when the last one
// leaves.
type subscriptionTable struct {
	mu    sync.Mutex
	byURI map[string]map[string]struct{} // exposed URI → session ids
}

func newSubscriptionTable() *subscriptionTable {
	return &subscriptionTable{byURI: map[string]map[string]struct{}{}}
}

// add records a subscription and reports whether it is the URI's first. A
// session subscribing again to a URI it already holds is not a first.
func (t *subscriptionTable) add(session, uri string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byURI[uri]
	if s == nil {
		s = map[string]struct{}{}
		t.byURI[uri] = s
	}
	if _, again := s[session]; again {
		return false
	}
	s[session] = struct{}{}
	return len(s) == 1
}

// remove drops a subscription and reports whether the URI has none left.
func (t *subscriptionTable) remove(session, uri string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byURI[uri]
	if !ok {
		return false
	}
	delete(s, session)
	if len(s) == 0 {
		delete(t.byURI, uri)
		return true
	}
	return false
}

// dropSession removes every subscription of a session and returns the URIs
// left without subscribers.
func (t *subscriptionTable) dropSession(session string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var orphaned []string
	for uri, s := range t.byURI {
		if _, ok := s[session]; ok {
			delete(s, session)
			if len(s) == 0 {
				delete(t.byURI, uri)
				orphaned = append(orphaned, uri)
			}
		}
	}
	sort.Strings(orphaned)
	return orphaned
}

func (t *subscriptionTable) sessions(uri string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.byURI[uri]))
	for s := range t.byURI[uri] {
		out = append(out, s)
	}
	return out
}

func (t *subscriptionTable) uris() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.byURI))
	for u := range t.byURI {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

// routeURI finds the upstream and original URI behind an exposed resource
// URI: a listed resource, a rewritten URI, a template match, or — when only
// one upstream serves resources — that upstream.
func (p *Proxy) routeURI(uri string) (server, original string, ok bool) {
	cat := p.cat.Load()
	if e, ok := cat.Resource(uri); ok {
		return e.Server, e.Original, true
	}
	if strings.HasPrefix(uri, catalog.RewrittenURIScheme) {
		if s, o, ok := catalog.ParseRewrittenURI(uri); ok {
			return s, o, true
		}
	}
	if s, ok := p.templateServer(uri); ok {
		return s, uri, true
	}
	var only string
	n := 0
	for name, u := range p.upstreams {
		if u.Transport() == upstream.TransportInProcess {
			continue // the built-in engine lists all it has: an unlisted URI is never its
		}
		if caps, ok := u.Capabilities(); ok && caps.Resources != nil {
			only = name
			n++
		}
	}
	if n == 1 {
		return only, uri, true
	}
	return "", "", false
}

// exposedURI is the URI clients know for an upstream's resource.
func (p *Proxy) exposedURI(server, original string) string {
	for _, e := range p.cat.Load().Resources {
		if e.Server == server && e.Original == original {
			return e.Name
		}
	}
	return original
}

// resourceUpdated relays an upstream's resources/updated to the sessions that
// subscribed to the resource.
func (p *Proxy) resourceUpdated(server, original string, params map[string]any) {
	uri := p.exposedURI(server, original)
	params["uri"] = uri
	for _, sid := range p.subs.sessions(uri) {
		if err := p.srv.SendNotificationToSpecificClient(sid, "notifications/resources/updated", params); err != nil {
			p.log.Debug("resource update not relayed", "session_id", sid, "error", err)
		}
	}
}

// resubscribe renews, on a restarted upstream, the subscriptions clients hold
// on its resources.
func (p *Proxy) resubscribe(u *upstream.Upstream) {
	for _, uri := range p.subs.uris() {
		server, original, ok := p.routeURI(uri)
		if !ok || server != u.Name() {
			continue
		}
		if _, err := u.Request(context.Background(), mcpmsg.ResourcesSubscribe, map[string]any{"uri": original}); err != nil {
			p.log.Warn("resubscribe failed", "upstream", u.Name(), "uri", uri, "error", err)
		}
	}
}

// unsubscribeUpstream tells the upstream behind uri that no client listens
// any more.
func (p *Proxy) unsubscribeUpstream(ctx context.Context, uri string) {
	server, original, ok := p.routeURI(uri)
	if !ok {
		return
	}
	if u, ok := p.upstreams[server]; ok {
		if _, err := u.Request(ctx, mcpmsg.ResourcesUnsubscribe, map[string]any{"uri": original}); err != nil {
			p.log.Debug("upstream unsubscribe failed", "upstream", server, "uri", uri, "error", err)
		}
	}
}
