package main

import (
	"fmt"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/core/pathfact"
	"github.com/sovereign-stack/sovereign/core/textfact"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
)

// toolRules are the configured per-tool settings (servers.<name>.tools),
// with their argument selectors compiled once. Immutable after
// newToolRules; safe for concurrent use.
type toolRules struct {
	servers map[string]config.Server        // the servers that have tool settings
	rules   map[string]map[string]*toolRule // server → key of its tools → rule
}

var _ policygate.ToolEffects = (*toolRules)(nil)

// toolRule is one compiled entry of a server's tools. A nil *toolRule
// sets nothing.
type toolRule struct {
	effect string
	paths  *pathfact.ToolArgs
	kinds  *textfact.ToolArgs
}

// newToolRules compiles the tool settings of servers. The configuration
// has been validated, so an error here is a selector the fact packages
// reject although the configuration accepted it.
func newToolRules(servers map[string]config.Server) (*toolRules, error) {
	r := &toolRules{servers: map[string]config.Server{}, rules: map[string]map[string]*toolRule{}}
	for name, s := range servers {
		if len(s.Tools) == 0 {
			continue
		}
		compiled := make(map[string]*toolRule, len(s.Tools))
		for key, t := range s.Tools {
			paths, err := pathfact.NewToolArgs(t.PathArgs)
			if err != nil {
				return nil, fmt.Errorf("server %s, tool %q: %w", name, key, err)
			}
			kinds, err := textfact.NewToolArgs(map[string][]string{
				textfact.KindCommand: t.CommandArgs,
				textfact.KindSQL:     t.SQLArgs,
			})
			if err != nil {
				return nil, fmt.Errorf("server %s, tool %q: %w", name, key, err)
			}
			compiled[key] = &toolRule{effect: t.Effect, paths: paths, kinds: kinds}
		}
		r.servers[name] = s
		r.rules[name] = compiled
	}
	return r, nil
}

// lookup returns the rule for the tool that upstream calls tool, or nil.
func (r *toolRules) lookup(upstream, tool string) *toolRule {
	compiled, ok := r.rules[upstream]
	if !ok || tool == "" {
		return nil
	}
	key, ok := r.servers[upstream].MatchTool(tool)
	if !ok {
		return nil
	}
	return compiled[key]
}

// ToolEffect implements policygate.ToolEffects.
func (r *toolRules) ToolEffect(upstream, tool string) (string, bool) {
	rule := r.lookup(upstream, tool)
	if rule == nil || rule.effect == "" {
		return "", false
	}
	return rule.effect, true
}

// pathArgs returns the path selectors of the call's tool, or nil.
func (r *toolRules) pathArgs(c policygate.Call) *pathfact.ToolArgs {
	if rule := r.lookup(c.Upstream, c.Tool); rule != nil {
		return rule.paths
	}
	return nil
}

// kindArgs returns the kind bindings of the call's tool, or nil.
func (r *toolRules) kindArgs(c policygate.Call) *textfact.ToolArgs {
	if rule := r.lookup(c.Upstream, c.Tool); rule != nil {
		return rule.kinds
	}
	return nil
}
