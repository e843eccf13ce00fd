package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/config"
)

// TestAuditRetention: audit.retention reaches the log, which deletes its
// old sealed segments when it opens, and what is left verifies.
func TestAuditRetention(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	keys, err := audit.LoadOrCreateKeys(cfg.AuditKeysDir(), cfg.AuditDir(), "sovereign-audit/cli-test")
	if err != nil {
		t.Fatal(err)
	}
	// Two days ago: a log of many small segments.
	then := time.Now().Add(-48 * time.Hour)
	l, err := audit.Open(context.Background(), audit.Options{
		Dir: cfg.AuditDir(), Keys: keys, Version: "test", Hostname: "testhost",
		MaxSegmentBytes: 2048, Logger: hclog.NewNullLogger(),
		Now: func() time.Time { return then },
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		e := audit.Entry{Kind: audit.KindDecision, Body: map[string]any{"decision_id": fmt.Sprintf("d-%d", i), "allow": true}}
		if _, err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(cfg.AuditDir(), "main")
	if _, err := os.Stat(filepath.Join(folder, audit.SegmentName(0))); err != nil {
		t.Fatal(err)
	}

	cfg.Audit.Retention = config.Duration(time.Hour)
	s, err := openAudit(context.Background(), cfg, auditFlags{}, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	s.close(hclog.NewNullLogger())
	if _, err := os.Stat(filepath.Join(folder, audit.SegmentName(0))); !os.IsNotExist(err) {
		t.Fatalf("the first segment was not deleted by retention: %v", err)
	}

	out, errOut, code := runCLI(t, "audit", "verify", "--dir", cfg.AuditDir())
	if code != exitOK || !strings.Contains(out, "retention") || !strings.Contains(out, "the records before were deleted") {
		t.Fatalf("verify of a pruned log: exit %d\n%s\n%s", code, out, errOut)
	}
}
