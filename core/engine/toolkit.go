package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// toolkitTools is my_toolkit, the welcome resource and the session_start
// prompt: all generated from the registry, never hand-kept lists.
func (e *Engine) toolkitTools() []Tool {
	e.resources = append(e.resources, Resource{
		URI: "sovereign://welcome", Name: "welcome", MIMEType: "text/markdown",
		Description: "What the sovereign toolkit is and where to start",
		Read:        func(context.Context, Caller) (string, error) { return e.welcome(), nil },
	})
	e.prompts = append(e.prompts, Prompt{
		Name:        "session_start",
		Description: "Start a session: orient in the chronicle, open threads and waiting handoffs",
		Get: func(context.Context, Caller) ([]PromptMessage, error) {
			return []PromptMessage{{Role: "user", Text: e.sessionStartText()}}, nil
		},
	})
	return []Tool{{
		Name:        "my_toolkit",
		Title:       "My toolkit",
		Description: "List the sovereign tools by tier (essential, core, advanced) and intent, from the live registry; optionally with their argument schemas.",
		Schema: objectSchema(obj{
			"tier":           enumProp("Which tier to list; all lists every tool", "essential", "essential", "core", "advanced", "all"),
			"intent":         enumProp("Only tools for this intent", "", Intents...),
			"include_schema": boolProp("Include each tool's argument schema", false),
		}),
		Effect: EffectRead, Tier: TierEssential, Intent: "orient",
		Handler: e.myToolkit,
	}}
}

type toolkitEntry struct {
	Name        string          `json:"name"`
	Tier        Tier            `json:"tier"`
	Intent      string          `json:"intent"`
	Effect      Effect          `json:"effect"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"input_schema,omitempty"`
}

func (e *Engine) myToolkit(_ context.Context, c *Call) (*Result, error) {
	var in struct {
		Tier          string `json:"tier"`
		Intent        string `json:"intent"`
		IncludeSchema bool   `json:"include_schema"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if in.Tier == "" {
		in.Tier = string(TierEssential)
	}
	var out []toolkitEntry
	counts := map[Tier]int{}
	for _, t := range e.reg.Tools() {
		counts[t.Tier]++
		if (in.Tier != "all" && string(t.Tier) != in.Tier) || (in.Intent != "" && t.Intent != in.Intent) {
			continue
		}
		en := toolkitEntry{Name: t.Name, Tier: t.Tier, Intent: t.Intent, Effect: t.Effect, Description: t.Description}
		if in.IncludeSchema {
			en.Schema = t.Schema
		}
		out = append(out, en)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d tools (%d essential, %d core, %d advanced); showing %d", len(e.reg.Tools()),
		counts[TierEssential], counts[TierCore], counts[TierAdvanced], len(out))
	if in.Tier != "all" {
		fmt.Fprintf(&b, " of tier %s", in.Tier)
	}
	if in.Intent != "" {
		fmt.Fprintf(&b, " for intent %s", in.Intent)
	}
	b.WriteString(":\n")
	for _, en := range out {
		fmt.Fprintf(&b, "- %s [%s, %s, %s]: %s\n", en.Name, en.Tier, en.Intent, en.Effect, en.Description)
	}
	return &Result{Text: b.String(), Data: map[string]any{"total": len(e.reg.Tools()), "tools": out}}, nil
}

// welcome is the sovereign://welcome text.
func (e *Engine) welcome() string {
	var b strings.Builder
	b.WriteString("# Sovereign\n\n")
	b.WriteString("Governed memory and governance tools. Every call passes Sovereign's policy and is recorded in its audit log.\n\n")
	b.WriteString("## Essential tools\n\n")
	for _, t := range e.reg.Tools() {
		if t.Tier == TierEssential {
			fmt.Fprintf(&b, "- `%s`: %s\n", t.Name, t.Description)
		}
	}
	fmt.Fprintf(&b, "\n%d tools in all: call `my_toolkit` with tier \"all\" to see them.\n", len(e.reg.Tools()))
	return b.String()
}

// sessionStartText is the session_start prompt.
func (e *Engine) sessionStartText() string {
	var b strings.Builder
	b.WriteString("You have Sovereign's memory and governance tools. Before you begin:\n")
	steps := []struct{ tool, why string }{
		{"where_did_i_leave_off", "read the handoffs, open threads and recent insights waiting for you"},
		{"get_inheritable_context", "load the ground truths and hypotheses earlier sessions left"},
		{"check_mistakes", "check the learnings that apply to what you are about to do"},
		{"compass_check", "before anything irreversible, check the action and its stakes"},
	}
	for _, s := range steps {
		if _, ok := e.reg.Tool(s.tool); ok {
			fmt.Fprintf(&b, "- `%s`: %s\n", s.tool, s.why)
		}
	}
	b.WriteString("Record what you learn with `record_insight` and leave a `handoff` when you stop.\n")
	return b.String()
}
