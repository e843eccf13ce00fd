package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/proxy"
)

// TestAuditReplay records decisions with the real gate and audit log under
// the default policy, then replays them: with a stricter rule the write
// flips allow→deny (exit 1), with the same policy nothing changes (exit 0).
func TestAuditReplay(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(filepath.Join(work, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "notes.md"), []byte("notes"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "sovereign.yaml")
	cfgText := "data_dir: " + filepath.Join(dir, "data") + "\nroots: [" + work + "]\n"
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(cfgText), cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	// Record: a read inside the roots, a write, a read outside the roots.
	ctx, cancel := context.WithCancel(context.Background())
	sink, err := openAudit(ctx, cfg, auditFlags{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	gate, err := buildGate(ctx, cfg, gateSetup{configPath: cfgPath, audit: sink}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	const secret = "sk-live-0123456789abcdef-not-for-logs"
	call := func(tool, annotations string, args map[string]string) proxy.Decision {
		raw, _ := json.Marshal(args)
		return gate.Decide(ctx, &proxy.Request{
			Phase: proxy.PhaseCall, Method: "tools/call", SessionID: "s", CallCount: 1,
			Principal: proxy.Principal{Kind: "os_user", ID: "tester"}, Server: "fs", Transport: "stdio",
			Name: "fs__" + tool, Original: tool, Annotations: json.RawMessage(annotations), Arguments: raw,
		})
	}
	read := call("read_file", `{"readOnlyHint":true}`, map[string]string{"path": filepath.Join(work, "notes.md")})
	target := filepath.Join(work, "out", "report.txt")
	write := call("write_file", `{"readOnlyHint":false,"destructiveHint":false}`, map[string]string{"path": target, "content": "key " + secret})
	outside := call("read_file", `{"readOnlyHint":true}`, map[string]string{"path": filepath.Join(dir, "elsewhere.txt")})
	// Denied for the text of an argument, which the record keeps only as a
	// digest: a replay cannot tell whether the rule would still deny.
	awsKey := "AKIA" + "Z3MQWERTYUIOP123"
	leak := call("write_file", `{"readOnlyHint":false,"destructiveHint":false}`, map[string]string{"path": filepath.Join(work, "notes.md"), "content": awsKey})
	if !read.Allow || !write.Allow || outside.Allow || leak.Allow || leak.Rules[0] != "SEC-001" {
		t.Fatalf("recorded decisions: read %+v, write %+v, outside %+v, leak %+v", read, write, outside, leak)
	}
	sink.close(hclog.NewNullLogger())
	cancel()

	// The log holds the path in clear, never the content.
	auditDir := cfg.AuditDir()
	out, _, code := runCLI(t, "audit", "show", "--dir", auditDir, "--decision", "allow", "--json")
	if code != exitOK || !strings.Contains(out, `"canonical":"`+target+`"`) || !strings.Contains(out, `"normalized_hmac":"hmac-sha256:`) {
		t.Fatalf("records (exit %d):\n%s", code, out)
	}
	all, _, _ := runCLI(t, "audit", "show", "--dir", auditDir, "--json")
	if strings.Contains(all, secret) || strings.Contains(all, awsKey) {
		t.Fatalf("the log holds the secret:\n%s", all)
	}

	// A stricter rule: no writes under work/out.
	rules := t.TempDir()
	rule := `package sovereign.rules.strict

# METADATA
# title: No writes under out
# custom:
#   id: STRICT-001
deny contains {"id": rego.metadata.rule().custom.id, "msg": "no writes under out"} if {
	input.phase == "call"
	input.tool.effect == "write"
	some p in input.facts.paths
	startswith(p.canonical, "` + filepath.Join(work, "out") + `/")
}
`
	if err := os.WriteFile(filepath.Join(rules, "strict.rego"), []byte(rule), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "-c", cfgPath, "audit", "replay", "--policy-dir", rules, "--changed-only")
	if code != exitFailure || !strings.Contains(out, write.ID) || !strings.Contains(out, "CHANGED allow→deny +STRICT-001") ||
		strings.Contains(out, read.ID) || !strings.Contains(out, "changed 1 (allow→deny 1, deny→allow 0, rules only 0), inconclusive 1") ||
		!strings.Contains(out, leak.ID+"  tools/call fs__write_file  INCONCLUSIVE deny→allow -SEC-001 [arguments not recorded") {
		t.Fatalf("stricter policy: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = runCLI(t, "-c", cfgPath, "audit", "replay", "--dir", auditDir, "--policy-dir", rules, "--json")
	var flipped []map[string]any
	var summary map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if s, ok := v["summary"].(map[string]any); ok {
			summary = s
			continue
		}
		if v["status"] == replayChanged {
			flipped = append(flipped, v)
		}
	}
	if code != exitFailure || len(flipped) != 1 || flipped[0]["decision_id"] != write.ID || flipped[0]["change"] != "allow→deny" ||
		flipped[0]["seq"].(float64) <= 0 || summary == nil || summary["replayed"].(float64) != 4 || summary["changed"].(float64) != 1 {
		t.Fatalf("--json: exit %d, changed %v, summary %v\n%s", code, flipped, summary, out)
	}
	if limits, _ := flipped[0]["limits"].([]any); len(limits) == 0 {
		t.Errorf("the write's arguments are not recorded, which the result should say: %v", flipped[0])
	}

	// The same policy: nothing changes (the secret's denial is
	// inconclusive, which is no change).
	out, errOut, code = runCLI(t, "-c", cfgPath, "audit", "replay", "--dir", auditDir)
	if code != exitOK || !strings.Contains(out, "same 3, changed 0") || !strings.Contains(out, "inconclusive 1") || !strings.Contains(out, read.ID+"  tools/call fs__read_file  same (allow)") ||
		!strings.Contains(out, outside.ID+"  tools/call fs__read_file  same (deny)") {
		t.Fatalf("same policy: exit %d\n%s\n%s", code, out, errOut)
	}

	// Data merged over the configured data, as policy eval merges it: an
	// approval for writes is a denial until approvals exist.
	approval := filepath.Join(t.TempDir(), "approval.yaml")
	if err := os.WriteFile(approval, []byte("sovereign_config:\n  permissions:\n    approval:\n      writes: {effect: write}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, code = runCLI(t, "-c", cfgPath, "audit", "replay", "--dir", auditDir, "--data", approval, "--changed-only")
	if code != exitFailure || !strings.Contains(out, write.ID+"  tools/call fs__write_file  CHANGED allow→deny") ||
		!strings.Contains(out, "changed 1 (allow→deny 1") {
		t.Fatalf("--data: exit %d\n%s", code, out)
	}

	// The filters of audit show apply: nothing before the records.
	out, _, code = runCLI(t, "-c", cfgPath, "audit", "replay", "--dir", auditDir, "--policy-dir", rules, "--until", "2000-01-01")
	if code != exitOK || !strings.Contains(out, "replayed 0:") {
		t.Fatalf("--until before the records: exit %d\n%s", code, out)
	}

	// Usage errors: exit 2.
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "broken.rego"), []byte("package sovereign.rules.broken\n\ndeny contains {"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"bad time":  {"audit", "replay", "--dir", auditDir, "--since", "yesterday-ish"},
		"argument":  {"audit", "replay", "--dir", auditDir, "extra"},
		"no log":    {"audit", "replay", "--dir", filepath.Join(dir, "missing")},
		"bad flag":  {"audit", "replay", "--nope"},
		"bad order": {"audit", "replay", "--dir", auditDir, "--since", "1h", "--until", "2h"},
		"bad rule":  {"audit", "replay", "--dir", auditDir, "--policy-dir", broken},
		"no data":   {"audit", "replay", "--dir", auditDir, "--data", filepath.Join(dir, "missing.yaml")},
	} {
		if _, errOut, code := runCLI(t, append([]string{"-c", cfgPath}, args...)...); code != exitUsage {
			t.Errorf("%s: exit %d, want 2 (%s)", name, code, errOut)
		}
	}
}
