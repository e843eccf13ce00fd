package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestAnchorsGetEveryCheckpoint: each anchor directory holds the newest
// checkpoint under the log's origin, the same note as the checkpoint file,
// and it anchors verification; an anchor that cannot be written does not
// stop the log.
func TestAnchorsGetEveryCheckpoint(t *testing.T) {
	dir, anchor := t.TempDir(), t.TempDir()
	opts := testOptions(t, dir)
	opts.CheckpointEvery = 5
	opts.Anchors = []string{anchor, filepath.Join(t.TempDir(), "missing", "dir")}
	l := mustOpen(t, opts)
	for i := 0; i < 12; i++ {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	origin := l.Origin()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	anchored, err := os.ReadFile(filepath.Join(anchor, strings.ReplaceAll(origin, "/", "_")+".checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(filepath.Join(dir, "main", CheckpointFile))
	if err != nil || !bytes.Equal(anchored, local) {
		t.Fatalf("anchor %q\nlocal  %q (%v)", anchored, local, err)
	}
	if _, _, err := OpenCheckpoint(anchored, note.VerifierList(testKeys().Verifier)); err != nil {
		t.Fatalf("anchored checkpoint: %v", err)
	}
	rep, err := Verify(context.Background(), VerifyOptions{Dir: dir, Keys: note.VerifierList(testKeys().Verifier), Trusted: [][]byte{anchored}})
	if err != nil || !rep.OK() || rep.Logs[0].Anchored == 0 {
		t.Fatalf("verify against the anchor: %+v, %v", rep, err)
	}
}

// checkpointNotes are the notes of the checkpoint records of a closed log,
// in order.
func checkpointNotes(t *testing.T, folder string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, r := range readLog(t, folder) {
		if r.kind() == KindCheckpoint {
			out = append(out, []byte(r.str("note")))
		}
	}
	return out
}

// appendRounds appends rounds×every decisions, every being the log's
// CheckpointEvery, so that each round makes one checkpoint; after each it
// waits until got() reports that many notes arrived, so that no note
// replaces another one waiting behind it.
func appendRounds(t *testing.T, l *Log, rounds, every int, got func() int) {
	t.Helper()
	for r := 1; r <= rounds; r++ {
		for i := 0; i < every; i++ {
			if _, err := l.Append(context.Background(), decision(r*every+i)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, fmt.Sprintf("checkpoint %d at the anchor", r), func() bool { return got() >= r })
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// postedNote is one POST an HTTP anchor received.
type postedNote struct {
	origin, contentType string
	body                []byte
	status              int
}

// TestHTTPAnchor: every checkpoint note is POSTed with the origin, verifies
// with the log's key, and the last one is the checkpoint file; a failure is
// retried with the next checkpoint; a redirect is not followed.
func TestHTTPAnchor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   func(i int) int // the answer to the i-th POST, from 0
		redirect bool            // answer 3xx to another server
		okFrom   int             // the first note that must arrive (1: the first failed)
	}{
		{"every checkpoint", func(int) int { return http.StatusNoContent }, false, 0},
		{"500 then retry", func(i int) int { return map[bool]int{true: 500, false: 200}[i == 0] }, false, 1},
		{"redirect not followed", func(int) int { return http.StatusTemporaryRedirect }, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var elsewhere atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
			defer other.Close()
			var (
				mu    sync.Mutex
				posts []postedNote
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(r.Body)
				if err != nil || r.Method != http.MethodPost {
					t.Errorf("%s: %v", r.Method, err)
				}
				mu.Lock()
				status := tc.status(len(posts))
				posts = append(posts, postedNote{r.Header.Get("X-Sovereign-Audit-Origin"), r.Header.Get("Content-Type"), body, status})
				mu.Unlock()
				if tc.redirect {
					w.Header().Set("Location", other.URL+"/elsewhere")
				}
				w.WriteHeader(status)
				_, _ = w.Write([]byte("ok"))
			}))
			defer srv.Close()
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(posts) }

			dir := t.TempDir()
			opts := testOptions(t, dir)
			opts.CheckpointEvery = 5
			opts.Anchors = []string{srv.URL + "/v1/checkpoint?token=x"}
			l := mustOpen(t, opts)
			appendRounds(t, l, 3, opts.CheckpointEvery, count)
			origin := l.Origin()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			notes := checkpointNotes(t, filepath.Join(dir, "main"))
			mu.Lock()
			defer mu.Unlock()
			if len(posts) != len(notes) || len(notes) != 4 { // 3 rounds and Close
				t.Fatalf("%d POSTs for %d checkpoints", len(posts), len(notes))
			}
			var ok [][]byte
			for i, p := range posts {
				if p.origin != origin || p.contentType != "text/plain; charset=utf-8" || !bytes.Equal(p.body, notes[i]) {
					t.Errorf("POST %d: origin %q content type %q body %q; want %q", i, p.origin, p.contentType, p.body, notes[i])
				}
				if _, _, err := OpenCheckpoint(p.body, note.VerifierList(testKeys().Verifier)); err != nil {
					t.Errorf("POST %d does not verify: %v", i, err)
				}
				if p.status/100 == 2 {
					ok = append(ok, p.body)
				}
			}
			if tc.okFrom < 0 {
				if len(ok) != 0 || elsewhere.Load() != 0 {
					t.Fatalf("%d notes taken, %d requests followed a redirect", len(ok), elsewhere.Load())
				}
				return
			}
			if len(ok) != len(notes)-tc.okFrom {
				t.Fatalf("%d notes taken, want %d", len(ok), len(notes)-tc.okFrom)
			}
			local, err := os.ReadFile(filepath.Join(dir, "main", CheckpointFile))
			if err != nil || !bytes.Equal(ok[len(ok)-1], local) {
				t.Fatalf("last note taken %q\ncheckpoint file %q (%v)", ok[len(ok)-1], local, err)
			}
		})
	}
}

// TestHTTPAnchorHung: an endpoint that never answers holds up neither
// Append nor, beyond anchorTimeout, Close, and has one request in flight
// at a time.
func TestHTTPAnchorHung(t *testing.T) {
	defer func(d time.Duration) { anchorTimeout = d }(anchorTimeout)
	anchorTimeout = 300 * time.Millisecond
	var inFlight, most, total atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		total.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	dir := t.TempDir()
	opts := testOptions(t, dir)
	opts.CheckpointEvery = 1 // a checkpoint with every append
	opts.Anchors = []string{srv.URL}
	l := mustOpen(t, opts)
	began := time.Now()
	start := began
	for i := 0; i < 50; i++ {
		if _, err := l.Append(context.Background(), decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("50 appends took %s with a hung anchor", d)
	}
	waitFor(t, "the first POST", func() bool { return total.Load() > 0 })
	start = time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > anchorTimeout+anchorStopGrace+time.Second {
		t.Errorf("Close took %s with a hung anchor (timeout %s)", d, anchorTimeout)
	}
	// One request at a time: each ends at anchorTimeout (the server may
	// notice a moment later), the next takes the newest note.
	if n, bound := total.Load(), int32(time.Since(began)/anchorTimeout)+2; n > bound || most.Load() > 2 {
		t.Errorf("%d requests for 51 checkpoints in %s, %d in flight at once; want at most %d, one at a time", n, time.Since(began), most.Load(), bound)
	}
	local, err := os.ReadFile(filepath.Join(dir, "main", CheckpointFile))
	if c, _, err2 := OpenCheckpoint(local, note.VerifierList(testKeys().Verifier)); err != nil || err2 != nil || c.Size < 50 {
		t.Errorf("checkpoint file %q: %v %v", local, err, err2)
	}
}

// TestSyslogAnchor: a remote syslog server receives one line per
// checkpoint, with the origin, size and root, whose note= field decodes to
// the exact note.
func TestSyslogAnchor(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			var (
				mu    sync.Mutex
				lines []string
			)
			add := func(s string) { mu.Lock(); lines = append(lines, s); mu.Unlock() }
			var addr string
			switch network {
			case "udp":
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				addr = pc.LocalAddr().String()
				go func() {
					buf := make([]byte, 64<<10)
					for {
						n, _, err := pc.ReadFrom(buf)
						if err != nil {
							return
						}
						add(string(buf[:n]))
					}
				}()
			case "tcp":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				addr = ln.Addr().String()
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						go func() {
							defer c.Close()
							sc := bufio.NewScanner(c)
							for sc.Scan() {
								add(sc.Text() + "\n")
							}
						}()
					}
				}()
			}
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(lines) }

			dir := t.TempDir()
			opts := testOptions(t, dir)
			opts.CheckpointEvery = 5
			opts.Anchors = []string{"syslog+" + network + "://" + addr}
			l := mustOpen(t, opts)
			appendRounds(t, l, 3, opts.CheckpointEvery, count)
			origin := l.Origin()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			notes := checkpointNotes(t, filepath.Join(dir, "main"))
			waitFor(t, "the last checkpoint", func() bool { return count() >= len(notes) })
			mu.Lock()
			defer mu.Unlock()
			if len(lines) != len(notes) {
				t.Fatalf("%d lines for %d checkpoints", len(lines), len(notes))
			}
			header := regexp.MustCompile(`^<37>\S+ testhost sovereign-audit\[\d+\]: checkpoint origin=(\S+) size=(\d+) root=(\S+) note=(\S+)\n$`)
			for i, line := range lines {
				m := header.FindStringSubmatch(line)
				if m == nil {
					t.Fatalf("line %d: %q", i, line)
				}
				got, err := base64.StdEncoding.DecodeString(m[4])
				if err != nil || !bytes.Equal(got, notes[i]) {
					t.Fatalf("line %d: note %q (%v); want %q", i, got, err, notes[i])
				}
				c, _, err := OpenCheckpoint(got, note.VerifierList(testKeys().Verifier))
				if err != nil || m[1] != origin || c.Origin != origin || m[2] != fmt.Sprint(c.Size) || m[3] != encodeRoot(c.Root) {
					t.Fatalf("line %d: origin %s size %s root %s; checkpoint %+v (%v)", i, m[1], m[2], m[3], c, err)
				}
			}
		})
	}
}

// TestAnchorOptions: Open refuses an anchor it cannot use; the forms it
// takes become the right anchors.
func TestAnchorOptions(t *testing.T) {
	for _, tc := range []struct {
		anchor string
		want   string // the anchor's String, or "" for ErrInvalidOptions
	}{
		{"/mnt/witness", "/mnt/witness"},
		{"syslog+udp://127.0.0.1:5514", "syslog+udp://127.0.0.1:5514"},
		{"syslog+tcp://logs.example", "syslog+tcp://logs.example:514"},
		{"https://u:secret@witness.example/cp?token=secret", "https://witness.example/cp"},
		{"ftp://witness.example/", ""},
		{"syslog+udp://", ""},
		{"http://", ""},
		{"", ""},
	} {
		opts := testOptions(t, t.TempDir())
		opts.Anchors = []string{tc.anchor}
		err := opts.setDefaults()
		if tc.want == "" {
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "anchor 1") {
				t.Errorf("%q: %v; want ErrInvalidOptions", tc.anchor, err)
			}
			if _, err := Open(context.Background(), opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Open with %q: %v", tc.anchor, err)
			}
			continue
		}
		if err != nil || len(opts.anchors) != 1 || opts.anchors[0].String() != tc.want {
			t.Errorf("%q: %v %v; want %s", tc.anchor, opts.anchors, err, tc.want)
		}
	}
}
