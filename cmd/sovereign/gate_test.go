package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
)

// TestGateAppliesToolSettings runs the real gate, with the embedded policy
// library, over calls of tools that have settings in the configuration and
// of the same tools on a server without any.
func TestGateAppliesToolSettings(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(data, []byte("sovereign_config:\n  permissions: {destructive: require_approval}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
data_dir: `+filepath.Join(dir, "data")+`
roots: [`+work+`]
policy: {data: [`+data+`]}
servers:
  shell:
    command: some-mcp-shell
    tools:
      run: {effect: exec}
      lint: {command_args: [source_code], path_args: [/options/output]}
      "rm_*": {effect: destructive}
      purge_cache: {effect: write}
  plain: {command: other-server}
`), "gate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate, err := buildGate(ctx, cfg, gateSetup{servers: cfg.Servers}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	readOnly := json.RawMessage(`{"readOnlyHint":true}`)
	destructive := json.RawMessage(`{"readOnlyHint":false,"destructiveHint":true}`)
	for _, tc := range []struct {
		name     string
		server   string
		tool     string
		args     string
		wantRule string // first rule of the denial; "" for allowed
		hints    json.RawMessage
	}{
		{"exec tool: text arguments are commands", "shell", "run", `{"body": "echo a; echo b"}`, "CMD-001", nil},
		{"the same tool elsewhere", "plain", "run", `{"body": "echo a; echo b"}`, "", nil},
		{"command_args bind the kind", "shell", "lint", `{"source_code": "make && make install"}`, "CMD-001", nil},
		{"without command_args", "plain", "lint", `{"source_code": "make && make install"}`, "", nil},
		{"path_args make a word a path", "shell", "lint", `{"options": {"output": "report.txt"}}`, "PATH-", nil},
		{"without path_args", "plain", "lint", `{"options": {"output": "report.txt"}}`, "", nil},
		{"a path inside the roots passes", "shell", "lint", `{"options": {"output": "` + work + `/report.txt"}}`, "", nil},
		{"config makes a read-only tool destructive", "shell", "rm_all", `{}`, policygate.ReasonApproval, nil},
		{"annotations alone", "plain", "rm_all", `{}`, "", nil},
		{"config makes a destructive-hinted tool a plain write", "shell", "purge_cache", `{}`, "", destructive},
		{"the hint alone needs approval", "plain", "purge_cache", `{}`, policygate.ReasonApproval, destructive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := gate.Decide(ctx, &proxy.Request{
				Phase: proxy.PhaseCall, Method: "tools/call", SessionID: "s", CallCount: 1,
				Principal: proxy.Principal{Kind: "os_user", ID: "tester"},
				Server:    tc.server, Transport: "stdio", Name: tc.server + "__" + tc.tool, Original: tc.tool,
				Annotations: hints(tc.hints, readOnly), Arguments: json.RawMessage(tc.args),
			})
			if tc.wantRule == "" {
				if !d.Allow {
					t.Fatalf("denied: %s %v", d.Reason, d.Rules)
				}
				return
			}
			if d.Allow || len(d.Rules) == 0 || !strings.HasPrefix(d.Rules[0], tc.wantRule) {
				t.Fatalf("decision %+v, want a denial by %s", d, tc.wantRule)
			}
		})
	}
}

func hints(h, fallback json.RawMessage) json.RawMessage {
	if h == nil {
		return fallback
	}
	return h
}

// TestGateProtectsThePolicyFiles: the policy data and rule files (and the
// config, the audit log and keys) are sensitive even inside the roots, so a
// tool cannot loosen the policy that gates it.
func TestGateProtectsThePolicyFiles(t *testing.T) {
	dir := t.TempDir()
	data, rules := filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "rules")
	if err := os.WriteFile(data, []byte("sovereign_config: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(rules, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sovereign.yaml")
	cfgText := "data_dir: " + filepath.Join(dir, "data") + "\nroots: [" + dir + "]\npolicy: {data: [" + data + "], paths: [" + rules + "]}\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(cfgText), cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gate, err := buildGate(ctx, cfg, gateSetup{configPath: cfgPath}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	for path, wantDenied := range map[string]bool{
		data:                                     true,
		cfgPath:                                  true,
		filepath.Join(rules, "loosen.rego"):      true,
		filepath.Join(dir, "data", "audit", "x"): true,
		filepath.Join(dir, "data", "keys", "k"):  true,
		filepath.Join(dir, "notes.md"):           false,
	} {
		args, _ := json.Marshal(map[string]string{"path": path, "content": "x"})
		d := gate.Decide(ctx, &proxy.Request{
			Phase: proxy.PhaseCall, Method: "tools/call", SessionID: "s", CallCount: 1,
			Principal: proxy.Principal{Kind: "os_user", ID: "tester"}, Server: "fs", Transport: "stdio",
			Name: "fs__write_file", Original: "write_file", Arguments: args,
		})
		if denied := !d.Allow && len(d.Rules) > 0 && d.Rules[0] == "PATH-009"; denied != wantDenied {
			t.Errorf("write %s: decision %+v, want denied by PATH-009: %v", path, d, wantDenied)
		}
	}
}
