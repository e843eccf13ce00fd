package tests

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peers holds the third-party servers of one test, started on loopback.
type peers struct {
	everythingHTTP string // Streamable HTTP URL of server-everything
	everythingSSE  string // SSE URL of server-everything
	fsDir          string // the directory server-filesystem serves
}

// startEverythingHTTP runs server-everything over Streamable HTTP and SSE.
func startEverythingHTTP(t *testing.T) peers {
	t.Helper()
	var p peers
	for _, mode := range []string{"streamableHttp", "sse"} {
		port := strconv.Itoa(freePort(t))
		proc := startProcess(t, "everything-"+mode, node22(), []string{nodeBin("mcp-server-everything"), mode},
			[]string{"PORT=" + port, node22PathEnv()}, t.TempDir())
		if mode == "sse" {
			p.everythingSSE = "http://127.0.0.1:" + port + "/sse"
			waitHTTP(t, p.everythingSSE, 60*time.Second, proc)
		} else {
			p.everythingHTTP = "http://127.0.0.1:" + port + "/mcp"
			waitHTTP(t, p.everythingHTTP, 60*time.Second, proc)
		}
	}
	return p
}

// yamlList renders strings as a YAML flow list.
func yamlList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// stdioServer renders one stdio server entry of a config file.
func stdioServer(name, command string, args []string, extra string) string {
	return fmt.Sprintf("  %s: {command: %q, args: %s%s}\n", name, command, yamlList(args...), extra)
}

// fsArgs are the arguments of server-filesystem serving dir.
func fsArgs(dir string) []string { return []string{nodeBin("mcp-server-filesystem"), dir} }

// memoryEnv is the env entry of server-memory keeping its graph in dir.
func memoryEnv(dir string) string {
	return fmt.Sprintf(", env: {MEMORY_FILE_PATH: %q}", filepath.Join(dir, "memory.jsonl"))
}
