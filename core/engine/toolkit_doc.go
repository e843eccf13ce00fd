package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Reference returns the tool reference in Markdown, generated from the
// registry (docs/engine-tools.md is this text; a test keeps it current), so
// that no count or argument list is ever kept by hand.
func (r *Registry) Reference() string {
	var b strings.Builder
	b.WriteString("# Built-in tools reference\n\n")
	b.WriteString("Generated from the engine's registry by `go test ./core/engine -run TestToolReference -update`; do not edit.\n")
	b.WriteString("Effects are what policies see (`input.tool.effect`, `effect_source: \"engine\"`): read → `read`; append and mutate → `write`.\n\n")
	counts := map[Tier]int{}
	for _, t := range r.ordered {
		counts[t.Tier]++
	}
	fmt.Fprintf(&b, "%d tools: %d essential, %d core, %d advanced.\n\n", len(r.ordered), counts[TierEssential], counts[TierCore], counts[TierAdvanced])
	b.WriteString("| tool | tier | intent | effect |\n|---|---|---|---|\n")
	for _, t := range r.ordered {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s |\n", t.Name, t.Name, t.Tier, t.Intent, t.Effect)
	}
	for _, t := range r.ordered {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n", t.Name, t.Description)
		a := t.Annotations()
		fmt.Fprintf(&b, "Tier %s, intent %s, effect %s; readOnlyHint %t, destructiveHint %t, idempotentHint %t.\n",
			t.Tier, t.Intent, t.Effect, a.ReadOnly, a.Destructive, a.Idempotent)
		args := schemaArgs(t.Schema)
		if len(args) == 0 {
			b.WriteString("\nNo arguments.\n")
			continue
		}
		b.WriteString("\n| argument | type | required | default | description |\n|---|---|---|---|---|\n")
		for _, arg := range args {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", arg.name, arg.typ, yesNo(arg.required), arg.def, mdCell(arg.desc))
		}
	}
	return b.String()
}

type schemaArg struct {
	name, typ, def, desc string
	required             bool
}

// schemaArgs lists the top-level properties of an object schema.
func schemaArgs(raw json.RawMessage) []schemaArg {
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	out := make([]schemaArg, 0, len(s.Properties))
	for name, p := range s.Properties {
		a := schemaArg{name: name, typ: schemaType(p), required: slices.Contains(s.Required, name)}
		a.desc, _ = p["description"].(string)
		if d, ok := p["default"]; ok {
			j, _ := json.Marshal(d)
			a.def = "`" + string(j) + "`"
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].required != out[j].required {
			return out[i].required
		}
		return out[i].name < out[j].name
	})
	return out
}

// schemaType is a short type description: "string", "integer 1–200",
// "one of a, b", "array of string".
func schemaType(p map[string]any) string {
	if e, ok := p["enum"].([]any); ok {
		vals := make([]string, 0, len(e))
		for _, v := range e {
			vals = append(vals, fmt.Sprint(v))
		}
		return "one of " + strings.Join(vals, ", ")
	}
	typ := fmt.Sprint(p["type"])
	if p["type"] == nil {
		typ = "any"
	}
	if t, ok := p["type"].([]any); ok {
		parts := make([]string, 0, len(t))
		for _, x := range t {
			parts = append(parts, fmt.Sprint(x))
		}
		typ = strings.Join(parts, " or ")
	}
	if items, ok := p["items"].(map[string]any); ok {
		typ = "array of " + schemaType(items)
	}
	lo, hasLo := p["minimum"]
	hi, hasHi := p["maximum"]
	if hasLo && hasHi {
		typ += fmt.Sprintf(" %v–%v", lo, hi)
	}
	if m, ok := p["maxLength"]; ok {
		typ += fmt.Sprintf(" ≤ %v chars", m)
	}
	return typ
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
