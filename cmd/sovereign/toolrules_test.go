package main

import (
	"testing"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/core/pathfact"
	"github.com/sovereign-stack/sovereign/core/textfact"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
)

func TestToolRules(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(`
servers:
  shell:
    command: some-mcp-shell
    tools:
      run: {effect: exec, path_args: [workdir, /options/output], command_args: [script], sql_args: [q]}
      "exec_*": {effect: destructive}
      exec_safe: {path_args: [dir2]}
  fs: {command: fs-server}
`), "tools.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := newToolRules(cfg.Servers)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		upstream, tool string
		effect         string // "" for none
		rule           bool   // a rule applies
	}{
		{"shell", "run", "exec", true},
		{"shell", "exec_python", "destructive", true},
		{"shell", "exec_safe", "", true}, // the exact entry wins and sets no effect
		{"shell", "list", "", false},
		{"shell", "", "", false}, // not a tool call
		{"fs", "run", "", false},
		{"other", "run", "", false},
	} {
		eff, ok := rules.ToolEffect(tc.upstream, tc.tool)
		if eff != tc.effect || ok != (tc.effect != "") {
			t.Errorf("ToolEffect(%s, %s) = %q, %v; want %q", tc.upstream, tc.tool, eff, ok, tc.effect)
		}
		c := policygate.Call{Upstream: tc.upstream, Tool: tc.tool}
		if got := rules.pathArgs(c) != nil && rules.kindArgs(c) != nil; got != tc.rule {
			t.Errorf("%s/%s: selectors present = %v, want %v", tc.upstream, tc.tool, got, tc.rule)
		}
	}

	// The compiled selectors are the configured ones.
	args := map[string]any{"script": "id", "q": "SELECT 1", "note": "hi"}
	kinds := map[string]string{}
	for _, f := range textfact.New(textfact.Options{}).AnalyzeFor(args, rules.kindArgs(policygate.Call{Upstream: "shell", Tool: "run"})).Strings {
		kinds[f.Pointer] = f.Kind
	}
	if kinds["/script"] != textfact.KindCommand || kinds["/q"] != textfact.KindSQL || kinds["/note"] != textfact.KindText {
		t.Errorf("kinds for shell/run = %v", kinds)
	}

	dir := t.TempDir()
	paths, err := pathfact.New(pathfact.Options{Home: dir, Cwd: dir, Roots: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	call := map[string]any{"options": map[string]any{"output": "report", "mode": "fast"}}
	facts := paths.FactsFor(call, rules.pathArgs(policygate.Call{Upstream: "shell", Tool: "run"}))
	if len(facts) != 1 || facts[0].Pointer != "/options/output" || !facts[0].WithinRoots {
		t.Errorf("path facts for shell/run = %+v, want /options/output within the root", facts)
	}
	if facts := paths.FactsFor(call, rules.pathArgs(policygate.Call{Upstream: "fs", Tool: "run"})); len(facts) != 0 {
		t.Errorf("path facts for fs/run = %+v, want none", facts)
	}

	// No servers: no rules, nothing applies.
	empty, err := newToolRules(nil)
	if err != nil {
		t.Fatal(err)
	}
	if eff, ok := empty.ToolEffect("shell", "run"); ok || eff != "" {
		t.Errorf("empty rules: ToolEffect = %q, %v", eff, ok)
	}
}
