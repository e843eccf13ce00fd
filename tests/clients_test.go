package tests

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInspectorThroughRun is the drop-in: a real client (inspector-cli) sees
// the same tools and results through `sovereign run -- <server>` as from the
// server itself.
func TestInspectorThroughRun(t *testing.T) {
	dir := t.TempDir()
	server := append([]string{node22()}, fsArgs(dir)...)
	wrapped := append([]string{sovereignBin(t), "run", "--"}, server...)

	direct := inspect(t, server, "--method", "tools/list")
	proxied := inspect(t, wrapped, "--method", "tools/list")
	a, _ := json.Marshal(direct)
	b, _ := json.Marshal(proxied)
	if canonical(t, a) != canonical(t, b) {
		t.Fatalf("tools/list differs through sovereign run:\ndirect: %s\nproxy:  %s", a, b)
	}
	call := []string{"--method", "tools/call", "--tool-name", "list_allowed_directories"}
	a, _ = json.Marshal(inspect(t, server, call...))
	b, _ = json.Marshal(inspect(t, wrapped, call...))
	if canonical(t, a) != canonical(t, b) || !strings.Contains(string(b), dir) {
		t.Fatalf("tools/call differs through sovereign run:\ndirect: %s\nproxy:  %s", a, b)
	}
}

// TestInspectorThroughServe drives `sovereign serve` with inspector-cli over
// stdio, Streamable HTTP and SSE.
func TestInspectorThroughServe(t *testing.T) {
	cfg := writeConfig(t, "servers:\n"+
		stdioServer("ev", node22(), []string{nodeBin("mcp-server-everything")}, "")+
		stdioServer("mem", node22(), []string{nodeBin("mcp-server-memory")}, memoryEnv(t.TempDir())))
	sum := []string{"--method", "tools/call", "--tool-name", "ev__get-sum", "--tool-arg", "a=2", "b=3"}

	out := inspect(t, []string{sovereignBin(t), "serve", "--config", cfg}, sum...)
	if b, _ := json.Marshal(out); !strings.Contains(string(b), "The sum of 2 and 3 is 5.") {
		t.Fatalf("stdio: %s", b)
	}
	url, _ := serveHTTP(t, cfg)
	for _, target := range []string{url, strings.TrimSuffix(url, "/mcp") + "/sse"} {
		list := inspect(t, []string{target}, "--method", "tools/list")
		b, _ := json.Marshal(list)
		for _, name := range []string{"ev__get-sum", "mem__read_graph"} {
			if !strings.Contains(string(b), `"`+name+`"`) {
				t.Fatalf("%s: tools/list lacks %s: %s", target, name, b)
			}
		}
		if b, _ := json.Marshal(inspect(t, []string{target}, sum...)); !strings.Contains(string(b), "The sum of 2 and 3 is 5.") {
			t.Fatalf("%s: %s", target, b)
		}
	}
}

// TestStdoutCarriesOnlyJSONRPC feeds `sovereign run` malformed and oversized
// input and checks that every line on stdout is a JSON-RPC message, that bad
// input gets an error answer and that the session goes on.
func TestStdoutCarriesOnlyJSONRPC(t *testing.T) {
	cfg := writeConfig(t, "limits: {max_message_bytes: 65536}\n")
	cmd := exec.Command(sovereignBin(t), "run", "--config", cfg, "--", node22(), nodeBin("mcp-server-everything"))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = testLogWriter{t, "sovereign"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	send := func(s string) {
		if _, err := io.WriteString(stdin, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`this is not json`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"` + strings.Repeat("x", 100000) + `"}}}`)
	send(`{"jsonrpc":"2.0","id":3,"method":"no/such/method"}`)
	send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"no-such-tool"}}`)
	send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":20,"b":22}}}`)

	codes := map[string]float64{} // id (or "null") → error code
	deadline := time.After(60 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("stdout closed early")
			}
			var msg struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Error   *struct {
					Code float64 `json:"code"`
				} `json:"error"`
				Result json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal([]byte(line), &msg); err != nil || msg.JSONRPC != "2.0" {
				t.Fatalf("stdout carried a non-JSON-RPC line: %q", line)
			}
			if msg.Error != nil {
				codes[string(msg.ID)] = msg.Error.Code
			}
			if string(msg.ID) == "5" {
				if !strings.Contains(string(msg.Result), "The sum of 20 and 22 is 42.") {
					t.Fatalf("get-sum after bad input: %s", line)
				}
				done = true
			}
		case <-deadline:
			t.Fatal("no answer to the call after the bad input")
		}
	}
	// Let the answers to the other requests arrive.
	time.Sleep(200 * time.Millisecond)
	for more := true; more; {
		select {
		case line := <-lines:
			var msg struct {
				ID    json.RawMessage         `json:"id"`
				Error *struct{ Code float64 } `json:"error"`
			}
			if json.Unmarshal([]byte(line), &msg) != nil {
				t.Fatalf("non-JSON line %q", line)
			}
			if msg.Error != nil {
				codes[string(msg.ID)] = msg.Error.Code
			}
		default:
			more = false
		}
	}
	if codes["null"] != -32700 && codes["null"] != -32600 {
		t.Errorf("malformed/oversized input got no id-less error: %v", codes)
	}
	for _, id := range []string{"3", "4"} {
		if _, ok := codes[id]; !ok {
			t.Errorf("request %s got no error answer: %v", id, codes)
		}
	}
	if _, ok := codes["2"]; ok {
		t.Errorf("the oversized request was processed: %v", codes)
	}
}

// TestHTTPFrontRejectsRebindingAndOversize checks DNS-rebinding protection
// and the body limit of the HTTP front.
func TestHTTPFrontRejectsRebindingAndOversize(t *testing.T) {
	url, _ := serveHTTP(t, writeConfig(t, "limits: {max_message_bytes: 4096}\n"))
	init := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"h","version":"1"}}}`
	post := func(host, origin, body string) int {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name, host, origin, body string
		want                     int
	}{
		{"loopback client", "", "", init, http.StatusOK},
		{"rebinding host", "evil.example:8080", "", init, http.StatusForbidden},
		{"foreign origin", "", "https://evil.example", init, http.StatusForbidden},
		{"local origin", "", "http://localhost:3000", init, http.StatusOK},
		{"oversized body", "", "", init + strings.Repeat(" ", 8000), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		if got := post(tc.host, tc.origin, tc.body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a request without a session id was served")
	}
}

// TestConfigValidateReportsEveryProblem runs `sovereign config validate`.
func TestConfigValidateReportsEveryProblem(t *testing.T) {
	bad := writeConfig(t, "log_level: loud\nlisten: {http: \"0.0.0.0:80\"}\nservers:\n  a: {command: x, url: \"http://h/mcp\"}\n  b: {url: \"ftp://x\"}\nbogus: 1\n")
	res := runCommand(t, 30*time.Second, "", nil, sovereignBin(t), "config", "validate", bad)
	if res.ExitCode == 0 {
		t.Fatalf("invalid config accepted:\n%s", res.Stdout)
	}
	for _, want := range []string{"log_level", "listen.http", "servers.a", "servers.b.url", "bogus"} {
		if !strings.Contains(string(res.Stderr), want) {
			t.Errorf("problem with %s not reported:\n%s", want, res.Stderr)
		}
	}
	good := writeConfig(t, "servers:\n  ev: {command: npx, args: [\"-y\", \"@modelcontextprotocol/server-everything\"]}\n")
	if res := runCommand(t, 30*time.Second, "", nil, sovereignBin(t), "config", "validate", good); res.ExitCode != 0 {
		t.Fatalf("valid config rejected: %s", res.Stderr)
	}
}

// TestPolicyCommands runs `sovereign policy test|check|eval` on a user policy.
func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("mine.rego", "package sovereign.rules.mine\n\n# METADATA\n# custom:\n#   id: MINE-001\ndeny contains {\"id\": \"MINE-001\", \"msg\": \"no deleting\"} if input.tool.upstream_name == \"delete\"\n")
	write("mine_test.rego", "package sovereign.rules.mine_test\n\nimport data.sovereign.rules.mine\n\ntest_denies_delete if {\n\tcount(mine.deny) == 1 with input as {\"tool\": {\"upstream_name\": \"delete\"}}\n}\n")
	bin := sovereignBin(t)
	if res := runCommand(t, 60*time.Second, "", nil, bin, "policy", "test", "--coverage", dir); res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "PASS") {
		t.Fatalf("policy test: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if res := runCommand(t, 60*time.Second, "", nil, bin, "policy", "check", dir); res.ExitCode != 0 {
		t.Fatalf("policy check: %s", res.Stderr)
	}
	input := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(input, []byte(`{"v":1,"phase":"call","method":"tools/call","tool":{"name":"fs__delete","upstream_name":"delete"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCommand(t, 60*time.Second, "", nil, bin, "policy", "eval", "--explain", "--input", input, dir)
	if res.ExitCode != 1 || !strings.Contains(string(res.Stdout), "DENY") || !strings.Contains(string(res.Stdout), "MINE-001") {
		t.Fatalf("policy eval: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	write("broken.rego", "package sovereign.rules.broken\ndeny contains x if {\n")
	if res := runCommand(t, 60*time.Second, "", nil, bin, "policy", "check", dir); res.ExitCode == 0 {
		t.Fatal("policy check accepted a broken policy")
	}
}
