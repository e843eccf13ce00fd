package upstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// baseEnv lists the variables a stdio child inherits from the proxy when the
// upstream does not inherit the whole environment. It mirrors what MCP hosts
// give the servers they start, so a server behaves the same behind the proxy,
// while the proxy's own secrets stay out of the child.
var baseEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE",
	"TMPDIR", "TZ", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
	"SYSTEMROOT", "APPDATA", "USERPROFILE",
}

// childEnv builds the environment of a stdio child: the inherited part, then
// the configured variables, which win.
func childEnv(inheritAll bool, configured map[string]string) []string {
	var env []string
	if inheritAll {
		env = os.Environ()
	} else {
		for _, k := range baseEnv {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	}
	for k, v := range configured {
		env = append(env, k+"="+v)
	}
	return env
}

// process is a running stdio child with its pipes. The proxy owns it whole:
// it started it, it waits for it, and it kills its process group.
type process struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	pipes  []io.Closer   // the proxy's ends of the child's stdout and stderr
	exited chan struct{} // closed once the leader has exited and been reaped
	err    error         // how it exited (nil, *exec.ExitError), valid after exited is closed
}

// startProcess starts command in its own process group, sends its stderr to
// log line by line, and limits each line it writes on stdout to maxLine bytes.
func startProcess(command string, args []string, dir string, env []string, log hclog.Logger, maxLine int64) (*process, error) {
	cmd := exec.Command(command, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", command, err)
	}
	p := &process{cmd: cmd, stdin: stdin, stdout: &lineLimitReader{r: stdout, max: maxLine},
		pipes: []io.Closer{stdout, stderr}, exited: make(chan struct{})}
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		logStderr(stderr, log) // ends at EOF, or when stop closes the pipe
	}()
	go func() {
		// Process.Wait, not Cmd.Wait: the leader's exit is seen even when a
		// grandchild still holds stdout or stderr open, and the pipes stay
		// readable until stop closes them.
		state, err := cmd.Process.Wait()
		if err == nil && !state.Success() {
			err = &exec.ExitError{ProcessState: state}
		}
		p.err = err
		// Let the child's last words (why it died) reach the log before
		// anyone reports the exit, but not for long.
		t := time.NewTimer(stderrGrace)
		select {
		case <-stderrDone:
		case <-t.C:
		}
		t.Stop()
		close(p.exited)
	}()
	return p, nil
}

// stop ends the child politely, then firmly: close stdin (a well-behaved MCP
// server exits on EOF), SIGTERM to the group, SIGKILL to the group.
func (p *process) stop(ctx context.Context) {
	_ = p.stdin.Close()
	defer func() {
		for _, c := range p.pipes {
			_ = c.Close()
		}
	}()
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{0, 2 * time.Second}, {syscall.SIGTERM, 3 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for _, s := range steps {
		if s.sig != 0 {
			_ = syscall.Kill(-p.cmd.Process.Pid, s.sig)
		}
		t := time.NewTimer(s.wait)
		select {
		case <-p.exited:
			t.Stop()
			// The leader is gone; make sure no grandchild (npx → sh → node) lingers.
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			return
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			return
		}
	}
}

// stderrGrace is how long an exit waits for the child's stderr to drain.
const stderrGrace = 500 * time.Millisecond

// maxStderrLine bounds one logged line of a child's stderr.
const maxStderrLine = 8 << 10

// logStderr copies a child's stderr into the operational log, one entry per
// line, cutting overlong lines so a chatty child cannot exhaust memory.
func logStderr(r io.Reader, log hclog.Logger) {
	br := bufio.NewReaderSize(r, 4096)
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if len(line) < maxStderrLine {
			line = append(line, chunk[:min(len(chunk), maxStderrLine-len(line))]...)
		}
		if err != nil {
			if len(line) > 0 {
				log.Info("stderr", "line", string(line))
			}
			return
		}
		if isPrefix {
			continue
		}
		if s := strings.TrimSpace(string(line)); s != "" {
			log.Info("stderr", "line", s)
		}
		line = line[:0]
	}
}

// lineLimitReader fails once a single line (bytes between newlines) exceeds
// max, so that an upstream cannot make the proxy buffer an unbounded message.
type lineLimitReader struct {
	r       io.Reader
	max     int64
	current int64
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	buf := p[:n]
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			l.current += int64(len(buf))
			break
		}
		l.current += int64(i)
		if l.current > l.max {
			return 0, fmt.Errorf("%w: a line of more than %d bytes", ErrTooLarge, l.max)
		}
		l.current = 0
		buf = buf[i+1:]
	}
	if l.current > l.max {
		return 0, fmt.Errorf("%w: a line of more than %d bytes", ErrTooLarge, l.max)
	}
	return n, err
}

// exitDescription says how a child ended, for the log.
func exitDescription(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
