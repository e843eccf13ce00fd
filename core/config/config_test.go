package config

import (
	"path/filepath"
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
