package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("freePort: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a child started by startProcess. Its whole process group is
// killed when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and its output is drained
	err  error         // cmd.Wait's result, valid after done is closed

	mu  sync.Mutex
	out bytes.Buffer // stdout and stderr interleaved, one "stdout: "/"stderr: " line each
}

// startProcess starts command with args in dir (the current directory if
// empty), with env appended to this process's environment. Every line the
// child writes is logged through t.Log as "[name] line" (visible with -v or
// when the test fails) and kept for output(). At cleanup the child's whole
// process group gets SIGTERM, then SIGKILL after 3 s.
func startProcess(t *testing.T, name, command string, args, env []string, dir string) *process {
	t.Helper()
	cmd := exec.Command(command, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 3 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("startProcess %s: %v", name, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("startProcess %s: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("startProcess %s: %s %s: %v", name, command, strings.Join(args, " "), err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	t.Logf("[%s] started pid %d: %s %s", name, cmd.Process.Pid, command, strings.Join(args, " "))

	var readers sync.WaitGroup
	for stream, r := range map[string]io.Reader{"stdout": stdout, "stderr": stderr} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
			for sc.Scan() {
				p.mu.Lock()
				fmt.Fprintf(&p.out, "%s: %s\n", stream, sc.Text())
				p.mu.Unlock()
				t.Logf("[%s] %s", name, sc.Text())
				if strings.Contains(sc.Text(), "WARNING: DATA RACE") {
					t.Errorf("[%s] the race detector found a data race (see the log)", name)
				}
			}
		}()
	}
	go func() {
		readers.Wait() // the pipes must be drained before Wait closes them
		p.err = cmd.Wait()
		close(p.done)
	}()

	t.Cleanup(func() {
		p.stop()
		t.Logf("[%s] exited: %v", name, p.exitStatus())
	})
	return p
}

// stop kills the process group (SIGTERM, then SIGKILL after 3 s) and waits
// for the child to exit. Safe to call more than once.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Grandchildren that ignored SIGTERM and outlived the leader.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// exited reports whether the child has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitStatus describes how the child ended ("running" if it has not).
func (p *process) exitStatus() string {
	if !p.exited() {
		return "running"
	}
	if p.err == nil {
		return "exit status 0"
	}
	return p.err.Error()
}

// output returns everything the child has written so far, each line prefixed
// with "stdout: " or "stderr: ".
func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitHTTP polls until a TCP connection to rawURL's host:port succeeds. It
// fails the test after timeout, or at once if one of watch exits first
// (showing that process's output).
func waitHTTP(t *testing.T, rawURL string, timeout time.Duration, watch ...*process) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("waitHTTP: bad URL %q: %v", rawURL, err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", host, 500*time.Millisecond)
		if err == nil {
			conn.Close()
			return
		}
		for _, p := range watch {
			if p.exited() {
				t.Fatalf("waitHTTP %s: process %q exited (%s) before listening; its output:\n%s",
					rawURL, p.name, p.exitStatus(), p.output())
			}
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("waitHTTP %s: nothing listening after %s (last error: %v)", rawURL, timeout, err)
			for _, p := range watch {
				msg += fmt.Sprintf("\noutput of %q so far:\n%s", p.name, p.output())
			}
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// commandResult is what runCommand saw.
type commandResult struct {
	Stdout, Stderr []byte
	ExitCode       int   // -1 if the command could not start or was killed
	Err            error // nil on exit status 0; errTimeout when it ran out of time
	Duration       time.Duration
}

var errTimeout = errors.New("timed out")

// runCommand runs argv to completion in dir (current directory if empty) with
// env appended to this process's environment, in its own process group, and
// kills the group if it runs longer than timeout. It never fails the test by
// itself: callers judge the result.
func runCommand(t *testing.T, timeout time.Duration, dir string, env []string, argv ...string) commandResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := commandResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1, Err: err, Duration: time.Since(start)}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		res.Err = fmt.Errorf("%w after %s", errTimeout, timeout)
		res.ExitCode = -1
	}
	return res
}
