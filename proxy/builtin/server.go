package builtin

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hashicorp/go-hclog"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/sovereign-stack/sovereign/core/engine"
	"github.com/sovereign-stack/sovereign/proxy"
)

// Name is the server name the engine announces in its handshake.
const Name = "sovereign-engine"

// instructions tell the model what the engine is for.
const instructions = `Sovereign's built-in tools: a chronicle of insights and learnings, open threads and handoffs between sessions, routing, governance checks (compass_check, govern) and per-session reflection. Start with my_toolkit or the session_start prompt. Every call passes Sovereign's policy and is audited.`

// NewServer returns an MCP server offering e's tools, resources and
// prompts. version is sovereign's.
func NewServer(e *engine.Engine, version string, log hclog.Logger) *server.MCPServer {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	s := server.NewMCPServer(Name, version,
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithInstructions(instructions))
	b := &binding{e: e, s: s, log: log}
	for _, t := range e.Registry().Tools() {
		s.AddTool(mcpTool(t), b.toolHandler(t.Name))
	}
	for _, r := range e.Resources() {
		s.AddResource(mcp.NewResource(r.URI, r.Name, mcp.WithResourceDescription(r.Description), mcp.WithMIMEType(r.MIMEType)),
			b.resourceHandler(r))
	}
	for _, p := range e.Prompts() {
		s.AddPrompt(mcp.NewPrompt(p.Name, mcp.WithPromptDescription(p.Description)), b.promptHandler(p))
	}
	return s
}

// mcpTool is the MCP declaration of an engine tool: its schema as written
// and annotations derived from its effect.
func mcpTool(t *engine.Tool) mcp.Tool {
	tool := mcp.NewToolWithRawSchema(t.Name, t.Description, t.Schema)
	a := t.Annotations()
	tool.Annotations = mcp.ToolAnnotation{
		Title:           t.Title,
		ReadOnlyHint:    mcp.ToBoolPtr(a.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(a.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(a.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(a.OpenWorld),
	}
	return tool
}

type binding struct {
	e   *engine.Engine
	s   *server.MCPServer
	log hclog.Logger
}

func (b *binding) toolHandler(name string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := req.Params.RawArguments
		if len(args) == 0 && req.Params.Arguments != nil {
			raw, err := json.Marshal(req.Params.Arguments)
			if err != nil {
				return errorResult(&engine.Error{Category: engine.CategoryValidation, Msg: "arguments are not JSON"}), nil
			}
			args = raw
		}
		c := &engine.Call{Caller: callerOf(req.Params.Meta), Args: args, Progress: b.progress(ctx, req.Params.Meta)}
		res, err := b.e.Call(ctx, name, c)
		if err != nil {
			ee := engine.AsError(err)
			if ee.Category == engine.CategoryInternal {
				b.log.Error("engine tool failed", "tool", name, "error", err)
			}
			return errorResult(ee), nil
		}
		return toolResult(res)
	}
}

// toolResult is a successful call: the text (or the data as JSON) and the
// data as structured content.
func toolResult(res *engine.Result) (*mcp.CallToolResult, error) {
	text := res.Text
	if text == "" && res.Data != nil {
		b, err := json.MarshalIndent(res.Data, "", "  ")
		if err != nil {
			return errorResult(&engine.Error{Category: engine.CategoryInternal, Msg: "cannot encode the result", Err: err}), nil
		}
		text = string(b)
	}
	out := &mcp.CallToolResult{Content: []mcp.Content{mcp.NewTextContent(text)}}
	if res.Data != nil {
		out.StructuredContent = res.Data
	}
	return out, nil
}

// errorResult is a failed call as the model sees it: isError, a line
// naming the category and the field, and the same as structured content.
// An internal error's cause stays in the operational log.
func errorResult(e *engine.Error) *mcp.CallToolResult {
	shown := &engine.Error{Category: e.Category, Field: e.Field, Msg: e.Msg}
	detail := map[string]any{"category": string(e.Category), "message": e.Msg}
	if e.Field != "" {
		detail["field"] = e.Field
	}
	return &mcp.CallToolResult{
		IsError:           true,
		Content:           []mcp.Content{mcp.NewTextContent(shown.Error())},
		StructuredContent: map[string]any{"error": detail},
	}
}

// callerOf reads the caller the proxy put in _meta; without it (a direct
// in-process client in tests) the caller is anonymous.
func callerOf(meta *mcp.Meta) engine.Caller {
	if meta == nil {
		return engine.Caller{}
	}
	m, ok := meta.AdditionalFields[proxy.CallerMetaKey].(map[string]any)
	if !ok {
		return engine.Caller{}
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	return engine.Caller{Session: str("session"), Principal: str("principal"), Client: str("client")}
}

// progress returns a Progress that sends notifications/progress for the
// request's token, or nil without one.
func (b *binding) progress(ctx context.Context, meta *mcp.Meta) engine.Progress {
	if meta == nil || meta.ProgressToken == nil {
		return nil
	}
	token := meta.ProgressToken
	return func(done, total float64, message string) {
		params := map[string]any{"progressToken": token, "progress": done}
		if total > 0 {
			params["total"] = total
		}
		if message != "" {
			params["message"] = message
		}
		if err := b.s.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params); err != nil {
			b.log.Debug("progress notification not sent", "error", err)
		}
	}
}

func (b *binding) resourceHandler(r engine.Resource) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		text, err := r.Read(ctx, callerOf(req.Params.Meta))
		if err != nil {
			return nil, publicError(b.log, r.URI, err)
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: r.URI, MIMEType: r.MIMEType, Text: text}}, nil
	}
}

func (b *binding) promptHandler(p engine.Prompt) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		msgs, err := p.Get(ctx, callerOf(req.Params.Meta))
		if err != nil {
			return nil, publicError(b.log, p.Name, err)
		}
		out := &mcp.GetPromptResult{Description: p.Description}
		for _, m := range msgs {
			role := mcp.RoleUser
			if m.Role == string(mcp.RoleAssistant) {
				role = mcp.RoleAssistant
			}
			out.Messages = append(out.Messages, mcp.PromptMessage{Role: role, Content: mcp.NewTextContent(m.Text)})
		}
		return out, nil
	}
}

// publicError is the JSON-RPC error of a failed resource read or prompt:
// the category and message, never an internal cause.
func publicError(log hclog.Logger, what string, err error) error {
	ee := engine.AsError(err)
	if ee.Category == engine.CategoryInternal {
		log.Error("engine failed", "what", what, "error", err)
	}
	return errors.New((&engine.Error{Category: ee.Category, Field: ee.Field, Msg: ee.Msg}).Error())
}

// PolicyEffects are the effect classes the policy sees for the engine's
// tools: read stays read; append and mutate are writes (destructive when
// the tool says so). They replace the tools' annotations in the gate
// (input.tool.effect_source "engine").
func PolicyEffects(e *engine.Engine) map[string]string {
	out := make(map[string]string, len(e.Registry().Tools()))
	for _, t := range e.Registry().Tools() {
		switch {
		case t.Effect == engine.EffectRead:
			out[t.Name] = "read"
		case t.Destructive:
			out[t.Name] = "destructive"
		default:
			out[t.Name] = "write"
		}
	}
	return out
}

// PathArgs are, by tool name, the arguments of the engine's tools that name
// host paths; the gate treats only those as paths (see engine.Tool.PathArgs).
func PathArgs(e *engine.Engine) map[string][]string {
	out := make(map[string][]string, len(e.Registry().Tools()))
	for _, t := range e.Registry().Tools() {
		out[t.Name] = append([]string(nil), t.PathArgs...)
	}
	return out
}
