package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPolicySectionAndRoots(t *testing.T) {
	t.Parallel()
	e := stdEnv()
	cfg, err := parse([]byte(`
roots: ["~/projects", "/srv/data"]
policy:
  paths: ["~/policies"]
  data: ["/etc/sovereign/data.yaml"]
  mode: shadow
  timeout: 250ms
`), "p.yaml", e)
	if err != nil {
		t.Fatal(err)
	}
	home := "/home/tester"
	if cfg.Roots[0] != filepath.Join(home, "projects") || cfg.Roots[1] != "/srv/data" {
		t.Errorf("roots = %v", cfg.Roots)
	}
	if cfg.Policy.Paths[0] != filepath.Join(home, "policies") || cfg.Policy.Data[0] != "/etc/sovereign/data.yaml" {
		t.Errorf("policy paths = %v, data = %v", cfg.Policy.Paths, cfg.Policy.Data)
	}
	if cfg.Policy.Mode != PolicyShadow || cfg.Policy.Timeout.D() != 250*time.Millisecond || !cfg.Policy.Builtin {
		t.Errorf("policy = %+v", cfg.Policy)
	}
	def, err := parse(nil, "empty.yaml", e)
	if err != nil {
		t.Fatal(err)
	}
	if def.Policy.Mode != PolicyEnforce || def.Policy.Timeout.D() != DefaultPolicyTimeout || !def.Policy.Builtin || len(def.Roots) != 0 {
		t.Errorf("default policy = %+v, roots %v", def.Policy, def.Roots)
	}
}

func TestPolicySectionProblems(t *testing.T) {
	t.Parallel()
	_, err := parse([]byte(`
policy:
  mode: permissive
  timeout: 1m
  builtin: false
  colour: red
`), "bad.yaml", stdEnv())
	if err == nil {
		t.Fatal("a bad policy section was accepted")
	}
	for _, want := range []string{"policy.mode", "policy.timeout", "policy.builtin", "policy.colour"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no problem reported for %s:\n%v", want, err)
		}
	}
}
