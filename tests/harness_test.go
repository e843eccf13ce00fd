// Package tests holds Sovereign's end-to-end tests: they build the real
// binary (./cmd/sovereign) and drive it against real third-party MCP servers
// and clients installed from npm by tests/setup.sh. See tests/README.md.
package tests

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Set once by TestMain; read-only afterwards.
var (
	testsDir string // absolute path of tests/
	npmDir   string // absolute path of tests/npm (package.json, node_modules)
	buildDir string // temporary directory holding the binaries built for this run

	sovereignPath     string // the built (or SOVEREIGN_BIN) binary, if sovereignBuildErr is nil
	sovereignBuildErr error
)

// TestMain installs the npm peers (tests/setup.sh) and builds the sovereign
// binary once for the whole package. With -short the package is skipped:
// every test in it is end-to-end.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("tests: skipping the end-to-end suite in -short mode (it builds ./cmd/sovereign and runs npm MCP servers)")
		os.Exit(0)
	}
	os.Exit(runE2E(m))
}

func runE2E(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	testsDir = wd // go test runs a package's tests in its directory
	npmDir = filepath.Join(testsDir, "npm")

	buildDir, err = os.MkdirTemp("", "sovereign-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	// Proxies started without a data_dir (sovereign run, serve with no
	// config) keep their audit log and keys here, never in the real
	// ~/.sovereign of whoever runs the tests.
	if os.Getenv("SOVEREIGN_ROOT") == "" {
		os.Setenv("SOVEREIGN_ROOT", filepath.Join(buildDir, "data"))
	}

	setup := exec.Command("bash", filepath.Join(testsDir, "setup.sh"))
	setup.Stdout, setup.Stderr = os.Stderr, os.Stderr
	if err := setup.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: tests/setup.sh failed (%v); the e2e suite cannot run without its npm packages\n", err)
		return 1
	}
	if err := os.MkdirAll(inspectorDir(), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}

	sovereignPath, sovereignBuildErr = buildSovereign()
	if sovereignBuildErr != nil {
		// Not fatal here: tests that do not need the proxy still run, and the
		// ones that do fail with this error via sovereignBin.
		fmt.Fprintf(os.Stderr, "tests: WARNING: %v\n", sovereignBuildErr)
	}
	return m.Run()
}

// buildSovereign builds ../cmd/sovereign into buildDir, or uses $SOVEREIGN_BIN
// when set (to test a binary built elsewhere).
func buildSovereign() (string, error) {
	if p := os.Getenv("SOVEREIGN_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("SOVEREIGN_BIN: %w", err)
		}
		return abs, nil
	}
	out := filepath.Join(buildDir, "sovereign")
	// Built with the race detector: the e2e traffic is the best race test
	// the proxy gets.
	cmd := exec.Command("go", "build", "-race", "-o", out, "../cmd/sovereign")
	cmd.Dir = testsDir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build -o %s ../cmd/sovereign: %v\n%s", out, err, msg)
	}
	return out, nil
}

// sovereignBin returns the path of the sovereign binary under test, failing
// the test with the compiler's output if it did not build.
func sovereignBin(t *testing.T) string {
	t.Helper()
	if sovereignBuildErr != nil {
		t.Fatalf("this test needs the sovereign binary, which did not build:\n%v", sovereignBuildErr)
	}
	return sovereignPath
}

var (
	goBuildMu    sync.Mutex
	goBuildCache = map[string]string{} // package path -> binary
)

// goBuild builds the Go main package pkg (an import path resolvable from this
// module, e.g. a module-cache example, or a path relative to tests/) into
// buildDir/name once per test run and returns the binary's path.
func goBuild(t *testing.T, name, pkg string) string {
	t.Helper()
	goBuildMu.Lock()
	defer goBuildMu.Unlock()
	if p, ok := goBuildCache[pkg]; ok {
		return p
	}
	out := filepath.Join(buildDir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = testsDir
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -o %s %s: %v\n%s", out, pkg, err, msg)
	}
	t.Logf("built %s in %s", pkg, time.Since(start).Round(time.Millisecond))
	goBuildCache[pkg] = out
	return out
}

// writeConfig writes a sovereign YAML config into t.TempDir() and returns its
// path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sovereign.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSovereign runs the sovereign binary with args (working directory: a
// fresh t.TempDir()); it is stopped at cleanup.
func startSovereign(t *testing.T, args ...string) *process {
	t.Helper()
	return startProcess(t, "sovereign", sovereignBin(t), args, nil, t.TempDir())
}

// serveHTTP starts `sovereign serve --no-stdio --http 127.0.0.1:<free port>
// --config configPath`, waits (at most 30 s) until it listens and returns the
// MCP endpoint URL, http://127.0.0.1:<port>/mcp.
func serveHTTP(t *testing.T, configPath string) (string, *process) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startSovereign(t, "serve", "--no-stdio", "--http", addr, "--config", configPath)
	waitHTTP(t, "http://"+addr+"/mcp", 30*time.Second, p)
	return "http://" + addr + "/mcp", p
}
