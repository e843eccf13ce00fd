package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// The MCP conformance server suite (@modelcontextprotocol/conformance) run
// against mcp-go's conformance fixture server, directly and through
// `sovereign serve`. The proxy must not lose any scenario that passes
// directly.

const (
	conformanceFixturePkg = "github.com/mark3labs/mcp-go/examples/conformance"
	conformanceTimeout    = 120 * time.Second // the whole suite takes ~2 s on an idle machine
	preflightTimeout      = 30 * time.Second  // ~1 s; node startup alone can take seconds on a loaded machine
)

func TestConformanceDirect(t *testing.T) {
	upstream := startConformanceFixture(t)
	run := runConformance(t, "direct", upstream)
	run.requireCompleted(t)

	expected := expectedFailures(t)
	var report []string
	for _, name := range run.names() {
		if !run.passed(name) && !expected[name] {
			report = append(report, run.describe(name))
		}
	}
	t.Log(run.summary(expected))
	if len(report) > 0 {
		t.Errorf("%d conformance scenario(s) failed against mcp-go's fixture server directly and are not in conformance/expected-failures.yml:\n%s",
			len(report), strings.Join(report, "\n"))
	}
}

func TestConformanceThroughProxy(t *testing.T) {
	sovereignBin(t) // fail fast if the proxy did not build
	upstream := startConformanceFixture(t)
	direct := runConformance(t, "direct", upstream)
	direct.requireCompleted(t)

	cfg := writeConfig(t, fmt.Sprintf(`servers:
  conf: {url: %q, transport: streamable-http, prefix: ""}
`, upstream))
	proxyURL, proxy := serveHTTP(t, cfg)

	// One quick scenario first, so a proxy that cannot even initialize fails
	// fast with a focused message instead of timing out the whole suite.
	pre := runConformance(t, "preflight", proxyURL, "--scenario", "server-initialize")
	if !pre.passed("server-initialize") {
		msg := pre.describe("server-initialize")
		if _, ok := pre.scenarios["server-initialize"]; !ok {
			msg += "\nconformance output:\n" + pre.output()
		}
		t.Fatalf("the proxy at %s fails the basic server-initialize scenario (proxy process: %s); nothing else can pass:\n%s",
			proxyURL, proxy.exitStatus(), msg)
	}

	via := runConformance(t, "proxy", proxyURL)
	via.requireCompleted(t)

	expected := expectedFailures(t)
	var lost []string
	for _, name := range direct.names() {
		if direct.passed(name) && !via.passed(name) && !expected[name] {
			lost = append(lost, via.describe(name))
		}
	}
	t.Log("direct: " + direct.summary(expected))
	t.Log("proxy:  " + via.summary(expected))
	if len(lost) > 0 {
		t.Errorf("%d conformance scenario(s) pass against the upstream directly but not through the proxy (%s):\n%s",
			len(lost), proxyURL, strings.Join(lost, "\n"))
	}
	if proxy.exited() {
		t.Errorf("the proxy exited during the suite: %s", proxy.exitStatus())
	}
}

// startConformanceFixture builds and starts mcp-go's conformance fixture
// server on a free port and returns its MCP endpoint URL.
func startConformanceFixture(t *testing.T) string {
	t.Helper()
	bin := goBuild(t, "conf-upstream", conformanceFixturePkg)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startProcess(t, "conf-upstream", bin, nil, []string{"CONFORMANCE_ADDR=" + addr}, t.TempDir())
	waitHTTP(t, "http://"+addr+"/health", 30*time.Second, p)
	return "http://" + addr + "/mcp"
}

// expectedFailures reads tests/conformance/expected-failures.yml: the
// scenarios that are tolerated whether they pass or fail (see its comments).
// The file is a YAML map with a "server" list; this reads exactly that shape
// (the project's go.mod is not touched for a YAML dependency).
func expectedFailures(t *testing.T) map[string]bool {
	t.Helper()
	path := expectedFailuresPath()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Server []string `yaml:"server"`
	}
	if err := yaml.UnmarshalWithOptions(data, &file, yaml.Strict()); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	set := map[string]bool{}
	for _, name := range file.Server {
		set[name] = true
	}
	return set
}

func expectedFailuresPath() string {
	return filepath.Join(testsDir, "conformance", "expected-failures.yml")
}

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Status       string          `json:"status"` // SUCCESS, FAILURE, WARNING or INFO
	ErrorMessage string          `json:"errorMessage"`
	Details      json.RawMessage `json:"details"`
}

// conformanceRun is one `conformance server` invocation and its per-scenario
// results.
type conformanceRun struct {
	label     string
	url       string
	res       commandResult
	scenarios map[string][]conformanceCheck
}

// runConformance runs `conformance server --url url` (the active suite, or
// what extra selects, e.g. "--scenario", "x") with Node 22 and the project's
// expected-failures file, and loads every scenario's checks.json. It bounds
// the run by a timeout and never fails the test by itself.
func runConformance(t *testing.T, label, url string, extra ...string) *conformanceRun {
	t.Helper()
	out := filepath.Join(t.TempDir(), "results")
	timeout := conformanceTimeout
	if slices.Contains(extra, "--scenario") {
		timeout = preflightTimeout
	}
	argv := append([]string{node22(), nodeBin("conformance"), "server", "--url", url,
		"--expected-failures", expectedFailuresPath(), "-o", out}, extra...)
	res := runCommand(t, timeout, t.TempDir(), []string{node22PathEnv()}, argv...)
	run := &conformanceRun{label: label, url: url, res: res, scenarios: map[string][]conformanceCheck{}}
	run.load(t, out)
	t.Logf("conformance (%s) against %s: exit %d in %s, %d scenario result(s)",
		label, url, res.ExitCode, res.Duration.Round(time.Millisecond), len(run.scenarios))
	return run
}

// resultDir matches conformance's result directories:
// server-<scenario>-<ISO timestamp with ':' and '.' replaced by '-'>.
var resultDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$`)

func (r *conformanceRun) load(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries { // sorted by name: a later run of a scenario wins
		m := resultDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name(), "checks.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the scenario was still running when the suite was killed
		}
		if err != nil {
			t.Fatalf("conformance (%s): %v", r.label, err)
		}
		var checks []conformanceCheck
		if err := json.Unmarshal(data, &checks); err != nil {
			t.Fatalf("conformance (%s): %s/checks.json: %v", r.label, e.Name(), err)
		}
		r.scenarios[m[1]] = checks
	}
}

// passed uses conformance's own rule: a scenario passes when none of its
// checks is FAILURE or WARNING. A scenario without results did not pass.
func (r *conformanceRun) passed(name string) bool {
	checks, ok := r.scenarios[name]
	if !ok {
		return false
	}
	for _, c := range checks {
		if c.Status == "FAILURE" || c.Status == "WARNING" {
			return false
		}
	}
	return true
}

func (r *conformanceRun) names() []string {
	var names []string
	for name := range r.scenarios {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (r *conformanceRun) timedOut() bool { return errors.Is(r.res.Err, errTimeout) }

// ansiEscape matches terminal colour codes, which conformance prints even
// when its output is not a terminal.
var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func (r *conformanceRun) output() string {
	return ansiEscape.ReplaceAllString(string(r.res.Stdout)+string(r.res.Stderr), "")
}

// requireCompleted fails the test unless the suite ran to the end: not timed
// out, some results, and a non-zero exit explained by the results.
func (r *conformanceRun) requireCompleted(t *testing.T) {
	t.Helper()
	if r.timedOut() {
		t.Fatalf("conformance (%s) against %s did not finish: %v. Scenarios done: %s\noutput:\n%s",
			r.label, r.url, r.res.Err, strings.Join(r.names(), ", "), r.output())
	}
	if len(r.scenarios) == 0 {
		t.Fatalf("conformance (%s) against %s produced no results (exit %d, %v)\noutput:\n%s",
			r.label, r.url, r.res.ExitCode, r.res.Err, r.output())
	}
	// conformance exits 1 for a failure outside the baseline or a baseline
	// entry that passed; any other non-zero exit means it broke down.
	expected := expectedFailures(t)
	explained := false
	for name := range r.scenarios {
		explained = explained || r.passed(name) == expected[name]
	}
	if r.res.ExitCode != 0 && !explained {
		t.Fatalf("conformance (%s) against %s exited %d (%v) although every scenario result is as the baseline says\noutput:\n%s",
			r.label, r.url, r.res.ExitCode, r.res.Err, r.output())
	}
}

// describe explains a scenario's result for a developer: its failing and
// warning checks with their messages and (shortened) details.
func (r *conformanceRun) describe(name string) string {
	checks, ok := r.scenarios[name]
	if !ok {
		return fmt.Sprintf("  %s: no result (%s run exit %d: %v)", name, r.label, r.res.ExitCode, r.res.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:", name)
	if r.passed(name) {
		b.WriteString(" passed")
	}
	for _, c := range checks {
		if c.Status != "FAILURE" && c.Status != "WARNING" {
			continue
		}
		msg := c.ErrorMessage
		if msg == "" {
			msg = c.Description
		}
		fmt.Fprintf(&b, "\n    - %s %s (%s): %s", c.Status, c.Name, c.ID, msg)
		if d := strings.TrimSpace(string(c.Details)); d != "" && d != "null" && d != "{}" {
			if len(d) > 400 {
				d = d[:400] + "…"
			}
			fmt.Fprintf(&b, "\n      details: %s", d)
		}
	}
	return b.String()
}

// summary counts passed and failed scenarios and names the failures.
func (r *conformanceRun) summary(expected map[string]bool) string {
	var failed, tolerated, flakyPassed []string
	for _, name := range r.names() {
		switch p := r.passed(name); {
		case !p && expected[name]:
			tolerated = append(tolerated, name)
		case !p:
			failed = append(failed, name)
		case expected[name]:
			flakyPassed = append(flakyPassed, name)
		}
	}
	s := fmt.Sprintf("%d scenarios in %s: %d passed, %d failed",
		len(r.scenarios), r.res.Duration.Round(time.Millisecond), len(r.scenarios)-len(failed)-len(tolerated), len(failed)+len(tolerated))
	if len(failed) > 0 {
		s += "; unexpected failures: " + strings.Join(failed, ", ")
	}
	if len(tolerated) > 0 {
		s += "; expected failures: " + strings.Join(tolerated, ", ")
	}
	if len(flakyPassed) > 0 {
		s += "; listed as expected failures but passed this time (flaky, tolerated): " + strings.Join(flakyPassed, ", ")
	}
	return s
}
