package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// waitGone waits until no process's command line contains s.
func waitGone(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := exec.Command("pgrep", "-f", s).Output()
		if err != nil && len(bytes.TrimSpace(out)) == 0 {
			return // pgrep exits 1 when nothing matches
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes matching %q still run after %s: %s", s, timeout, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newestSegment returns the path of the newest segment of the log folder.
func newestSegment(t *testing.T, folder string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(folder, "*.jsonl"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment in %s: %v", folder, err)
	}
	slices.Sort(segs)
	return segs[len(segs)-1]
}

// tornTail reports whether a file ends in a line without "\n".
func tornTail(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return len(b) > 0 && b[len(b)-1] != '\n'
}

// sealedWithoutNext reports whether the segment's last record is
// segment_sealed and the segment it names does not exist.
func sealedWithoutNext(t *testing.T, seg string) bool {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil || len(b) == 0 {
		return false
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	rec, err := audit.ParseRecord(lines[len(lines)-1])
	if err != nil || rec.Kind != audit.KindSegmentSealed {
		return false
	}
	_, err = os.Stat(filepath.Join(filepath.Dir(seg), rec.Str("next")))
	return errors.Is(err, fs.ErrNotExist)
}

// TestAuditSurvivesKill kills the proxy with SIGKILL at random moments while
// concurrent calls go through it, and restarts it, round after round (at
// most 30 rounds, or until 40 s are spent). The claim checked: every call
// an upstream received has a decision record with allow true in the log
// (the decision is written and synced before the call is forwarded), and
// a crash leaves nothing but, at worst, a torn last line, which the next
// start quarantines and records (recovered_torn_tail), never reporting it
// as tampering.
//
// How a received call is matched to its decision: the upstream,
// server-filesystem, runs behind `tee -a LOG`, which records every byte
// the proxy writes to it. Each call reads a path no other call reads (the
// marker), and the test keeps the exact bytes of the arguments it sent for
// each path. The log holds args_digest = sha256 of the arguments as the
// proxy received them, which are the bytes the test sent; so for every
// tools/call in LOG the test looks up the arguments sent for its path and
// requires an allowing decision with their digest. (The test also checks
// that the arguments reached the upstream byte for byte.) After the kill
// the test waits for tee to exit before reading LOG: tee writes what it
// reads to the upstream first and to LOG second, so LOG is complete only
// once tee has drained the pipe.
//
// Verification: after each kill the log is verified in process
// (audit.Verify, what `sovereign audit verify` runs). Two verdicts are
// accepted besides INTACT, each a crash state the next round's start must
// recover: MODIFIED for an incomplete last line of the newest segment (the
// documented verdict for a torn tail not yet recovered), and GAP when the
// kill fell between sealing a segment and creating the next one (the newest
// segment ends with segment_sealed naming a file that does not exist). Every
// earlier recovery is thereby verified as part of the log. Kills rarely
// tear a line (a batch is one small write), so every fourth round without
// a torn tail gets one: half of a record appended without its newline, as a
// crash in the middle of a write leaves. At the end the real proxy starts
// once more and stops cleanly, and `sovereign audit verify` must pass.
func TestAuditSurvivesKill(t *testing.T) {
	const (
		maxRounds = 30
		budget    = 40 * time.Second
		workers   = 4
	)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t.Logf("random seed %d", seed)

	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	auditDir := filepath.Join(dataDir, "audit")
	folder := filepath.Join(auditDir, "main")
	teeLog := filepath.Join(t.TempDir(), "to-upstream.jsonl")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nroots: [%q]\n"+
		"audit: {checkpoint_every: 20, checkpoint_interval: 50ms, max_segment_bytes: 65536}\nservers:\n%s",
		dataDir, root, teeStdio("fs", teeLog, node22(), nodeBin("mcp-server-filesystem"), root)))

	var (
		mu       sync.Mutex
		sent     = map[string][]byte{} // path read → the exact arguments sent
		torn     int                   // torn tails left by the rounds so far
		received int                   // calls the upstream received, all rounds
		teeOff   int64                 // LOG read so far
		// rotationsCut counts kills between segment_sealed and the next
		// segment's creation.
		rotationsCut int
	)
	start := time.Now()
	rounds := 0
	for ; rounds < maxRounds && time.Since(start) < budget; rounds++ {
		proxy := startRPC(t, fmt.Sprintf("sovereign#%d", rounds), nil, sovereignBin(t), "serve", "--config", cfg)
		proxy.initialize(t) // fails if the start refused the log as damaged

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					path := filepath.Join(root, fmt.Sprintf("kill-r%02d-w%d-c%04d.txt", rounds, w, i))
					args, _ := json.Marshal(map[string]any{"path": path})
					mu.Lock()
					sent[path] = args
					mu.Unlock()
					if _, err := proxy.toolCall(ctx, "fs__read_text_file", args); err != nil {
						return // the proxy is gone
					}
				}
			}()
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		proxy.kill()
		cancel()
		wg.Wait()
		waitGone(t, teeLog, 10*time.Second)

		// Every call the upstream received has an allowing decision.
		allowed := map[string]bool{}
		recovered, opened := 0, 0
		for _, r := range readAuditLogs(t, auditDir) {
			switch r.Kind {
			case audit.KindDecision:
				if a, _ := r.Bool("allow"); a && r.Str("phase") == "call" {
					allowed[r.Str("args_digest")] = true
				}
			case audit.KindRecoveredTornTail:
				recovered++
			case audit.KindLogOpened:
				opened++
			case audit.KindTamperAccepted:
				t.Fatalf("round %d: the log records accepted damage: %s", rounds, r.Line)
			}
		}
		f, err := os.Open(teeLog)
		if err != nil {
			t.Fatal(err)
		}
		f.Seek(teeOff, io.SeekStart)
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		} else {
			data = nil
		}
		teeOff += int64(len(data))
		got := 0
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var msg struct {
				Method string `json:"method"`
				Params struct {
					Arguments json.RawMessage `json:"arguments"`
				} `json:"params"`
			}
			if json.Unmarshal(line, &msg) != nil || msg.Method != "tools/call" {
				continue
			}
			var a struct {
				Path string `json:"path"`
			}
			json.Unmarshal(msg.Params.Arguments, &a)
			mu.Lock()
			args, ok := sent[a.Path]
			mu.Unlock()
			if !ok {
				t.Fatalf("round %d: the upstream received a call the test did not send: %s", rounds, line)
			}
			if !bytes.Equal(msg.Params.Arguments, args) {
				t.Errorf("round %d: arguments changed on the way: sent %s, received %s", rounds, args, msg.Params.Arguments)
			}
			if !allowed[argsDigest(args)] {
				t.Fatalf("round %d: the upstream received %s, but the log holds no allowing decision with args_digest %s",
					rounds, args, argsDigest(args))
			}
			got++
		}
		received += got

		// Each start recovered the torn tail left before it, and said so.
		if opened != rounds+1 || recovered != torn {
			t.Fatalf("round %d: %d log_opened (want %d), %d recovered_torn_tail (want %d)", rounds, opened, rounds+1, recovered, torn)
		}
		seg := newestSegment(t, folder)
		tornNow := tornTail(t, seg)
		content, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if !tornNow && rounds%4 == 3 && len(content) > 0 {
			last := content[bytes.LastIndexByte(content[:len(content)-1], '\n')+1 : len(content)-1]
			fh, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.Write(last[:len(last)/2])
			fh.Close()
			tornNow = true
		}
		if tornNow {
			torn++
		}
		rep, err := audit.Verify(context.Background(), audit.VerifyOptions{Dir: auditDir})
		if err != nil {
			t.Fatalf("round %d: verify: %v", rounds, err)
		}
		pending := ""
		if !rep.OK() {
			p := rep.Logs[0].Problem
			switch {
			case len(rep.Logs) != 1 || p == nil:
			case tornNow && p.Category == audit.Modified && p.Segment == filepath.Base(seg) && strings.Contains(p.Detail, "incomplete"):
				pending = "torn tail"
			case !tornNow && p.Category == audit.Gap && sealedWithoutNext(t, seg):
				// Killed between sealing a segment and creating the next
				// one: the writer's recovery creates it at the next start.
				// (verify calls this a GAP until then: see the report.)
				pending = "rotation cut short"
				rotationsCut++
			}
			if pending == "" {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("round %d: the log does not verify (torn tail: %v):\n%s", rounds, tornNow, b.String())
			}
		}
		t.Logf("round %d: %d calls reached the upstream, %d records, pending recovery: %q (%s)",
			rounds, got, rep.Logs[0].Records, pending, time.Since(start).Round(time.Millisecond))
	}

	// A last start recovers the last round's kill; a clean stop; verify.
	proxy := startRPC(t, "sovereign#last", nil, sovereignBin(t), "serve", "--config", cfg)
	proxy.initialize(t)
	proxy.closeStdin(t)
	waitGone(t, teeLog, 10*time.Second)
	recovered := 0
	for _, r := range readAuditLogs(t, auditDir) {
		if r.Kind == audit.KindRecoveredTornTail {
			recovered++
		}
	}
	if recovered != torn {
		t.Errorf("%d torn tails, %d recovered_torn_tail records", torn, recovered)
	}
	if res := sovereignCLI(t, "audit", "verify", "--dir", auditDir); res.ExitCode != 0 {
		t.Fatalf("audit verify after the last recovery: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if received == 0 {
		t.Fatalf("no call reached the upstream in %d rounds", rounds)
	}
	t.Logf("%d rounds in %s: %d calls reached the upstream, each with its decision; %d torn tails and %d cut rotations recovered",
		rounds, time.Since(start).Round(time.Millisecond), received, torn, rotationsCut)
}
