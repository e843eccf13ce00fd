package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/config"
)

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"runtime failure", errors.New("listen: address in use"), exitFailure},
		{"usage", usageError{errors.New("bad flag")}, exitUsage},
		{"wrapped usage", fmt.Errorf("serve: %w", usageError{errors.New("bad config")}), exitUsage},
		{"already reported", silentError{code: exitFailure}, exitFailure},
	}
	for _, tc := range tests {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exit code %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "127.9.9.9:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:1": false, "192.168.1.5:80": false, "example.com:80": false, "nonsense": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestUpstreamsFromConfig(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(`
limits: {max_message_bytes: 65536}
servers:
  zeta: {command: ./z, args: [a, b], env: {K: v}, timeout: 5s}
  alpha: {url: "http://127.0.0.1:9/sse", prefix: "", disabled: true}
  brave_search: {url: "http://127.0.0.1:9/mcp"}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ups := upstreamsFromConfig(cfg)
	if len(ups) != 3 || ups[0].Spec.Name != "alpha" || ups[1].Spec.Name != "brave_search" || ups[2].Spec.Name != "zeta" {
		t.Fatalf("upstreams not in name order: %+v", ups)
	}
	a, b, z := ups[0], ups[1], ups[2]
	if a.Prefix != "" || !a.Disabled || a.Spec.Transport != "sse" {
		t.Errorf("alpha = %+v", a)
	}
	if b.Prefix != "brave-search" || b.Spec.Transport != "streamable-http" {
		t.Errorf("brave_search = %+v", b)
	}
	if z.Prefix != "zeta" || z.Spec.Command != "./z" || len(z.Spec.Args) != 2 || z.Spec.Env["K"] != "v" ||
		z.Spec.Timeout != 5*time.Second || z.Spec.MaxMessageBytes != 65536 || z.Spec.InheritEnv {
		t.Errorf("zeta = %+v", z)
	}
}
