package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

// runCLI runs the root command and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		var s silentError
		if !asSilent(err, &s) {
			errOut.WriteString(err.Error())
		}
	}
	return out.String(), errOut.String(), exitCode(err)
}

func asSilent(err error, s *silentError) bool {
	v, ok := err.(silentError)
	if ok {
		*s = v
	}
	return ok
}

// auditFixture writes a data directory whose audit directory holds one
// valid log, and a config naming it.
func auditFixture(t *testing.T) (dataDir, config string, key audittest.Key, l *audittest.Log) {
	t.Helper()
	key, err := audittest.NewKey("sovereign-audit/cli-test")
	if err != nil {
		t.Fatal(err)
	}
	dataDir = t.TempDir()
	auditDir := filepath.Join(dataDir, "audit")
	if err := audittest.WriteVerifierKey(auditDir, key.VKey); err != nil {
		t.Fatal(err)
	}
	l, err = audittest.Generate(auditDir, "main", audittest.Options{Records: 1500, CheckpointEvery: 100, SegmentRecords: 600, Closed: true, Signer: key.Signer})
	if err != nil {
		t.Fatal(err)
	}
	config = filepath.Join(t.TempDir(), "sovereign.yaml")
	if err := os.WriteFile(config, []byte("data_dir: "+dataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dataDir, config, key, l
}

func TestAuditVerifyCommand(t *testing.T) {
	dataDir, config, key, l := auditFixture(t)
	auditDir := filepath.Join(dataDir, "audit")

	// The audit directory comes from the config.
	out, errOut, code := runCLI(t, "-c", config, "audit", "verify")
	if code != exitOK || !strings.Contains(out, "result: INTACT") || !strings.Contains(out, "truncation of the newest records would not be detected") {
		t.Fatalf("intact: code %d\n%s\n%s", code, out, errOut)
	}

	// A checkpoint kept outside proves the log up to it.
	cp := filepath.Join(t.TempDir(), "main.checkpoint")
	os.WriteFile(cp, l.Newest(), 0o600)
	out, _, code = runCLI(t, "audit", "verify", "--dir", auditDir, "--checkpoint", cp, "--json")
	var rep audit.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK || !rep.Intact || rep.Logs[0].Anchored != l.Checkpoints[len(l.Checkpoints)-1] {
		t.Fatalf("anchored: code %d err %v\n%s", code, err, out)
	}
	out, _, _ = runCLI(t, "audit", "verify", "--dir", auditDir, "--checkpoint", cp)
	if !strings.Contains(out, "intact up to seq 1,498, covered by the checkpoint you supplied ("+cp+")") {
		t.Fatalf("text report:\n%s", out)
	}

	// --remember keeps the newest checkpoint; a rollback is then caught.
	state := filepath.Join(t.TempDir(), "state.json")
	if _, _, code := runCLI(t, "audit", "verify", "--dir", auditDir, "--state", state); code != exitOK {
		t.Fatalf("remember: %d", code)
	}
	path, _ := l.Locate(l.Records - 1)
	if err := audittest.Edit(path, func(ls [][]byte) [][]byte { return ls[:len(ls)-30] }); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(l.Folder, audit.CheckpointFile))
	out, _, code = runCLI(t, "audit", "verify", "--dir", auditDir, "--json", "--state", state)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitFailure || rep.Intact || rep.Logs[0].Problem == nil || rep.Logs[0].Problem.Category != audit.Truncated {
		t.Fatalf("rolled back: code %d err %v\n%s", code, err, out)
	}
	// Without the state, the cut is not visible: exit 0, but not proven.
	if out, _, code = runCLI(t, "audit", "verify", "--dir", auditDir); code != exitOK || !strings.Contains(out, "consistent, but only the log's own checkpoints vouch for it") {
		t.Fatalf("truncated without outside checkpoint: %d\n%s", code, out)
	}

	// Damage: exit 1, the category and seq in the report.
	path, i := l.Locate(700)
	if err := audittest.Edit(path, func(ls [][]byte) [][]byte { return append(ls[:i:i], ls[i+1:]...) }); err != nil {
		t.Fatal(err)
	}
	out, _, code = runCLI(t, "audit", "verify", "--dir", auditDir, "--key", filepath.Join(auditDir, audit.PublicKeyFile))
	if code != exitFailure || !strings.Contains(out, "FAILED: DELETED at seq 701") || !strings.Contains(out, "result: FAILED") {
		t.Fatalf("damaged: code %d\n%s", code, out)
	}

	// Usage errors: exit 2.
	bad := filepath.Join(t.TempDir(), "bad.note")
	os.WriteFile(bad, []byte("not a checkpoint"), 0o600)
	for name, args := range map[string][]string{
		"unknown flag":          {"audit", "verify", "--nope"},
		"missing directory":     {"audit", "verify", "--dir", filepath.Join(dataDir, "missing")},
		"missing checkpoint":    {"audit", "verify", "--dir", auditDir, "--checkpoint", filepath.Join(dataDir, "missing")},
		"not a checkpoint":      {"audit", "verify", "--dir", auditDir, "--checkpoint", bad},
		"missing key":           {"audit", "verify", "--dir", auditDir, "--key", filepath.Join(dataDir, "missing")},
		"no public key":         {"audit", "verify", "--dir", noKeyDir(t, l)},
		"argument":              {"audit", "verify", "extra"},
		"prove without seq":     {"audit", "prove", "--dir", auditDir},
		"check-proof, no file":  {"audit", "check-proof"},
		"check-proof, missing":  {"audit", "check-proof", filepath.Join(dataDir, "missing")},
		"prove, unknown log":    {"audit", "prove", "--dir", auditDir, "--seq", "1", "--log", "nope"},
		"prove, not a log name": {"audit", "prove", "--dir", auditDir, "--seq", "1", "--log", "../x"},
	} {
		if _, errOut, code := runCLI(t, args...); code != exitUsage {
			t.Errorf("%s: exit %d, want 2 (%s)", name, code, errOut)
		}
	}
	_ = key
}

// noKeyDir is an audit directory holding a copy of l's log but no public
// key.
func noKeyDir(t *testing.T, l *audittest.Log) string {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "main"), 0o700)
	for _, sg := range l.Segments {
		b, _ := os.ReadFile(filepath.Join(l.Folder, sg.Name))
		os.WriteFile(filepath.Join(dir, "main", sg.Name), b, 0o600)
	}
	return dir
}

func TestAuditProveCommands(t *testing.T) {
	dataDir, config, key, l := auditFixture(t)
	auditDir := filepath.Join(dataDir, "audit")
	bundle := filepath.Join(t.TempDir(), "proof.json")
	_, errOut, code := runCLI(t, "-c", config, "audit", "prove", "--seq", "777", "--out", bundle)
	if code != exitOK || !strings.Contains(errOut, "record 777 of main") {
		t.Fatalf("prove: %d %s", code, errOut)
	}
	// Offline, with the key given explicitly.
	vkey := filepath.Join(t.TempDir(), "audit.vkey")
	os.WriteFile(vkey, []byte(key.VKey+"\n"), 0o600)
	out, errOut, code := runCLI(t, "audit", "check-proof", bundle, "--key", vkey)
	if code != exitOK || !strings.HasPrefix(out, "OK: record 777 (outcome,") {
		t.Fatalf("check-proof: %d %s %s", code, out, errOut)
	}
	out, _, code = runCLI(t, "audit", "check-proof", bundle, "--key", vkey, "--json")
	var res audit.BundleResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitOK || res.Seq != 777 || res.Origin != l.Origin {
		t.Fatalf("check-proof --json: %d %v %s", code, err, out)
	}
	// The key from the configured audit directory.
	if _, _, code := runCLI(t, "-c", config, "audit", "check-proof", bundle); code != exitOK {
		t.Fatalf("check-proof with the configured key: %d", code)
	}
	// To stdout.
	out, _, code = runCLI(t, "audit", "prove", "--dir", auditDir, "--seq", "3")
	var b audit.Bundle
	if err := json.Unmarshal([]byte(out), &b); err != nil || code != exitOK || b.Seq != 3 {
		t.Fatalf("prove to stdout: %d %v", code, err)
	}

	// A tampered bundle, or another key: exit 1.
	data, _ := os.ReadFile(bundle)
	tampered := filepath.Join(t.TempDir(), "tampered.json")
	os.WriteFile(tampered, bytes.Replace(data, []byte(`\"status\":\"ok\"`), []byte(`\"status\":\"no\"`), 1), 0o600)
	if out, _, code := runCLI(t, "audit", "check-proof", tampered, "--key", vkey); code != exitFailure || !strings.HasPrefix(out, "INVALID") {
		t.Fatalf("tampered bundle: %d %s", code, out)
	}
	other, _ := audittest.NewKey("someone-else")
	otherKey := filepath.Join(t.TempDir(), "other.vkey")
	os.WriteFile(otherKey, []byte(other.VKey+"\n"), 0o600)
	if out, _, code := runCLI(t, "audit", "check-proof", bundle, "--key", otherKey); code != exitFailure || !strings.Contains(out, "UNKNOWN_KEY") {
		t.Fatalf("other key: %d %s", code, out)
	}

	// A record not yet covered by a checkpoint, and a damaged log: exit 1.
	if _, _, code := runCLI(t, "audit", "prove", "--dir", auditDir, "--seq", "1499"); code != exitFailure {
		t.Fatalf("uncovered record: %d", code)
	}
	// Several logs need --log.
	if _, err := audittest.Generate(auditDir, "main-2", audittest.Options{Records: 300, Signer: key.Signer}); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "audit", "prove", "--dir", auditDir, "--seq", "3"); code != exitUsage || !strings.Contains(errOut, "main, main-2") {
		t.Fatalf("several logs: %d %s", code, errOut)
	}
	if _, _, code := runCLI(t, "audit", "prove", "--dir", auditDir, "--seq", "3", "--log", "main-2"); code != exitOK {
		t.Fatalf("--log main-2: %d", code)
	}
}
