package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	root := t.TempDir()
	t.Setenv("SOVEREIGN_ROOT", root)
	cfg := Default()
	if cfg.DataDir != root {
		t.Errorf("with SOVEREIGN_ROOT: DataDir = %q, want %q", cfg.DataDir, root)
	}
	if cfg.LogLevel != DefaultLogLevel || cfg.Limits.MaxMessageBytes != DefaultMaxMessageBytes ||
		cfg.Servers == nil || len(cfg.Servers) != 0 || cfg.Listen.HTTP != "" || cfg.Listen.InsecureAllowRemote {
		t.Errorf("Default() = %+v", cfg)
	}

	home := t.TempDir()
	t.Setenv("SOVEREIGN_ROOT", "")
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	if got, want := Default().DataDir, filepath.Join(home, ".sovereign"); got != want {
		t.Errorf("without SOVEREIGN_ROOT: DataDir = %q, want %q", got, want)
	}

	// Each call reads the environment afresh.
	t.Setenv("SOVEREIGN_ROOT", filepath.Join(root, "later"))
	if got := Default().DataDir; got != filepath.Join(root, "later") {
		t.Errorf("Default does not read the environment at call time: %q", got)
	}

	// Default returns independent maps.
	a, b := Default(), Default()
	a.Servers["x"] = Server{}
	if len(b.Servers) != 0 {
		t.Error("two Default() results share their Servers map")
	}
}

func TestDefaultsWithoutHome(t *testing.T) {
	e := stdEnv()
	e.homeDir = func() (string, error) { return "", nil }
	if got := defaults(e).DataDir; got != "~/.sovereign" {
		t.Errorf("DataDir = %q, want it left unexpanded for Parse to report", got)
	}
}

func TestEngineSection(t *testing.T) {
	t.Setenv("SOVEREIGN_ROOT", t.TempDir())
	if !Default().Engine.Enabled {
		t.Fatal("the engine is not enabled by default")
	}
	cfg, err := Parse([]byte("engine: {enabled: false}\n"), "c.yaml")
	if err != nil || cfg.Engine.Enabled {
		t.Fatalf("engine.enabled false: %+v, %v", cfg.Engine, err)
	}
	if _, err := Parse([]byte("engine: {enable: true}\n"), "c.yaml"); err == nil || !strings.Contains(err.Error(), "engine.enable") {
		t.Fatalf("unknown engine key: %v", err)
	}
	_, err = Parse([]byte("servers: {sovereign: {command: x}}\n"), "c.yaml")
	if err == nil || !strings.Contains(err.Error(), "built-in tool engine") {
		t.Fatalf("a server named sovereign with the engine on: %v", err)
	}
	cfg, err = Parse([]byte("engine: {enabled: false}\nservers: {sovereign: {command: x}}\n"), "c.yaml")
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("a server named sovereign with the engine off: %v", err)
	}
}
