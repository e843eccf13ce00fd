package policygate

import (
	"bytes"
	"encoding/json"

	"github.com/sovereign-stack/sovereign/core/mcpmsg"
	"github.com/sovereign-stack/sovereign/proxy"
)

// InputVersion is input.v.
const InputVersion = 1

// Effect classes of a tool (input.tool.effect), from its annotations or
// from the configuration. Only the configuration can make a tool exec.
const (
	EffectRead        = "read"
	EffectWrite       = "write"
	EffectDestructive = "destructive"
	EffectExec        = "exec"
	EffectUnknown     = "unknown"
)

// Where input.tool.effect comes from (input.tool.effect_source).
const (
	EffectFromAnnotations = "annotations"
	EffectFromConfig      = "config"
	EffectFromEngine      = "engine"
)

// effect classifies a tool by its MCP annotations (untrusted hints): read
// only; a write that is declared not destructive; destructive (declared, or
// by the MCP default when it is not read only); unknown without hints.
func effect(annotations json.RawMessage) (string, map[string]any) {
	var a map[string]any
	if len(annotations) == 0 || json.Unmarshal(annotations, &a) != nil || a == nil {
		return EffectUnknown, map[string]any{}
	}
	ro, hasRO := a["readOnlyHint"].(bool)
	de, hasDe := a["destructiveHint"].(bool)
	switch {
	case hasRO && ro:
		return EffectRead, a
	case hasDe && de:
		return EffectDestructive, a
	case hasRO && !ro && hasDe && !de:
		return EffectWrite, a
	case hasRO && !ro:
		return EffectDestructive, a // MCP: destructiveHint defaults to true
	}
	return EffectUnknown, a
}

// decodeArgs decodes raw arguments keeping numbers exact.
func decodeArgs(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// toolEffect returns the tool's effect class and where it comes from: the
// configuration when tools sets one, else the annotations. A configured
// class the gate does not know becomes unknown, which the policy library
// treats as possibly writing. The annotations are returned as given either
// way.
func toolEffect(req *proxy.Request, tools ToolEffects, engine *EngineEffects) (eff, source string, ann map[string]any) {
	eff, ann = effect(req.Annotations)
	if engine != nil && req.Server == engine.Server {
		if e, ok := engine.Effects[req.Original]; ok {
			return e, EffectFromEngine, ann
		}
	}
	if tools == nil {
		return eff, EffectFromAnnotations, ann
	}
	configured, ok := tools.ToolEffect(req.Server, req.Original)
	if !ok {
		return eff, EffectFromAnnotations, ann
	}
	switch configured {
	case EffectRead, EffectWrite, EffectDestructive, EffectExec:
		return configured, EffectFromConfig, ann
	}
	return EffectUnknown, EffectFromConfig, ann
}

// baseInput holds what every request's input has; tools (may be nil) gives
// the configured effects of tools.
func baseInput(req *proxy.Request, tools ToolEffects, engine *EngineEffects) map[string]any {
	in := map[string]any{
		"v":         InputVersion,
		"phase":     req.Phase,
		"method":    req.Method,
		"principal": map[string]any{"kind": req.Principal.Kind, "id": req.Principal.ID, "claims": map[string]any{}},
		"client":    map[string]any{"name": req.Client.Name, "version": req.Client.Version},
		"session":   map[string]any{"id": req.SessionID, "call_count": req.CallCount},
	}
	if req.Server != "" {
		in["upstream"] = map[string]any{"name": req.Server, "transport": req.Transport}
	}
	switch req.Method {
	case mcpmsg.ToolsCall, mcpmsg.ToolsList:
		eff, source, ann := toolEffect(req, tools, engine)
		in["tool"] = map[string]any{"name": req.Name, "upstream_name": req.Original, "annotations": ann,
			"effect": eff, "effect_source": source}
	case mcpmsg.PromptsGet, mcpmsg.PromptsList:
		in["prompt"] = map[string]any{"name": req.Name, "upstream_name": req.Original}
	}
	if req.URI != "" {
		in["resource"] = map[string]any{"uri": req.URI, "upstream_uri": upstreamURI(req)}
	}
	return in
}

// upstreamURI is the resource URI the upstream reads: the catalog may expose
// it under another.
func upstreamURI(req *proxy.Request) string {
	if req.Original != "" {
		return req.Original
	}
	return req.URI
}

// factSubject is the JSON the facts of req are computed over and the input
// key it goes under: the arguments of a call (a resource request is judged
// as a call with its upstream URI as argument, so a file:// URI outside the
// roots meets the path rules), a listed resource's URI (not a template's:
// "{var}" is no path), or the upstream's result.
func factSubject(req *proxy.Request) (json.RawMessage, string, bool) {
	switch req.Phase {
	case proxy.PhaseCall:
		if len(req.Arguments) > 0 {
			return req.Arguments, "args", true
		}
		if req.URI != "" {
			return uriArgs(upstreamURI(req)), "args", true
		}
	case proxy.PhaseList:
		if req.Method == mcpmsg.ResourcesList && req.URI != "" {
			return uriArgs(upstreamURI(req)), "args", true
		}
	case proxy.PhaseResult:
		if len(req.Result) > 0 {
			return req.Result, "result", true
		}
	}
	return nil, "", false
}

func uriArgs(uri string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"uri": uri})
	return b
}
