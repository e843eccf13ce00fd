package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stdioRPC is a raw JSON-RPC client of a child speaking MCP over stdio.
type stdioRPC struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	pending map[string]chan json.RawMessage
	next    int
	closed  bool

	readers sync.WaitGroup
	exited  chan struct{} // closed once the child exited and its output is drained
	waitErr error
}

// startRPC starts argv (in its own process group) with env added.
func startRPC(t *testing.T, name string, env []string, argv ...string) *stdioRPC {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = t.TempDir()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c := &stdioRPC{t: t, name: name, cmd: cmd, stdin: stdin, pending: map[string]chan json.RawMessage{}, exited: make(chan struct{})}
	c.readers.Add(2)
	go c.readResponses(stdout)
	go c.readStderr(stderr)
	go func() {
		c.readers.Wait()
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.kill()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // children that outlived it
	})
	return c
}

// readResponses routes each response to its caller; at EOF every pending
// caller gets nil.
func (c *stdioRPC) readResponses(r io.Reader) {
	defer c.readers.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil || len(msg.ID) == 0 || msg.Method != "" {
			continue // a notification or a request of the proxy's
		}
		c.mu.Lock()
		ch := c.pending[string(msg.ID)]
		delete(c.pending, string(msg.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- bytes.Clone(sc.Bytes())
		}
	}
	c.mu.Lock()
	c.closed = true
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func (c *stdioRPC) readStderr(r io.Reader) {
	defer c.readers.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		c.t.Logf("[%s] %s", c.name, line)
		if strings.Contains(line, "WARNING: DATA RACE") {
			c.t.Errorf("[%s] the race detector found a data race (see the log)", c.name)
		}
	}
}

var errNoResponse = errors.New("the child went away before answering")

// request sends a request whose params are the exact bytes given and
// returns the whole response message.
func (c *stdioRPC) request(ctx context.Context, method string, params []byte) (json.RawMessage, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errNoResponse
	}
	c.next++
	id := strconv.Itoa(c.next)
	ch := make(chan json.RawMessage, 1)
	c.pending[id] = ch
	msg := fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"method":%q,"params":%s}`+"\n", id, method, params)
	_, err := c.stdin.Write(msg)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, errNoResponse
		}
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// initialize does the MCP handshake.
func (c *stdioRPC) initialize(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := c.request(ctx, "initialize", []byte(`{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sovereign-e2e-audit","version":"1"}}`))
	if err != nil || !bytes.Contains(resp, []byte(`"result"`)) {
		t.Fatalf("initialize: %s, %v", resp, err)
	}
	c.mu.Lock()
	_, err = c.stdin.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n"))
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
}

// toolCall is a tools/call whose arguments are exactly args.
func (c *stdioRPC) toolCall(ctx context.Context, tool string, args []byte) (toolResult, error) {
	resp, err := c.request(ctx, "tools/call", fmt.Appendf(nil, `{"name":%q,"arguments":%s}`, tool, args))
	if err != nil {
		return toolResult{}, err
	}
	var msg struct {
		Result *toolResult `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp, &msg); err != nil {
		return toolResult{}, fmt.Errorf("response %s: %w", resp, err)
	}
	if msg.Error != nil {
		return toolResult{}, fmt.Errorf("JSON-RPC error: %s", msg.Error.Message)
	}
	if msg.Result == nil {
		return toolResult{}, fmt.Errorf("no result: %s", resp)
	}
	msg.Result.raw = resp
	return *msg.Result, nil
}

// toolResult is what a tools/call answered.
type toolResult struct {
	IsError bool `json:"isError"`
	Content []struct {
		Text string `json:"text"`
	} `json:"content"`
	Meta map[string]struct {
		ID    string   `json:"id"`
		Allow bool     `json:"allow"`
		Rules []string `json:"rules"`
	} `json:"_meta"`
	raw json.RawMessage
}

// denial returns the decision meta of a policy denial.
func (r toolResult) denial() (id string, rules []string, ok bool) {
	m, ok := r.Meta["dev.sovereign/decision"]
	if !ok || m.Allow {
		return "", nil, false
	}
	return m.ID, m.Rules, true
}

func (r toolResult) text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

// closeStdin ends the session the way a client does; the proxy shuts
// down cleanly. It waits for the exit.
func (c *stdioRPC) closeStdin(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	c.stdin.Close()
	c.mu.Unlock()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit within 30 s of its stdin closing", c.name)
	}
	if c.waitErr != nil {
		t.Fatalf("%s exited with %v", c.name, c.waitErr)
	}
}

// kill sends SIGKILL to the child alone (not its process group: its
// upstreams see their stdin close, as after a crash) and waits for it.
func (c *stdioRPC) kill() {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Kill()
	<-c.exited
}
