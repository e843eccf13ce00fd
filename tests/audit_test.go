package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// The audit log, end to end: the real binary records what it decides and
// forwards, survives SIGKILL without losing a decision it acted on, and
// fails closed when the disk is full. These tests talk to the proxy with a
// raw JSON-RPC client (stdioRPC, stdiorpc_test.go): the arguments of a call are sent as exact
// bytes, so that the test knows the digest the log must hold for them
// (args_digest is sha256 of the arguments as the proxy received them).

// argsDigest is the digest the log holds for arguments received as b.
func argsDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// jsonArgs encodes arguments compactly: the exact bytes sent.
func jsonArgs(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAuditLogs reads every record of every log under auditDir (a torn last
// line is not a record yet and is left out).
func readAuditLogs(t *testing.T, auditDir string) []*audit.Record {
	t.Helper()
	_, folders, err := audit.FindLogs(auditDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*audit.Record
	for _, folder := range folders {
		r, err := audit.OpenLogReader(folder)
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				t.Fatalf("reading %s: %v", folder, err)
			}
			out = append(out, rec)
		}
		r.Close()
	}
	return out
}

// quietCLI is the environment of the short sovereign commands the tests
// run: without the race detector's one-second sleep at exit.
var quietCLI = []string{"GORACE=atexit_sleep_ms=0"}

// sovereignCLI runs a sovereign command to completion.
func sovereignCLI(t *testing.T, args ...string) commandResult {
	t.Helper()
	res := runCommand(t, 60*time.Second, t.TempDir(), quietCLI, append([]string{sovereignBin(t)}, args...)...)
	t.Logf("sovereign %s -> exit %d", strings.Join(args, " "), res.ExitCode)
	return res
}

// withoutReasonTexts returns a record line without the texts of its
// reasons (reasons[].msg and reason); other lines as they are.
func withoutReasonTexts(line []byte) []byte {
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return line
	}
	delete(rec, "reason")
	if reasons, ok := rec["reasons"].([]any); ok {
		for _, r := range reasons {
			if m, ok := r.(map[string]any); ok {
				delete(m, "msg")
			}
		}
	}
	b, _ := json.Marshal(rec)
	return b
}

// withoutPathFacts returns a decision record line without the fields that
// hold paths in clear by design (docs/audit-format.md, "Secrets"): the
// canonical path and root of each path fact, and the roots; other lines as
// they are.
func withoutPathFacts(line []byte) []byte {
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return line
	}
	facts, ok := rec["facts"].(map[string]any)
	if !ok {
		return line
	}
	delete(facts, "roots")
	if paths, ok := facts["paths"].([]any); ok {
		for _, p := range paths {
			if m, ok := p.(map[string]any); ok {
				delete(m, "canonical")
				delete(m, "root")
			}
		}
	}
	b, _ := json.Marshal(rec)
	return b
}

// TestAuditRecordsCalls runs calls through the real binary in front of
// server-filesystem and reads the log the proxy leaves: a decision for every
// call, an outcome for every forwarded one, the rules of a denial, the
// redaction of a secret in a result, digests instead of values, and a log
// that verifies, with a checkpoint file that does too.
func TestAuditRecordsCalls(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const secret = "AKIA" + "Z3MQWERTYUIOP123" // split: no file of the repository holds a key-shaped string
	files := map[string]string{
		"clean.md":   "# Notes\n\nThe build passes; ship on Friday.\n",
		"leaked.txt": "deploy with key " + secret + " tomorrow\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	auditDir := filepath.Join(dataDir, "audit")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nroots: [%q]\nservers:\n  fs: {command: %q, args: [%q, %q]}\n",
		dataDir, root, node22(), nodeBin("mcp-server-filesystem"), root))
	proxy := startRPC(t, "sovereign", nil, sovereignBin(t), "serve", "--config", cfg)
	proxy.initialize(t)

	type sent struct {
		name, tool string
		args       []byte
		res        toolResult
	}
	calls := []*sent{
		{name: "read", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": filepath.Join(root, "clean.md")})},
		{name: "list", tool: "fs__list_directory", args: jsonArgs(t, map[string]any{"path": root})},
		{name: "leak", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": filepath.Join(root, "leaked.txt")})},
		{name: "outside", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": "/etc/passwd"})},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range calls {
		if c.res, err = proxy.toolCall(ctx, c.tool, c.args); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	read, list, leak, outside := calls[0], calls[1], calls[2], calls[3]
	if read.res.IsError || read.res.text() != files["clean.md"] || list.res.IsError {
		t.Fatalf("allowed calls failed: %s\n%s", read.res.raw, list.res.raw)
	}
	if leak.res.IsError || !strings.HasPrefix(leak.res.text(), "[redacted by policy") {
		t.Fatalf("the secret was not redacted: %s", leak.res.raw)
	}
	deniedID, deniedRules, ok := outside.res.denial()
	if !ok || len(deniedRules) == 0 {
		t.Fatalf("reading /etc/passwd was not denied: %s", outside.res.raw)
	}
	proxy.closeStdin(t)

	recs := readAuditLogs(t, auditDir)
	decisions := map[string]*audit.Record{} // args digest → the call's decision
	outcomes := map[string]*audit.Record{}  // decision id → outcome
	var resultDecisions []*audit.Record
	for _, r := range recs {
		switch {
		case r.Kind == audit.KindDecision && r.Str("phase") == "call":
			decisions[r.Str("args_digest")] = r
		case r.Kind == audit.KindDecision && r.Str("phase") == "result":
			resultDecisions = append(resultDecisions, r)
		case r.Kind == audit.KindOutcome:
			outcomes[r.Str("decision_id")] = r
		}
	}
	for _, c := range calls {
		d := decisions[argsDigest(c.args)]
		if d == nil {
			t.Errorf("%s: no decision record with args_digest %s", c.name, argsDigest(c.args))
			continue
		}
		if d.Str("tool", "name") != c.tool || d.Str("upstream") != "fs" || d.Str("method") != "tools/call" {
			t.Errorf("%s: decision %s", c.name, d.Line)
		}
		allow, _ := d.Bool("allow")
		if c == outside {
			if allow || d.Str("decision_id") != deniedID || !slices.Equal(d.Strings("rules"), deniedRules) {
				t.Errorf("the denial's record does not name its rules %v (decision %s): %s", deniedRules, deniedID, d.Line)
			}
			if outcomes[deniedID] != nil {
				t.Errorf("a denied call has an outcome: %s", outcomes[deniedID].Line)
			}
			continue
		}
		if !allow {
			t.Errorf("%s: allowed, but recorded as denied: %s", c.name, d.Line)
		}
		o := outcomes[d.Str("decision_id")]
		if o == nil {
			t.Errorf("%s: no outcome record for decision %s", c.name, d.Str("decision_id"))
			continue
		}
		want := "ok"
		if c == leak {
			want = "redacted"
		}
		if o.Str("status") != want || o.Str("result_digest") == "" {
			t.Errorf("%s: outcome %s, want status %s", c.name, o.Line, want)
		}
	}
	var redaction *audit.Record
	for _, r := range resultDecisions {
		if slices.Contains(r.Strings("rules"), "SEC-001") {
			redaction = r
		}
	}
	if redaction == nil {
		t.Errorf("no result-phase decision names SEC-001")
	} else if o := outcomes[decisions[argsDigest(leak.args)].Str("decision_id")]; o == nil || o.Str("result_decision_id") != redaction.Str("decision_id") {
		t.Errorf("the redacted outcome does not name the redaction's decision %s", redaction.Str("decision_id"))
	}

	// Only digests: no argument or result value is anywhere in the audit
	// directory, but the paths of path arguments, which decision records
	// keep in clear in facts.paths (canonical, root) and facts.roots, for a
	// reviewer and for a replay against another policy. A reason text
	// quoting a path would be a defect of the policy library and the gate
	// (reasons are kept as msg_hmac). Secrets and file contents nowhere.
	values := []string{"Z3MQWERTYUIOP123", "ship on Friday", "deploy with key"}
	paths := []string{root, "clean.md", "leaked.txt", "/etc/passwd"}
	err = filepath.WalkDir(auditDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the raw value %q", path, v)
			}
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			tolerated := withoutPathFacts(line)
			checked := withoutReasonTexts(tolerated)
			for _, v := range paths {
				if bytes.Contains(checked, []byte(v)) {
					t.Errorf("%s holds the raw argument %q: %s", path, v, line)
				} else if bytes.Contains(tolerated, []byte(v)) {
					t.Errorf("a reason text in %s quotes the argument %q: %s", filepath.Base(path), v, line)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The log verifies; so does its checkpoint file, which covers every
	// record before the final checkpoint record.
	if res := sovereignCLI(t, "audit", "verify", "--dir", auditDir); res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte("INTACT")) {
		t.Fatalf("audit verify: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	cpNote, err := os.ReadFile(filepath.Join(auditDir, "main", audit.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.DefaultVerifierKeys(auditDir)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := audit.OpenCheckpoint(cpNote, note.VerifierList(keys...))
	last := recs[len(recs)-1]
	if err != nil || cp.Origin != last.Str("log") || last.Kind != audit.KindCheckpoint || cp.Size != last.Seq || last.Str("note") != string(cpNote) {
		t.Fatalf("checkpoint file: %+v, %v; the last record is %s", cp, err, last.Line)
	}
	kept := filepath.Join(t.TempDir(), "main.checkpoint") // a copy kept outside the log
	if err := os.WriteFile(kept, cpNote, 0o600); err != nil {
		t.Fatal(err)
	}
	res := sovereignCLI(t, "audit", "verify", "--dir", auditDir, "--checkpoint", kept, "--json")
	var rep audit.Report
	if err := json.Unmarshal(res.Stdout, &rep); res.ExitCode != 0 || err != nil || len(rep.Logs) != 1 || rep.Logs[0].Anchored != cp.Size {
		t.Fatalf("verify --checkpoint: exit %d, %v\n%s%s", res.ExitCode, err, res.Stdout, res.Stderr)
	}

	// Replaying the log with the same policy changes nothing.
	res = sovereignCLI(t, "--config", cfg, "audit", "replay", "--dir", auditDir)
	if res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte("changed 0")) || !bytes.Contains(res.Stdout, []byte("not replayable 0")) {
		t.Fatalf("audit replay: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	// audit show finds the redaction by its rule, with the call's outcome.
	res = sovereignCLI(t, "audit", "show", "--dir", auditDir, "--rule", "SEC-001", "--json")
	if res.ExitCode != 0 {
		t.Fatalf("audit show: exit %d: %s", res.ExitCode, res.Stderr)
	}
	var shown []*audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		r, err := audit.ParseRecord([]byte(line))
		if err != nil {
			t.Fatalf("audit show --json printed %q: %v", line, err)
		}
		shown = append(shown, r)
	}
	if len(shown) != 2 || redaction == nil || shown[0].Str("decision_id") != redaction.Str("decision_id") ||
		shown[1].Kind != audit.KindOutcome || shown[1].Str("status") != "redacted" {
		t.Errorf("audit show --rule SEC-001:\n%s", res.Stdout)
	}
	res = sovereignCLI(t, "audit", "show", "--dir", auditDir, "--decision", "deny")
	if res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte(deniedID)) || !bytes.Contains(res.Stdout, []byte(deniedRules[0])) {
		t.Errorf("audit show --decision deny does not list the denial:\n%s", res.Stdout)
	}
	res = sovereignCLI(t, "audit", "export", "--dir", auditDir, "--format", "ocsf")
	if n := bytes.Count(res.Stdout, []byte("\n")); res.ExitCode != 0 || n != len(recs) || !bytes.Contains(res.Stdout, []byte(`"class_uid":6003`)) {
		t.Errorf("audit export --format ocsf: exit %d, %d events for %d records", res.ExitCode, n, len(recs))
	}
}
