package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sovereign-stack/sovereign/proxy/catalog"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// appliedCatalog remembers the raw items last given to the MCP server, so a
// refresh that changes nothing sends no list_changed to clients.
type appliedCatalog struct {
	tools, prompts, resources, templates []catalog.Entry
	problems                             map[string]bool
}

// refresh lists everything an upstream offers, merges it into the catalog and
// updates what clients see. A list that fails keeps the previous snapshot of
// that kind.
func (p *Proxy) refresh(ctx context.Context, u *upstream.Upstream) {
	// One refresh per upstream at a time, so an older listing never
	// overwrites a newer one.
	mu, _ := p.refreshing.LoadOrStore(u.Name(), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	caps, ok := u.Capabilities()
	if !ok {
		return
	}
	p.snapMu.Lock()
	snap := p.snaps[u.Name()]
	p.snapMu.Unlock()
	snap.Server, snap.Prefix = u.Name(), p.prefixes[u.Name()]
	list := func(on bool, method, field string, keep []json.RawMessage) []json.RawMessage {
		if !on {
			return nil
		}
		items, err := u.List(ctx, method, field)
		if err != nil {
			p.log.Error("listing upstream failed", "upstream", u.Name(), "method", method, "error", err)
			return keep
		}
		return items
	}
	snap.Tools = list(caps.Tools != nil, "tools/list", "tools", snap.Tools)
	snap.Prompts = list(caps.Prompts != nil, "prompts/list", "prompts", snap.Prompts)
	snap.Resources = list(caps.Resources != nil, "resources/list", "resources", snap.Resources)
	snap.Templates = list(caps.Resources != nil, "resources/templates/list", "resourceTemplates", snap.Templates)
	p.snapMu.Lock()
	p.snaps[u.Name()] = snap
	p.snapMu.Unlock()
	p.rebuild()
	p.log.Debug("upstream listed", "upstream", u.Name(), "tools", len(snap.Tools), "prompts", len(snap.Prompts),
		"resources", len(snap.Resources), "templates", len(snap.Templates))
}

// rebuild merges all snapshots and applies the result to the MCP server.
func (p *Proxy) rebuild() {
	p.refreshMu.Lock()
	defer p.refreshMu.Unlock()
	p.snapMu.Lock()
	snaps := make([]catalog.Snapshot, 0, len(p.snaps))
	for _, s := range p.snaps {
		snaps = append(snaps, s)
	}
	p.snapMu.Unlock()
	cat := catalog.Build(snaps)
	seen := make(map[string]bool, len(cat.Problems))
	for _, problem := range cat.Problems {
		seen[problem] = true
		if !p.applied.problems[problem] { // each problem is logged once, not at every rebuild
			p.log.Warn("catalog: " + problem)
		}
	}
	p.applied.problems = seen
	p.cat.Store(cat)

	if !sameEntries(p.applied.tools, cat.Tools) {
		p.srv.SetTools(convert(p, "tool", cat.Tools, func(e catalog.Entry) (server.ServerTool, error) {
			t, err := toolFromRaw(e)
			return server.ServerTool{Tool: t, Handler: p.callTool}, err
		})...)
		p.applied.tools = cat.Tools
	}
	if !sameEntries(p.applied.prompts, cat.Prompts) {
		p.srv.SetPrompts(convert(p, "prompt", cat.Prompts, func(e catalog.Entry) (server.ServerPrompt, error) {
			var pr mcp.Prompt
			err := json.Unmarshal(e.Raw, &pr)
			pr.Name = e.Name
			return server.ServerPrompt{Prompt: pr, Handler: p.getPrompt}, err
		})...)
		p.applied.prompts = cat.Prompts
	}
	if !sameEntries(p.applied.resources, cat.Resources) {
		p.srv.SetResources(convert(p, "resource", cat.Resources, func(e catalog.Entry) (server.ServerResource, error) {
			var r mcp.Resource
			err := json.Unmarshal(e.Raw, &r)
			r.URI = e.Name
			return server.ServerResource{Resource: r, Handler: p.readResource}, err
		})...)
		p.applied.resources = cat.Resources
	}
	if !sameEntries(p.applied.templates, cat.Templates) {
		p.srv.SetResourceTemplates(convert(p, "resource template", cat.Templates, func(e catalog.Entry) (server.ServerResourceTemplate, error) {
			var t mcp.ResourceTemplate
			err := json.Unmarshal(e.Raw, &t)
			return server.ServerResourceTemplate{Template: t, Handler: p.readTemplate}, err
		})...)
		p.applied.templates = cat.Templates
	}
}

// convert turns catalog entries into mcp-go registrations, skipping (and
// logging) items that do not decode.
func convert[T any](p *Proxy, kind string, entries []catalog.Entry, conv func(catalog.Entry) (T, error)) []T {
	out := make([]T, 0, len(entries))
	for _, e := range entries {
		item, err := conv(e)
		if err != nil {
			p.log.Warn("skipping malformed "+kind, "upstream", e.Server, "name", e.Original, "error", err)
			continue
		}
		out = append(out, item)
	}
	return out
}

func sameEntries(a, b []catalog.Entry) bool {
	return slices.EqualFunc(a, b, func(x, y catalog.Entry) bool {
		return x.Name == y.Name && x.Server == y.Server && string(x.Raw) == string(y.Raw)
	})
}

// toolFromRaw turns an upstream's raw tool into an mcp.Tool that marshals
// its schemas exactly as received (mcp-go's typed schema drops keywords).
func toolFromRaw(e catalog.Entry) (mcp.Tool, error) {
	var t mcp.Tool
	if err := json.Unmarshal(e.Raw, &t); err != nil {
		return t, err
	}
	var schemas struct {
		In  json.RawMessage `json:"inputSchema"`
		Out json.RawMessage `json:"outputSchema"`
	}
	if err := json.Unmarshal(e.Raw, &schemas); err != nil {
		return t, err
	}
	if len(schemas.In) == 0 || string(schemas.In) == "null" {
		return t, fmt.Errorf("tool has no inputSchema")
	}
	t.InputSchema, t.OutputSchema = mcp.ToolInputSchema{}, mcp.ToolOutputSchema{}
	t.RawInputSchema = schemas.In
	if len(schemas.Out) > 0 && string(schemas.Out) != "null" {
		t.RawOutputSchema = schemas.Out
	}
	t.Name = e.Name
	return t, nil
}
