package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// node22 returns the absolute path of the Node 22 binary installed by the npm
// package "node" (tests/npm/node_modules/node/bin/node). The e2e tests run
// every npm tool with it, whatever node is on PATH.
func node22() string {
	return filepath.Join(npmDir, "node_modules", "node", "bin", "node")
}

// node22PathEnv returns a PATH=... entry (for startProcess/runCommand env)
// that puts Node 22 first, for tools that spawn `node` themselves.
func node22PathEnv() string {
	return "PATH=" + filepath.Dir(node22()) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// nodeBin returns the absolute path of the script behind the npm bin name
// (tests/npm/node_modules/.bin/<name>, symlinks resolved), e.g.
// "mcp-server-everything", "mcp-server-filesystem", "mcp-server-memory",
// "mcp-inspector-cli", "conformance". Run it with node22().
func nodeBin(name string) string {
	link := filepath.Join(npmDir, "node_modules", ".bin", name)
	if p, err := filepath.EvalSymlinks(link); err == nil {
		return p
	}
	return link
}

// nodeArgv returns the argv that runs the npm bin name with Node 22:
// [node22(), nodeBin(name), args...]. Handy for stdio upstreams in a config
// (command: argv[0], args: argv[1:]) or for startProcess.
func nodeArgv(name string, args ...string) []string {
	return append([]string{node22(), nodeBin(name)}, args...)
}

// inspectorDir is the working directory for inspector-cli. It must be a
// directory whose parent has a package.json: inspector-cli 1.0.3 checks
// fs.existsSync("../package.json") relative to its cwd.
func inspectorDir() string {
	return filepath.Join(npmDir, "run")
}

const inspectorTimeout = 60 * time.Second

// inspectRaw runs inspector-cli (a client that declares no capabilities)
// against target, either a URL (…/mcp ⇒ Streamable HTTP, …/sse ⇒ SSE) or a
// command and its arguments (stdio; use absolute paths, the cwd is
// inspectorDir()), with inspector flags such as
//
//	"--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=2", "b=3"
//
// The target's arguments go after "--", so they never clash with the
// inspector's flags. It returns what happened without judging it: use it to assert
// on errors (exit code 1, message on stderr).
func inspectRaw(t *testing.T, target []string, flags ...string) commandResult {
	t.Helper()
	if len(target) == 0 {
		t.Fatal("inspectRaw: empty target")
	}
	// inspector-cli needs its <target...> argument before "--"; whatever
	// follows "--" is appended to it unparsed.
	argv := []string{node22(), filepath.Join(npmDir, "node_modules", "@modelcontextprotocol", "inspector-cli", "build", "index.js"), target[0]}
	argv = append(append(append(argv, flags...), "--"), target[1:]...)
	res := runCommand(t, inspectorTimeout, inspectorDir(), []string{node22PathEnv()}, argv...)
	t.Logf("inspector %s -> exit %d in %s", strings.Join(append(flags, target...), " "), res.ExitCode, res.Duration.Round(time.Millisecond))
	return res
}

// inspect is inspectRaw that fails the test unless inspector-cli exits 0,
// and returns its stdout parsed as a JSON object (e.g. {"tools": [...]} for
// tools/list, {"content": [...], "isError": ...} for tools/call).
func inspect(t *testing.T, target []string, flags ...string) map[string]any {
	t.Helper()
	res := inspectRaw(t, target, flags...)
	if res.Err != nil {
		t.Fatalf("inspector-cli %v against %v failed: %v\nstderr:\n%s\nstdout:\n%s", flags, target, res.Err, res.Stderr, res.Stdout)
	}
	var out map[string]any
	if err := json.Unmarshal(res.Stdout, &out); err != nil {
		t.Fatalf("inspector-cli %v against %v: stdout is not a JSON object: %v\nstdout:\n%s", flags, target, err, res.Stdout)
	}
	return out
}
