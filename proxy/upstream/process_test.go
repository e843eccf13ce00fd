package upstream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestLineLimitReader(t *testing.T) {
	t.Parallel()
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name    string
		in      string
		max     int64
		wantErr bool
	}{
		{"empty", "", 10, false},
		{"short lines", "a\nbb\nccc\n", 10, false},
		{"many short lines longer than max together", strings.Repeat(x(9)+"\n", 100), 10, false},
		{"exactly max", x(10) + "\n" + x(10) + "\n", 10, false},
		{"exactly max without final newline", "a\n" + x(10), 10, false},
		{"empty lines", "\n\n\n", 0, false},
		{"one over max", x(11) + "\n", 10, true},
		{"one over max without newline", x(11), 10, true},
		{"long line after short ones", "a\nb\n" + x(100) + "\nc\n", 10, true},
		{"long line much longer than any read", x(100000) + "\n", 1000, true},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				r := &lineLimitReader{r: rd.wrap(strings.NewReader(tt.in)), max: tt.max}
				got, err := io.ReadAll(r)
				if tt.wantErr {
					if !errors.Is(err, ErrTooLarge) {
						t.Fatalf("err = %v, want ErrTooLarge", err)
					}
					// Once failed, the reader stays failed.
					if _, err := r.Read(make([]byte, 64)); !errors.Is(err, ErrTooLarge) {
						t.Errorf("Read after the failure: %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				if string(got) != tt.in {
					t.Errorf("read %.100q, want the input unchanged %.100q", got, tt.in)
				}
			})
		}
	}
}

// infiniteX never ends and never sends a newline.
type infiniteX struct{ n int64 }

func (r *infiniteX) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += int64(len(p))
	return len(p), nil
}

func TestLineLimitReaderStopsEarly(t *testing.T) {
	t.Parallel()
	src := &infiniteX{}
	r := &lineLimitReader{r: iotest.HalfReader(src), max: 1 << 20}
	_, err := io.Copy(io.Discard, r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if src.n > 2<<20 {
		t.Errorf("read %d bytes of one line before failing, want about the limit (1 MiB)", src.n)
	}
	// The error keeps failing: the rest of the line is not let through.
	if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrTooLarge) {
		t.Errorf("Read after failure = %d, %v; want 0, ErrTooLarge", n, err)
	}
}

// logLines parses the JSON log hclog wrote and returns the "line" values of
// the stderr entries.
func logLines(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var lines []string
	sc := bufio.NewScanner(buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var entry struct {
			Message string `json:"@message"`
			Level   string `json:"@level"`
			Line    string `json:"line"`
		}
		if err := json.Unmarshal(sc.Bytes(), &entry); err != nil {
			t.Fatalf("log line %q: %v", sc.Bytes(), err)
		}
		if entry.Message != "stderr" {
			t.Fatalf("log message %q, want stderr", entry.Message)
		}
		lines = append(lines, entry.Line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

func jsonLogger(buf *bytes.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Info, JSONFormat: true})
}

func TestLogStderr(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("L", 20000)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lines", "hello\nworld\n", []string{"hello", "world"}},
		{"blank lines skipped and spaces trimmed", "  \n\t\n  padded  \n", []string{"padded"}},
		{"CRLF", "dos\r\n", []string{"dos"}},
		{"final line without newline", "a\nlast", []string{"a", "last"}},
		{"long line cut", "before\n" + long + "\nafter\n", []string{"before", long[:maxStderrLine], "after"}},
		{"exactly the cut", strings.Repeat("c", maxStderrLine) + "\n", []string{strings.Repeat("c", maxStderrLine)}},
		{"long final line without newline", long, []string{long[:maxStderrLine]}},
		{"empty", "", nil},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
	}
	for _, tt := range tests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				logStderr(rd.wrap(strings.NewReader(tt.in)), jsonLogger(&buf))
				got := logLines(t, &buf)
				if !slices.Equal(got, tt.want) {
					short := func(s []string) []string {
						out := make([]string, len(s))
						for i, l := range s {
							out[i] = l
							if len(l) > 40 {
								out[i] = l[:20] + "…(" + strconv.Itoa(len(l)) + " bytes)"
							}
						}
						return out
					}
					t.Errorf("logged %q, want %q", short(got), short(tt.want))
				}
			})
		}
	}
}

func TestChildEnv(t *testing.T) {
	// Not parallel: it sets the process environment.
	t.Setenv("SOV_TEST_SECRET", "secret")
	t.Setenv("HOME", "/home/proxy")
	t.Setenv("LANG", "C.UTF-8")
	configured := map[string]string{"HOME": "/home/configured", "FOO": "bar", "SOV_EMPTY": ""}

	// lastWins reads an environment list the way os/exec does.
	lastWins := func(env []string) map[string]string {
		m := map[string]string{}
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("environment entry %q has no '='", kv)
			}
			m[k] = v
		}
		return m
	}

	t.Run("base only", func(t *testing.T) {
		env := lastWins(childEnv(false, configured))
		for k := range env {
			if _, isConf := configured[k]; !slices.Contains(baseEnv, k) && !isConf {
				t.Errorf("child inherits %s, which is neither a base variable nor configured", k)
			}
		}
		if _, ok := env["SOV_TEST_SECRET"]; ok {
			t.Error("child inherits the proxy's SOV_TEST_SECRET")
		}
		want := map[string]string{"HOME": "/home/configured", "FOO": "bar", "SOV_EMPTY": "", "LANG": "C.UTF-8", "PATH": os.Getenv("PATH")}
		for k, v := range want {
			if got, ok := env[k]; !ok || got != v {
				t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
			}
		}
		for _, k := range baseEnv {
			if _, isConf := configured[k]; isConf {
				continue
			}
			if v, ok := os.LookupEnv(k); ok {
				if env[k] != v {
					t.Errorf("base variable %s = %q, want the proxy's %q", k, env[k], v)
				}
			}
		}
	})

	t.Run("inherit all", func(t *testing.T) {
		env := lastWins(childEnv(true, configured))
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if c, ok := configured[k]; ok {
				v = c
			}
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
		if env["SOV_TEST_SECRET"] != "secret" || env["HOME"] != "/home/configured" || env["FOO"] != "bar" {
			t.Errorf("SOV_TEST_SECRET=%q HOME=%q FOO=%q; want secret, /home/configured, bar",
				env["SOV_TEST_SECRET"], env["HOME"], env["FOO"])
		}
	})

	t.Run("configured wins in the child", func(t *testing.T) {
		for _, inherit := range []bool{false, true} {
			p := startTestProcess(t, `printf '%s|%s|%s\n' "$HOME" "$FOO" "${SOV_TEST_SECRET-unset}"`, childEnv(inherit, configured))
			line := readLine(t, p)
			want := "/home/configured|bar|unset"
			if inherit {
				want = "/home/configured|bar|secret"
			}
			if line != want {
				t.Errorf("inheritAll=%v: child saw %q, want %q", inherit, line, want)
			}
		}
	})
}

// startTestProcess starts sh -c script as a stdio child and makes sure its
// process group is gone when the test ends.
func startTestProcess(t *testing.T, script string, env []string) *process {
	t.Helper()
	if env == nil {
		env = childEnv(false, nil)
	}
	p, err := startProcess("sh", []string{"-c", script}, "", env, hclog.NewNullLogger(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("child %d not reaped", p.cmd.Process.Pid)
		}
	})
	return p
}

// readLine reads one line of the child's stdout, with a deadline.
func readLine(t *testing.T, p *process) string {
	t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(p.stdout).ReadString('\n')
		ch <- result{strings.TrimSuffix(line, "\n"), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("reading the child's stdout: %v", r.err)
		}
		return r.line
	case <-time.After(10 * time.Second):
		t.Fatal("the child wrote no line")
		return ""
	}
}

// gone reports whether pid no longer runs: it does not exist, or it is a
// zombie waiting for a reaper that is not this test.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// waitGone waits for pid to end, for at most d.
func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if gone(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcessStop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// The grandchild's pid is printed first, so the test can check that it
	// is gone too. stop waits 2s after closing stdin, then 3s after SIGTERM.
	tests := []struct {
		name       string
		script     string
		ctxTimeout time.Duration // 0: no deadline
		min, max   time.Duration
		wantDesc   string // exitDescription of the leader; "" to skip
	}{
		{
			name:     "exits on stdin EOF",
			script:   `echo $$; cat >/dev/null`,
			max:      1500 * time.Millisecond,
			wantDesc: "exit status 0",
		},
		{
			name:   "exits on EOF, leaving a detached grandchild",
			script: `sleep 100 </dev/null >/dev/null 2>&1 & echo $!; cat >/dev/null`,
			max:    1500 * time.Millisecond,
		},
		{
			name:     "ignores EOF, dies on SIGTERM",
			script:   `sleep 100 & echo $!; wait`,
			min:      2 * time.Second,
			max:      4 * time.Second,
			wantDesc: "killed by terminated",
		},
		{
			name:     "ignores EOF and SIGTERM",
			script:   `trap '' TERM; sleep 100 & echo $!; sleep 100`,
			min:      5 * time.Second,
			max:      7 * time.Second,
			wantDesc: "killed by killed",
		},
		{
			name:       "context ends the wait with SIGKILL",
			script:     `trap '' TERM; sleep 100 & echo $!; sleep 100`,
			ctxTimeout: 300 * time.Millisecond,
			min:        300 * time.Millisecond,
			max:        1500 * time.Millisecond,
			wantDesc:   "killed by killed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := startTestProcess(t, tt.script, nil)
			pid, err := strconv.Atoi(readLine(t, p))
			if err != nil {
				t.Fatalf("the child printed no pid: %v", err)
			}
			leader := p.cmd.Process.Pid
			if pgid, err := syscall.Getpgid(pid); err == nil && pgid != leader {
				t.Errorf("child %d is in process group %d, want the leader's %d", pid, pgid, leader)
			}

			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			p.stop(ctx)
			elapsed := time.Since(start)
			if elapsed < tt.min || elapsed > tt.max {
				t.Errorf("stop took %v, want between %v and %v", elapsed, tt.min, tt.max)
			}
			select {
			case <-p.exited:
			case <-time.After(3 * time.Second):
				t.Fatal("the leader was not reaped after stop")
			}
			if tt.wantDesc != "" {
				if got := exitDescription(p.err); got != tt.wantDesc {
					t.Errorf("leader ended with %q, want %q", got, tt.wantDesc)
				}
			}
			if !waitGone(pid, 3*time.Second) {
				t.Errorf("process %d of the child's group still runs after stop", pid)
			}
		})
	}
}

func TestProcessStdoutLineLimit(t *testing.T) {
	t.Parallel()
	p, err := startProcess("sh", []string{"-c", `echo ok; head -c 5000 /dev/zero | tr '\0' x; echo; cat >/dev/null`},
		"", childEnv(false, nil), hclog.NewNullLogger(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(context.Background())
	br := bufio.NewReader(p.stdout)
	if line, err := br.ReadString('\n'); err != nil || line != "ok\n" {
		t.Fatalf("first line %q, %v; want ok", line, err)
	}
	if _, err := io.Copy(io.Discard, br); !errors.Is(err, ErrTooLarge) {
		t.Errorf("reading a 5000-byte line with a 1000-byte limit: %v, want ErrTooLarge", err)
	}
}

func TestProcessStderrIsLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	p, err := startProcess("sh", []string{"-c", `echo "to stderr" >&2; exit 3`}, "", childEnv(false, nil), jsonLogger(&buf), 1000)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("child did not exit")
	}
	// exited closes only after stderr was drained, so the log is complete.
	if got := logLines(t, &buf); !slices.Equal(got, []string{"to stderr"}) {
		t.Errorf("logged %q, want [to stderr]", got)
	}
	if got := exitDescription(p.err); got != "exit status 3" {
		t.Errorf("exitDescription = %q, want exit status 3", got)
	}
}

func TestStartProcessErrors(t *testing.T) {
	t.Parallel()
	if _, err := startProcess("/nonexistent/command", nil, "", nil, hclog.NewNullLogger(), 10); err == nil {
		t.Error("starting a missing command: no error")
	}
	if _, err := startProcess("sh", []string{"-c", "true"}, "/nonexistent/dir", nil, hclog.NewNullLogger(), 10); err == nil {
		t.Error("starting in a missing directory: no error")
	}
}

func TestExitDescription(t *testing.T) {
	t.Parallel()
	exitErr := func(script string) error {
		err := exec.Command("sh", "-c", script).Run()
		if err == nil {
			t.Fatalf("%s: no error", script)
		}
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, "exit status 0"},
		{"exit code", exitErr("exit 3"), "exit status 3"},
		{"signal", exitErr("kill -KILL $$"), "killed by killed"},
		{"other error", errors.New("boom"), "boom"},
	}
	for _, tt := range tests {
		if got := exitDescription(tt.err); got != tt.want {
			t.Errorf("%s: exitDescription = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A leader that exits while a grandchild keeps its stdout and stderr open is
// still seen to exit promptly (the proxy must not wait for the grandchild).
func TestProcessExitSeenDespiteGrandchildHoldingPipes(t *testing.T) {
	t.Parallel()
	p, err := startProcess("sh", []string{"-c", `sleep 30 & echo bye >&2; exit 4`}, "", childEnv(false, nil), hclog.NewNullLogger(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(context.Background())
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the leader's exit was not seen while a grandchild held its pipes")
	}
	if got := exitDescription(p.err); got != "exit status 4" {
		t.Errorf("exitDescription = %q, want exit status 4", got)
	}
}
