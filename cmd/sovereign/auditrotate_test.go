package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/config"
)

// TestAuditRotateKey: rotate-key end to end through the command: the
// serving path (openAudit) records the rotation at its next start, and
// verify passes with the old public key alone, with the defaults, and
// fails with the new key alone on the checkpoints signed before.
func TestAuditRotateKey(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	conf := filepath.Join(t.TempDir(), "sovereign.yaml")
	if err := os.WriteFile(conf, []byte("data_dir: "+cfg.DataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// No keys yet: a polite refusal, exit 2.
	_, errOut, code := runCLI(t, "-c", conf, "audit", "rotate-key")
	if code != exitUsage || !strings.Contains(errOut, "nothing to rotate") {
		t.Fatalf("rotate-key without keys: code %d, %q", code, errOut)
	}

	serve := func(n int) {
		t.Helper()
		s, err := openAudit(context.Background(), cfg, auditFlags{}, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			if _, err := s.log.Append(context.Background(), audit.Entry{Kind: audit.KindDecision, Body: map[string]any{"allow": true}}); err != nil {
				t.Fatal(err)
			}
		}
		s.close(hclog.NewNullLogger())
	}
	serve(5)
	oldKey := filepath.Join(t.TempDir(), "old.vkey")
	b, err := os.ReadFile(filepath.Join(cfg.AuditDir(), audit.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(oldKey, b, 0o644)

	out, errOut, code := runCLI(t, "-c", conf, "audit", "rotate-key")
	newVKey := strings.TrimSpace(out)
	if code != exitOK || strings.Count(out, "\n") != 1 || newVKey == strings.TrimSpace(string(b)) || !strings.Contains(errOut, audit.SigningKeyFile+audit.RetiredSuffix) {
		t.Fatalf("rotate-key: code %d\n%s\n%s", code, out, errOut)
	}
	newKey := filepath.Join(t.TempDir(), "new.vkey")
	os.WriteFile(newKey, []byte(newVKey+"\n"), 0o644)
	serve(5) // the next start records the rotation

	cases := []struct {
		name    string
		args    []string
		code    int
		learned bool
		problem audit.Category
	}{
		{"old public key only", []string{"--key", oldKey}, exitOK, true, ""},
		{"default keys", nil, exitOK, false, ""},
		{"both keys", []string{"--key", oldKey, "--key", newKey}, exitOK, false, ""},
		{"new public key only", []string{"--key", newKey}, exitFailure, false, audit.UnknownKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"-c", conf, "audit", "verify", "--json"}, tc.args...)...)
			var rep audit.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != tc.code || len(rep.Logs) != 1 {
				t.Fatalf("code %d (want %d), %v\n%s\n%s", code, tc.code, err, out, errOut)
			}
			l := rep.Logs[0]
			if (len(l.LearnedKeys) > 0) != tc.learned {
				t.Fatalf("learned keys %v", l.LearnedKeys)
			}
			if tc.problem == "" && l.Problem != nil || tc.problem != "" && (l.Problem == nil || l.Problem.Category != tc.problem) {
				t.Fatalf("problem %+v, want %q", l.Problem, tc.problem)
			}
		})
	}
}
