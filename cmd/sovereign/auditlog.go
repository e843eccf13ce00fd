package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/config"
)

// auditFlags are the audit options of the commands that serve.
type auditFlags struct {
	acceptDamage bool
}

func (f *auditFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.acceptDamage, "audit-accept-damage", false,
		"start even though the audit log is damaged (not just a torn last line); the damage is recorded and the chain continues")
}

// auditSink is the open audit log of a serving process; nil when auditing
// is disabled.
type auditSink struct {
	log  *audit.Log
	keys audit.Keys
}

// openAudit opens (or creates) this process's audit log, with its keys. A
// log that cannot be opened stops the start: the proxy does not serve
// unaudited unless audit.enabled is false.
func openAudit(ctx context.Context, cfg config.Config, f auditFlags, log hclog.Logger) (*auditSink, error) {
	if !cfg.Audit.Enabled {
		log.Warn("AUDIT LOG DISABLED (audit.enabled: false): decisions are not recorded")
		return nil, nil
	}
	host, _ := os.Hostname()
	keys, err := audit.LoadOrCreateKeys(cfg.AuditKeysDir(), cfg.AuditDir(), "sovereign-audit/"+keyNamePart(host))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l, err := audit.Open(ctx, audit.Options{
		Dir:                cfg.AuditDir(),
		Keys:               keys,
		Version:            buildVersion(),
		MaxSegmentBytes:    cfg.Audit.MaxSegmentBytes,
		MaxSegmentAge:      cfg.Audit.MaxSegmentAge.D(),
		CheckpointEvery:    int(cfg.Audit.CheckpointEvery),
		CheckpointInterval: cfg.Audit.CheckpointInterval.D(),
		Retention:          cfg.Audit.Retention.D(),
		Anchors:            cfg.Audit.Anchors,
		AcceptDamage:       f.acceptDamage,
		Logger:             log.Named("audit"),
	})
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	log.Info("audit log open", "folder", l.Folder(), "origin", l.Origin(), "public_key", cfg.AuditDir()+"/"+audit.PublicKeyFile)
	return &auditSink{log: l, keys: keys}, nil
}

// close writes the final checkpoint.
func (s *auditSink) close(log hclog.Logger) {
	if s == nil {
		return
	}
	if err := s.log.Close(); err != nil {
		log.Error("closing the audit log", "error", err)
	}
}

// policyLoaded records a policy revision taking effect.
func (s *auditSink) policyLoaded(mode string) func(revision, previous string, modules int) {
	return func(revision, previous string, modules int) {
		s.log.AppendAsync(audit.Entry{Kind: audit.KindPolicyLoaded, Body: map[string]any{
			"revision": revision, "previous": previous, "modules": modules, "mode": mode,
		}})
	}
}

// keyNamePart makes a host name usable in a note key name (no spaces or
// "+").
func keyNamePart(host string) string {
	out := []rune{}
	for _, r := range host {
		if r == '+' || r == ' ' || r < 0x21 || r == 0x7f {
			r = '-'
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return "localhost"
	}
	return string(out)
}
