package proxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// checkOversizeReplies asserts that reply holds exactly n JSON-RPC error
// lines for oversized messages.
func checkOversizeReplies(t *testing.T, reply string, n int) {
	t.Helper()
	lines := strings.SplitAfter(reply, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != n {
		t.Fatalf("%d replies, want %d: %q", len(lines), n, reply)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "\n") {
			t.Errorf("reply %q is not newline-terminated", l)
		}
		var msg struct {
			JSONRPC string           `json:"jsonrpc"`
			ID      *json.RawMessage `json:"id"`
			Error   *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatalf("reply %q is not JSON: %v", l, err)
		}
		if id, ok := raw["id"]; !ok || string(id) != "null" {
			t.Errorf("reply %q: id must be present and null", l)
		}
		_ = json.Unmarshal([]byte(l), &msg)
		if msg.JSONRPC != "2.0" || msg.Error == nil || msg.Error.Code != -32600 || msg.Error.Message == "" {
			t.Errorf("reply %q: want a JSON-RPC 2.0 error with code -32600 and a message", l)
		}
	}
}

func TestCopyBoundedLines(t *testing.T) {
	t.Parallel()
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		in        string
		max       int64
		want      string // what dst receives
		oversized int    // error replies
	}{
		{"empty input", "", 10, "", 0},
		{"normal lines", "a\n{\"b\":1}\n\n", 10, "a\n{\"b\":1}\n\n", 0},
		{"final line without newline", "a\nlast", 10, "a\nlast", 0},
		{"exactly the limit", x(10) + "\n" + x(10) + "\n", 10, x(10) + "\n" + x(10) + "\n", 0},
		{"exactly the limit, last line without newline", "a\n" + x(10), 10, "a\n" + x(10), 0},
		{"one over the limit", x(11) + "\n", 10, "", 1},
		{"one over the limit, last line without newline", "a\n" + x(11), 10, "a\n", 1},
		{"lines after an oversized one still pass", "short\n" + x(20) + "\nafter\n", 10, "short\nafter\n", 1},
		{"two oversized lines in a row", x(20) + "\n" + x(30) + "\nok\n", 10, "ok\n", 2},
		{"oversized line longer than the read buffer", "a\n" + x(200<<10) + "\nb\n", 10, "a\nb\n", 1},
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
				var dst, reply bytes.Buffer
				err := copyBoundedLines(&dst, rd.wrap(strings.NewReader(tt.in)), &reply, tt.max)
				if !errors.Is(err, io.EOF) {
					t.Errorf("copyBoundedLines returned %v, want io.EOF at the end of input", err)
				}
				if dst.String() != tt.want {
					t.Errorf("dst = %.200q, want %.200q", dst.String(), tt.want)
				}
				checkOversizeReplies(t, reply.String(), tt.oversized)
			})
		}
	}
}

func TestCopyBoundedLinesLargeMessages(t *testing.T) {
	t.Parallel()
	const limit = 4 << 20
	big := `{"jsonrpc":"2.0","id":1,"method":"x","params":{"p":"` + strings.Repeat("a", 1<<20) + `"}}` + "\n"
	huge := strings.Repeat("h", 5<<20) + "\n"
	atLimit := strings.Repeat("l", limit) + "\n"
	in := big + huge + atLimit + "tail\n"
	var dst, reply bytes.Buffer
	err := copyBoundedLines(&dst, strings.NewReader(in), &reply, limit)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	want := big + atLimit + "tail\n"
	if dst.Len() != len(want) || dst.String() != want {
		t.Errorf("dst has %d bytes, want the 1 MiB message, the 4 MiB message and tail intact (%d bytes)", dst.Len(), len(want))
	}
	checkOversizeReplies(t, reply.String(), 1)
}

// endlessReader yields n bytes of 'x' and then rest, without holding the
// bytes in memory.
type endlessReader struct {
	n    int64
	rest *strings.Reader
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return r.rest.Read(p)
	}
	k := min(int64(len(p)), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return int(k), nil
}

// countingWriter counts bytes without keeping them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// TestCopyBoundedLinesMemoryIsBounded sends a 64 MiB line with a 1 MiB limit
// and checks that copyBoundedLines did not buffer it. Not parallel: it
// measures the process's allocations.
func TestCopyBoundedLinesMemoryIsBounded(t *testing.T) {
	const limit = 1 << 20
	const lineLen = 64 << 20
	in := &endlessReader{n: lineLen, rest: strings.NewReader("\n{\"after\":true}\n")}
	var dst countingWriter
	var reply bytes.Buffer

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := copyBoundedLines(&dst, in, &reply, limit)
	runtime.ReadMemStats(&after)

	if !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want io.EOF", err)
	}
	if want := int64(len("{\"after\":true}\n")); dst.n != want {
		t.Errorf("dst got %d bytes, want only the line after the oversized one (%d)", dst.n, want)
	}
	checkOversizeReplies(t, reply.String(), 1)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d MiB line with a %d MiB limit; the line must not be buffered whole",
			alloc>>20, lineLen>>20, limit>>20)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestCopyBoundedLinesWriteErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	t.Run("dst", func(t *testing.T) {
		t.Parallel()
		var reply bytes.Buffer
		err := copyBoundedLines(failingWriter{boom}, strings.NewReader("a\nb\n"), &reply, 10)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the dst error", err)
		}
	})
	t.Run("reply", func(t *testing.T) {
		t.Parallel()
		var dst bytes.Buffer
		err := copyBoundedLines(&dst, strings.NewReader(strings.Repeat("x", 50)+"\nb\n"), failingWriter{boom}, 10)
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the reply error", err)
		}
		if dst.Len() != 0 {
			t.Errorf("dst = %q, want nothing after the reply failed", dst.String())
		}
	})
	t.Run("read error", func(t *testing.T) {
		t.Parallel()
		var dst, reply bytes.Buffer
		r := io.MultiReader(strings.NewReader("a\n"), iotest.ErrReader(boom))
		if err := copyBoundedLines(&dst, r, &reply, 10); !errors.Is(err, boom) {
			t.Errorf("err = %v, want the read error", err)
		}
		if dst.String() != "a\n" {
			t.Errorf("dst = %q, want the line before the error", dst.String())
		}
	})
}

// byteByByteWriter writes one byte at a time with a yield in between, and
// has no lock of its own: without lockedWriter, concurrent writes interleave
// (and the race detector reports the shared buffer).
type byteByByteWriter struct{ buf []byte }

func (w *byteByByteWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		w.buf = append(w.buf, b)
		runtime.Gosched()
	}
	return len(p), nil
}

func TestLockedWriterDoesNotInterleave(t *testing.T) {
	t.Parallel()
	const writers, perWriter, lineLen = 8, 20, 64
	under := &byteByByteWriter{}
	lw := &lockedWriter{w: under}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			line := strings.Repeat(string(rune('a'+i)), lineLen-1) + "\n"
			for range perWriter {
				if n, err := lw.Write([]byte(line)); n != len(line) || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(string(under.buf), "\n"), "\n")
	if len(lines) != writers*perWriter {
		t.Fatalf("%d lines, want %d", len(lines), writers*perWriter)
	}
	for _, l := range lines {
		if len(l) != lineLen-1 || strings.Trim(l, l[:1]) != "" {
			t.Fatalf("interleaved line %q", l)
		}
	}
}

// TestServeStdioOversizedMessage runs the stdio front: an oversized request
// is answered with an error and the next request is still served.
func TestServeStdioOversizedMessage(t *testing.T) {
	t.Parallel()
	p := New(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- p.ServeStdio(ctx, inR, outW, 1024) }()

	out := bufio.NewReader(outR)
	readLine := func() map[string]json.RawMessage {
		t.Helper()
		line, err := out.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reading the stdio front's output: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("output line %q is not JSON: %v", line, err)
		}
		return m
	}
	write := func(s string) {
		t.Helper()
		if _, err := io.WriteString(inW, s); err != nil {
			t.Fatal(err)
		}
	}

	write(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("x", 2000) + `"}}` + "\n")
	m := readLine()
	if string(m["id"]) != "null" || m["error"] == nil {
		t.Errorf("oversized request answered with %v, want an error with id null", m)
	}
	write(`{"jsonrpc":"2.0","id":2,"method":"ping"}` + "\n")
	m = readLine()
	if string(m["id"]) != "2" || m["error"] != nil {
		t.Errorf("ping after the oversized request answered with %v, want a result for id 2", m)
	}

	_ = inW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ServeStdio returned %v at end of input, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("ServeStdio did not return at end of input")
	}
}
