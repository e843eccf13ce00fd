package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

type tableTestKey struct{}

// namedCtx is a context that says which call it stands for.
func namedCtx(name string) context.Context {
	return context.WithValue(context.Background(), tableTestKey{}, name)
}

func ctxName(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	s, _ := ctx.Value(tableTestKey{}).(string)
	return s
}

func TestCallTableLatest(t *testing.T) {
	t.Parallel()
	all := func(context.Context) bool { return true }
	only := func(names ...string) func(context.Context) bool {
		return func(ctx context.Context) bool {
			for _, n := range names {
				if ctxName(ctx) == n {
					return true
				}
			}
			return false
		}
	}
	tab := newCallTable()
	doneA := tab.add("s1", namedCtx("a"))
	doneB := tab.add("s1", namedCtx("b"))
	doneC := tab.add("s2", namedCtx("c"))
	doneD := tab.add("s1", namedCtx("d"))

	steps := []struct {
		name   string
		before func()
		server string
		ok     func(context.Context) bool
		want   string // "" for none
	}{
		{"newest of the server", nil, "s1", all, "d"},
		{"other server", nil, "s2", all, "c"},
		{"unknown server", nil, "s3", all, ""},
		{"newest that satisfies ok", nil, "s1", only("a", "b"), "b"},
		{"older one when only it satisfies ok", nil, "s1", only("a"), "a"},
		{"none satisfies ok", nil, "s1", only("c"), ""},
		{"finished newest is forgotten", doneD, "s1", all, "b"},
		{"finished middle is forgotten", doneB, "s1", all, "a"},
		{"done twice is harmless", doneB, "s1", all, "a"},
		{"all finished", doneA, "s1", all, ""},
		{"other server unaffected", nil, "s2", all, "c"},
		{"other server finished", doneC, "s2", all, ""},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		ctx, ok := tab.latest(st.server, st.ok)
		if got := ctxName(ctx); got != st.want || ok != (st.want != "") {
			t.Errorf("%s: latest(%q) = %q, %v; want %q, %v", st.name, st.server, got, ok, st.want, st.want != "")
		}
	}

	// A call added after others finished is the newest again.
	doneE := tab.add("s1", namedCtx("e"))
	defer doneE()
	if ctx, _ := tab.latest("s1", all); ctxName(ctx) != "e" {
		t.Errorf("latest after re-adding = %q, want e", ctxName(ctx))
	}
}

func TestCallTableConcurrent(t *testing.T) {
	t.Parallel()
	tab := newCallTable()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			server := fmt.Sprintf("s%d", i%3)
			for j := range 200 {
				done := tab.add(server, namedCtx(fmt.Sprintf("%d-%d", i, j)))
				if _, ok := tab.latest(server, func(context.Context) bool { return true }); !ok {
					t.Errorf("latest(%q) found nothing while a call is in flight", server)
				}
				done()
			}
		})
	}
	wg.Wait()
	for i := range 3 {
		if ctx, ok := tab.latest(fmt.Sprintf("s%d", i), func(context.Context) bool { return true }); ok {
			t.Errorf("call %q still listed after every call finished", ctxName(ctx))
		}
	}
}

func TestProgressTable(t *testing.T) {
	t.Parallel()
	tab := newProgressTable()
	clientTokens := []mcp.ProgressToken{"client-token", 42, float64(7.5), json.Number("9")}
	type reg struct {
		token   mcp.ProgressToken
		release func()
		ctx     context.Context
		client  mcp.ProgressToken
	}
	var regs []reg
	seen := map[string]bool{}
	for i, ct := range clientTokens {
		ctx := namedCtx(fmt.Sprintf("call-%d", i))
		tok, release := tab.register(ctx, ct)
		s, ok := tok.(string)
		if !ok || !strings.HasPrefix(s, "sov-progress-") {
			t.Fatalf("register gave token %#v, want a string starting sov-progress-", tok)
		}
		if seen[s] {
			t.Fatalf("register repeated token %q", s)
		}
		seen[s] = true
		regs = append(regs, reg{tok, release, ctx, ct})
	}

	for _, r := range regs {
		e, ok := tab.lookup(r.token)
		if !ok {
			t.Fatalf("lookup(%v): not found", r.token)
		}
		if !reflect.DeepEqual(e.token, r.client) {
			t.Errorf("lookup(%v).token = %#v, want the client's %#v unchanged", r.token, e.token, r.client)
		}
		if ctxName(e.ctx) != ctxName(r.ctx) {
			t.Errorf("lookup(%v).ctx is call %q, want %q", r.token, ctxName(e.ctx), ctxName(r.ctx))
		}
	}

	for _, bad := range []any{nil, 1, int64(1), float64(1), json.Number("1"), []byte("sov-progress-1"), "sov-progress-999", "", "client-token"} {
		if e, ok := tab.lookup(bad); ok {
			t.Errorf("lookup(%#v) = %+v, want not found", bad, e)
		}
	}

	regs[0].release()
	if _, ok := tab.lookup(regs[0].token); ok {
		t.Error("token still found after release")
	}
	regs[0].release() // twice is harmless
	if _, ok := tab.lookup(regs[1].token); !ok {
		t.Error("releasing one token dropped another")
	}
	for _, r := range regs[1:] {
		r.release()
	}
}

func TestProgressTableConcurrentTokensAreUnique(t *testing.T) {
	t.Parallel()
	tab := newProgressTable()
	var mu sync.Mutex
	seen := map[mcp.ProgressToken]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				tok, _ := tab.register(context.Background(), "c")
				mu.Lock()
				if seen[tok] {
					t.Errorf("token %v issued twice", tok)
				}
				seen[tok] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestSubscriptionTable(t *testing.T) {
	t.Parallel()
	tab := newSubscriptionTable()
	steps := []struct {
		name string
		op   func() bool
		want bool
	}{
		{"first subscriber of u1", func() bool { return tab.add("s1", "u1") }, true},
		{"second subscriber of u1", func() bool { return tab.add("s2", "u1") }, false},
		{"same session again is not a first", func() bool { return tab.add("s1", "u1") }, false},
		{"first subscriber of u2", func() bool { return tab.add("s1", "u2") }, true},
		{"remove one of two", func() bool { return tab.remove("s1", "u1") }, false},
		{"remove a session that is not subscribed", func() bool { return tab.remove("s9", "u1") }, false},
		{"remove from an unknown URI", func() bool { return tab.remove("s1", "nope") }, false},
		{"remove the last", func() bool { return tab.remove("s2", "u1") }, true},
		{"remove again once gone", func() bool { return tab.remove("s2", "u1") }, false},
		{"first again after all left", func() bool { return tab.add("s3", "u1") }, true},
	}
	for _, st := range steps {
		if got := st.op(); got != st.want {
			t.Fatalf("%s: got %v, want %v", st.name, got, st.want)
		}
	}
	if got, want := tab.uris(), []string{"u1", "u2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("uris() = %v, want %v", got, want)
	}
	if got := tab.sessions("u1"); !reflect.DeepEqual(got, []string{"s3"}) {
		t.Errorf("sessions(u1) = %v, want [s3]", got)
	}
	if got := tab.sessions("nope"); len(got) != 0 {
		t.Errorf("sessions(unknown) = %v, want none", got)
	}
}

// TestSubscriptionTableResubscribeThenRemove: a session subscribing twice
// holds one subscription; its single unsubscribe leaves the URI free.
func TestSubscriptionTableResubscribeThenRemove(t *testing.T) {
	t.Parallel()
	tab := newSubscriptionTable()
	if !tab.add("s1", "u") {
		t.Fatal("first add is not a first")
	}
	if tab.add("s1", "u") {
		t.Error("second add by the same session reported as the URI's first; the upstream would be subscribed again")
	}
	if !tab.remove("s1", "u") {
		t.Error("the session's unsubscribe did not leave the URI without subscribers")
	}
	if got := tab.uris(); len(got) != 0 {
		t.Errorf("uris() = %v, want none", got)
	}
}

func TestSubscriptionTableDropSession(t *testing.T) {
	t.Parallel()
	tab := newSubscriptionTable()
	for _, s := range []struct{ session, uri string }{
		{"a", "u3"}, {"a", "u1"}, {"a", "u2"}, {"b", "u2"}, {"b", "u4"}, {"a", "u5"},
	} {
		tab.add(s.session, s.uri)
	}
	if got, want := tab.dropSession("a"), []string{"u1", "u3", "u5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dropSession(a) = %v, want %v (sorted, without u2 which b still holds)", got, want)
	}
	if got, want := tab.uris(), []string{"u2", "u4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("uris() after dropping a = %v, want %v", got, want)
	}
	if got := tab.sessions("u2"); !reflect.DeepEqual(got, []string{"b"}) {
		t.Errorf("sessions(u2) = %v, want [b]", got)
	}
	if got := tab.dropSession("a"); len(got) != 0 {
		t.Errorf("dropSession(a) again = %v, want none", got)
	}
	if got := tab.dropSession("unknown"); len(got) != 0 {
		t.Errorf("dropSession(unknown) = %v, want none", got)
	}
	if got, want := tab.dropSession("b"), []string{"u2", "u4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dropSession(b) = %v, want %v", got, want)
	}
	if got := tab.uris(); len(got) != 0 {
		t.Errorf("uris() = %v, want none", got)
	}
}

func TestSubscriptionTableConcurrent(t *testing.T) {
	t.Parallel()
	tab := newSubscriptionTable()
	var mu sync.Mutex
	firsts, lasts := map[string]int{}, map[string]int{}
	count := func(m map[string]int, uri string) {
		mu.Lock()
		m[uri]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			session := fmt.Sprintf("s%d", i)
			for j := range 50 {
				uri := fmt.Sprintf("u%d", j%5)
				if tab.add(session, uri) {
					count(firsts, uri)
				}
				if j%2 == 0 && tab.remove(session, uri) {
					count(lasts, uri)
				}
			}
			for _, uri := range tab.dropSession(session) {
				count(lasts, uri)
			}
		})
	}
	wg.Wait()
	if got := tab.uris(); len(got) != 0 {
		t.Errorf("uris() = %v after every session left", got)
	}
	// Each URI became subscribed exactly as often as it became free, so
	// every upstream subscribe is matched by one unsubscribe.
	if !reflect.DeepEqual(firsts, lasts) {
		t.Errorf("firsts %v, lasts %v; want them equal", firsts, lasts)
	}
}
