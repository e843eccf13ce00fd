package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolText returns the text of a tools/call result as inspector-cli printed
// it, and whether the result is an error.
func toolText(t *testing.T, out map[string]any) (string, bool) {
	t.Helper()
	isErr, _ := out["isError"].(bool)
	var b strings.Builder
	content, _ := out["content"].([]any)
	for _, c := range content {
		if m, ok := c.(map[string]any); ok {
			if s, ok := m["text"].(string); ok {
				b.WriteString(s)
			}
		}
	}
	if sc, ok := out["structuredContent"]; ok {
		j, _ := json.Marshal(sc)
		b.WriteString("\n")
		b.Write(j)
	}
	return b.String(), isErr
}

// TestEngineThroughServe is the done-when, with a real client
// (inspector-cli, one process per call, so state must persist): `sovereign
// serve` with no config lists the built-in tools, records an insight and
// recalls it in another session, routes a packet inside the data root,
// refuses a traversal, and the audit log holds every call and verifies.
func TestEngineThroughServe(t *testing.T) {
	serve := []string{sovereignBin(t), "serve"}
	call := func(tool string, args ...string) (string, bool) {
		t.Helper()
		flags := []string{"--method", "tools/call", "--tool-name", tool}
		if len(args) > 0 {
			flags = append(append(flags, "--tool-arg"), args...)
		}
		return toolText(t, inspect(t, serve, flags...))
	}

	list := inspect(t, serve, "--method", "tools/list")
	tools, _ := list["tools"].([]any)
	byName := map[string]map[string]any{}
	for _, x := range tools {
		m, _ := x.(map[string]any)
		name, _ := m["name"].(string)
		byName[name] = m
	}
	for _, name := range []string{"my_toolkit", "record_insight", "recall_insights", "route", "compass_check", "govern",
		"handoff", "where_did_i_leave_off", "spiral_status", "scan_thresholds"} {
		m, ok := byName[name]
		if !ok {
			t.Fatalf("tools/list through serve (no config) lacks %s; got %d tools", name, len(byName))
		}
		if _, ok := m["annotations"].(map[string]any); !ok {
			t.Errorf("%s has no annotations", name)
		}
	}
	if ro, _ := byName["recall_insights"]["annotations"].(map[string]any)["readOnlyHint"].(bool); !ro {
		t.Errorf("recall_insights is not read-only: %v", byName["recall_insights"]["annotations"])
	}

	marker := fmt.Sprintf("quokka%d", time.Now().UnixNano())
	text, isErr := call("record_insight", "domain=e2e,engine", "content=The "+marker+" insight survives a restart", "layer=ground_truth")
	if isErr {
		t.Fatalf("record_insight: %s", text)
	}
	text, isErr = call("recall_insights", "query="+marker, "order=relevance", "with_ids=true")
	if isErr || !strings.Contains(text, marker) {
		t.Fatalf("recall_insights in a new session did not find the insight: error=%v %s", isErr, text)
	}

	text, isErr = call("route", `packet={"outcome":"success","tool_family":"../../../../etc","episode_group":"10-19","step":5}`)
	if isErr {
		t.Fatalf("route: %s", text)
	}
	if !strings.Contains(text, `"route":"memory/outcome=success/`) || strings.Contains(text, "..") {
		t.Fatalf("route left the memory root or kept the traversal: %s", text)
	}

	text, isErr = call("record_insight", "domain=../../etc", "content=escape attempt "+marker)
	if !isErr || !strings.Contains(text, "validation") || !strings.Contains(text, "/domain") {
		t.Fatalf("a traversal through domain was not refused as a validation error naming /domain: error=%v %s", isErr, text)
	}
	text, _ = call("recall_insights", "query=escape attempt "+marker)
	if strings.Contains(text, "escape attempt") {
		t.Fatalf("the refused insight was stored: %s", text)
	}

	res := sovereignCLI(t, "audit", "show", "--tool", "record_insight", "--json")
	if res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "record_insight") {
		t.Fatalf("audit show has no record_insight decisions (exit %d): %s %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if res := sovereignCLI(t, "audit", "verify"); res.ExitCode != 0 {
		t.Fatalf("audit verify after the engine calls: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
}

// TestEngineSharedByTwoProxies runs two `sovereign serve` on one data
// directory (Claude Desktop and Claude Code, say), records insights from
// both at once, and reads every one back from each: the engine's database
// is shared without a lost write or a "database is locked" error reaching a
// client, and each process keeps its own audit log.
func TestEngineSharedByTwoProxies(t *testing.T) {
	dataDir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\n", dataDir))
	a := startRPC(t, "sovereign-a", nil, sovereignBin(t), "serve", "--config", cfg)
	b := startRPC(t, "sovereign-b", nil, sovereignBin(t), "serve", "--config", cfg)
	a.initialize(t)
	b.initialize(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const perWorker, workers = 15, 4
	errs := make(chan error, 2*workers*perWorker)
	var wg sync.WaitGroup
	for _, p := range []struct {
		name string
		rpc  *stdioRPC
	}{{"a", a}, {"b", b}} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					args := jsonArgs(t, map[string]any{"domain": "shared", "content": fmt.Sprintf("kiwi note %s-%d-%d", p.name, w, i)})
					res, err := p.rpc.toolCall(ctx, "record_insight", args)
					if err == nil && res.IsError {
						err = fmt.Errorf("%s: %s", p.name, res.text())
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent record_insight: %v", err)
	}
	want := 2 * workers * perWorker
	for _, p := range []*stdioRPC{a, b} {
		res, err := p.toolCall(ctx, "recall_insights", jsonArgs(t, map[string]any{"domain": "shared", "limit": 200}))
		if err != nil || res.IsError {
			t.Fatalf("recall: %v %s", err, res.raw)
		}
		if n := strings.Count(res.text(), "kiwi note"); n != want {
			t.Errorf("recall found %d of the %d insights written by both proxies", n, want)
		}
	}
	a.closeStdin(t)
	b.closeStdin(t)
	logs, err := filepath.Glob(filepath.Join(dataDir, "audit", "main*"))
	if err != nil || len(logs) != 2 {
		t.Errorf("audit logs = %v (%v), want one per process", logs, err)
	}
	if res := sovereignCLI(t, "audit", "verify", "--dir", filepath.Join(dataDir, "audit")); res.ExitCode != 0 {
		t.Fatalf("audit verify: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
}
