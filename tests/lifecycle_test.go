package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

// teeServer returns a stdio server entry that records every message the
// proxy sends to server-everything in log.
func teeServer(name, log string) string {
	script := fmt.Sprintf("tee -a %q | exec %q %q", log, node22(), nodeBin("mcp-server-everything"))
	return stdioServer(name, "sh", []string{"-c", script}, "")
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileContains(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.Contains(string(b), s)
}

// TestProgressAndCancellation checks that progress notifications of a long
// call reach the client under the client's own token, and that a client's
// notifications/cancelled reaches the upstream.
func TestProgressAndCancellation(t *testing.T) {
	log := filepath.Join(t.TempDir(), "to-upstream.jsonl")
	cfg := writeConfig(t, "servers:\n"+teeServer("ev", log))
	proxy := dialStdio(t, "sovereign", clientCaps{}, nil, sovereignBin(t), "serve", "--config", cfg)

	res := proxy.call(t, "tools/call", map[string]any{
		"name": "ev__trigger-long-running-operation", "arguments": map[string]any{"duration": 1, "steps": 4},
		"_meta": map[string]any{"progressToken": "client-token-7"},
	})
	if !strings.Contains(string(res), "Long running operation completed") {
		t.Fatalf("unexpected result %s", res)
	}
	waitFor(t, 5*time.Second, "4 progress notifications", func() bool { return len(proxy.notifications("notifications/progress")) >= 4 })
	last := -1.0
	for _, n := range proxy.notifications("notifications/progress") {
		p := n.Params.AdditionalFields
		if p["progressToken"] != "client-token-7" {
			t.Fatalf("progress carries token %v, want the client's", p["progressToken"])
		}
		if v, _ := p["progress"].(float64); v <= last {
			t.Fatalf("progress not increasing: %v after %v", v, last)
		} else {
			last = v
		}
	}

	// Cancel a call the upstream would run for 30 s.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := proxy.request(ctx, "tools/call", map[string]any{
			"name": "ev__trigger-long-running-operation", "arguments": map[string]any{"duration": 30, "steps": 30}})
		done <- err
	}()
	waitFor(t, 10*time.Second, "the long call to reach the upstream", func() bool { return fileContains(log, `"duration":30`) })
	cancel()
	id := "e2e-" + strconv.Itoa(proxy.next) // the id of the request just sent
	note := mcp.JSONRPCNotification{JSONRPC: "2.0", Notification: mcp.Notification{Method: "notifications/cancelled",
		Params: mcp.NotificationParams{AdditionalFields: map[string]any{"requestId": id, "reason": "user pressed stop"}}}}
	if err := proxy.tr.SendNotification(context.Background(), note); err != nil {
		t.Fatal(err)
	}
	<-done
	waitFor(t, 10*time.Second, "notifications/cancelled at the upstream", func() bool { return fileContains(log, `"notifications/cancelled"`) })

	// The proxy still serves.
	if r := proxy.call(t, "tools/call", map[string]any{"name": "ev__get-sum", "arguments": map[string]any{"a": 1, "b": 1}}); !strings.Contains(string(r), "is 2") {
		t.Fatalf("after cancellation: %s", r)
	}
}

// TestHTTPClientDisconnectCancelsUpstream checks that when an HTTP client
// goes away mid-call, the upstream is told to stop.
func TestHTTPClientDisconnectCancelsUpstream(t *testing.T) {
	log := filepath.Join(t.TempDir(), "to-upstream.jsonl")
	url, _ := serveHTTP(t, writeConfig(t, "servers:\n"+teeServer("ev", log)))
	c := dialHTTP(t, url, clientCaps{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _ = c.request(ctx, "tools/call", map[string]any{
			"name": "ev__trigger-long-running-operation", "arguments": map[string]any{"duration": 30, "steps": 30}})
	}()
	waitFor(t, 30*time.Second, "the long call to reach the upstream", func() bool { return fileContains(log, `"duration":30`) })
	cancel() // the HTTP request is aborted: the client disconnects mid-call
	<-done
	waitFor(t, 10*time.Second, "notifications/cancelled at the upstream", func() bool { return fileContains(log, `"notifications/cancelled"`) })
}

// childPID finds the process whose command line contains marker.
func childPID(t *testing.T, marker string) int {
	t.Helper()
	out, err := exec.Command("pgrep", "-f", marker).Output()
	if err != nil {
		t.Fatalf("pgrep %s: %v", marker, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) != 1 {
		t.Fatalf("pgrep %s found %v", marker, fields)
	}
	pid, _ := strconv.Atoi(fields[0])
	return pid
}

// TestKilledUpstreamIsRestarted kills a stdio upstream under the proxy: calls
// to it answer promptly (an error result while it is down, never a hang), the
// other upstream keeps serving, and the proxy restarts it.
func TestKilledUpstreamIsRestarted(t *testing.T) {
	fsDir := t.TempDir() // unique: marks the child's command line
	cfg := writeConfig(t, "servers:\n"+
		stdioServer("fs", node22(), fsArgs(fsDir), "")+
		stdioServer("ev", node22(), []string{nodeBin("mcp-server-everything")}, ""))
	proxy := dialStdio(t, "sovereign", clientCaps{}, nil, sovereignBin(t), "serve", "--config", cfg)
	list := map[string]any{"name": "fs__list_allowed_directories", "arguments": map[string]any{}}
	if r := proxy.call(t, "tools/call", list); !strings.Contains(string(r), fsDir) {
		t.Fatalf("before the kill: %s", r)
	}
	pid := childPID(t, fsDir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sawError := false
	waitFor(t, 30*time.Second, "server-filesystem to be restarted", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, rpcErr, err := proxy.request(ctx, "tools/call", list)
		if err != nil || rpcErr != nil {
			t.Fatalf("call during restart: transport error %v, JSON-RPC error %+v (want a result)", err, rpcErr)
		}
		var r struct {
			IsError bool `json:"isError"`
		}
		_ = json.Unmarshal(res, &r)
		if r.IsError {
			sawError = true
			if !strings.Contains(string(res), `fs`) {
				t.Fatalf("error result does not name the server: %s", res)
			}
			// The other upstream is unaffected.
			proxy.call(t, "tools/call", map[string]any{"name": "ev__get-sum", "arguments": map[string]any{"a": 1, "b": 2}})
			return false
		}
		return strings.Contains(string(res), fsDir)
	})
	if newPID := childPID(t, fsDir); newPID == pid {
		t.Fatalf("server-filesystem was not restarted (pid %d)", pid)
	}
	t.Logf("restarted after %s (saw an error result while down: %v)", time.Since(start).Round(time.Millisecond), sawError)
}
