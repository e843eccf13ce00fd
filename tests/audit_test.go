package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-stack/sovereign/core/audit"
)

// The audit log, end to end: the real binary records what it decides and
// forwards, survives SIGKILL without losing a decision it acted on, and
// fails closed when the disk is full. These tests talk to the proxy with a
// raw JSON-RPC client (stdioRPC, stdiorpc_test.go): the arguments of a call are sent as exact
// bytes, so that the test knows the digest the log must hold for them
// (args_digest is sha256 of the arguments as the proxy received them).

// argsDigest is the digest the log holds for arguments received as b.
func argsDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// jsonArgs encodes arguments compactly: the exact bytes sent.
func jsonArgs(t *testing.T, v map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAuditLogs reads every record of every log under auditDir (a torn last
// line is not a record yet and is left out).
func readAuditLogs(t *testing.T, auditDir string) []*audit.Record {
	t.Helper()
	_, folders, err := audit.FindLogs(auditDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []*audit.Record
	for _, folder := range folders {
		r, err := audit.OpenLogReader(folder)
		if err != nil {
			t.Fatal(err)
		}
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				t.Fatalf("reading %s: %v", folder, err)
			}
			out = append(out, rec)
		}
		r.Close()
	}
	return out
}

// quietCLI is the environment of the short sovereign commands the tests
// run: without the race detector's one-second sleep at exit.
var quietCLI = []string{"GORACE=atexit_sleep_ms=0"}

// sovereignCLI runs a sovereign command to completion.
func sovereignCLI(t *testing.T, args ...string) commandResult {
	t.Helper()
	res := runCommand(t, 60*time.Second, t.TempDir(), quietCLI, append([]string{sovereignBin(t)}, args...)...)
	t.Logf("sovereign %s -> exit %d", strings.Join(args, " "), res.ExitCode)
	return res
}

// withoutReasonTexts returns a record line without the texts of its
// reasons (reasons[].msg and reason); other lines as they are.
func withoutReasonTexts(line []byte) []byte {
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return line
	}
	delete(rec, "reason")
	if reasons, ok := rec["reasons"].([]any); ok {
		for _, r := range reasons {
			if m, ok := r.(map[string]any); ok {
				delete(m, "msg")
			}
		}
	}
	b, _ := json.Marshal(rec)
	return b
}

// TestAuditRecordsCalls runs calls through the real binary in front of
// server-filesystem and reads the log the proxy leaves: a decision for every
// call, an outcome for every forwarded one, the rules of a denial, the
// redaction of a secret in a result, digests instead of values, and a log
// that verifies, with a checkpoint file that does too.
func TestAuditRecordsCalls(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const secret = "AKIA" + "Z3MQWERTYUIOP123" // split: no file of the repository holds a key-shaped string
	files := map[string]string{
		"clean.md":   "# Notes\n\nThe build passes; ship on Friday.\n",
		"leaked.txt": "deploy with key " + secret + " tomorrow\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dataDir := t.TempDir()
	auditDir := filepath.Join(dataDir, "audit")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nroots: [%q]\nservers:\n  fs: {command: %q, args: [%q, %q]}\n",
		dataDir, root, node22(), nodeBin("mcp-server-filesystem"), root))
	proxy := startRPC(t, "sovereign", nil, sovereignBin(t), "serve", "--config", cfg)
	proxy.initialize(t)

	type sent struct {
		name, tool string
		args       []byte
		res        toolResult
	}
	calls := []*sent{
		{name: "read", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": filepath.Join(root, "clean.md")})},
		{name: "list", tool: "fs__list_directory", args: jsonArgs(t, map[string]any{"path": root})},
		{name: "leak", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": filepath.Join(root, "leaked.txt")})},
		{name: "outside", tool: "fs__read_text_file", args: jsonArgs(t, map[string]any{"path": "/etc/passwd"})},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range calls {
		if c.res, err = proxy.toolCall(ctx, c.tool, c.args); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
	read, list, leak, outside := calls[0], calls[1], calls[2], calls[3]
	if read.res.IsError || read.res.text() != files["clean.md"] || list.res.IsError {
		t.Fatalf("allowed calls failed: %s\n%s", read.res.raw, list.res.raw)
	}
	if leak.res.IsError || !strings.HasPrefix(leak.res.text(), "[redacted by policy") {
		t.Fatalf("the secret was not redacted: %s", leak.res.raw)
	}
	deniedID, deniedRules, ok := outside.res.denial()
	if !ok || len(deniedRules) == 0 {
		t.Fatalf("reading /etc/passwd was not denied: %s", outside.res.raw)
	}
	proxy.closeStdin(t)

	recs := readAuditLogs(t, auditDir)
	decisions := map[string]*audit.Record{} // args digest → the call's decision
	outcomes := map[string]*audit.Record{}  // decision id → outcome
	var resultDecisions []*audit.Record
	for _, r := range recs {
		switch {
		case r.Kind == audit.KindDecision && r.Str("phase") == "call":
			decisions[r.Str("args_digest")] = r
		case r.Kind == audit.KindDecision && r.Str("phase") == "result":
			resultDecisions = append(resultDecisions, r)
		case r.Kind == audit.KindOutcome:
			outcomes[r.Str("decision_id")] = r
		}
	}
	for _, c := range calls {
		d := decisions[argsDigest(c.args)]
		if d == nil {
			t.Errorf("%s: no decision record with args_digest %s", c.name, argsDigest(c.args))
			continue
		}
		if d.Str("tool", "name") != c.tool || d.Str("upstream") != "fs" || d.Str("method") != "tools/call" {
			t.Errorf("%s: decision %s", c.name, d.Line)
		}
		allow, _ := d.Bool("allow")
		if c == outside {
			if allow || d.Str("decision_id") != deniedID || !slices.Equal(d.Strings("rules"), deniedRules) {
				t.Errorf("the denial's record does not name its rules %v (decision %s): %s", deniedRules, deniedID, d.Line)
			}
			if outcomes[deniedID] != nil {
				t.Errorf("a denied call has an outcome: %s", outcomes[deniedID].Line)
			}
			continue
		}
		if !allow {
			t.Errorf("%s: allowed, but recorded as denied: %s", c.name, d.Line)
		}
		o := outcomes[d.Str("decision_id")]
		if o == nil {
			t.Errorf("%s: no outcome record for decision %s", c.name, d.Str("decision_id"))
			continue
		}
		want := "ok"
		if c == leak {
			want = "redacted"
		}
		if o.Str("status") != want || o.Str("result_digest") == "" {
			t.Errorf("%s: outcome %s, want status %s", c.name, o.Line, want)
		}
	}
	var redaction *audit.Record
	for _, r := range resultDecisions {
		if slices.Contains(r.Strings("rules"), "SEC-001") {
			redaction = r
		}
	}
	if redaction == nil {
		t.Errorf("no result-phase decision names SEC-001")
	} else if o := outcomes[decisions[argsDigest(leak.args)].Str("decision_id")]; o == nil || o.Str("result_decision_id") != redaction.Str("decision_id") {
		t.Errorf("the redacted outcome does not name the redaction's decision %s", redaction.Str("decision_id"))
	}

	// Only digests: no argument or result value is anywhere in the audit
	// directory. One exception, a defect of the policy library and the
	// gate (reported; to be removed once fixed): the reason texts of path
	// denials quote the path ("path /etc/passwd (argument path) is outside
	// the allowed roots", paths.rego) and the gate records them verbatim in
	// reasons[].msg. Paths are tolerated there, and only there; secrets and
	// file contents nowhere.
	values := []string{"Z3MQWERTYUIOP123", "ship on Friday", "deploy with key"}
	paths := []string{root, "clean.md", "leaked.txt", "/etc/passwd"}
	err = filepath.WalkDir(auditDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range values {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s holds the raw value %q", path, v)
			}
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			checked := withoutReasonTexts(line)
			for _, v := range paths {
				if bytes.Contains(checked, []byte(v)) {
					t.Errorf("%s holds the raw argument %q: %s", path, v, line)
				} else if bytes.Contains(line, []byte(v)) {
					t.Errorf("a reason text in %s quotes the argument %q: %s", filepath.Base(path), v, line)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The log verifies; so does its checkpoint file, which covers every
	// record before the final checkpoint record.
	if res := sovereignCLI(t, "audit", "verify", "--dir", auditDir); res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte("INTACT")) {
		t.Fatalf("audit verify: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	cpNote, err := os.ReadFile(filepath.Join(auditDir, "main", audit.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.DefaultVerifierKeys(auditDir)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := audit.OpenCheckpoint(cpNote, note.VerifierList(keys...))
	last := recs[len(recs)-1]
	if err != nil || cp.Origin != last.Str("log") || last.Kind != audit.KindCheckpoint || cp.Size != last.Seq || last.Str("note") != string(cpNote) {
		t.Fatalf("checkpoint file: %+v, %v; the last record is %s", cp, err, last.Line)
	}
	kept := filepath.Join(t.TempDir(), "main.checkpoint") // a copy kept outside the log
	if err := os.WriteFile(kept, cpNote, 0o600); err != nil {
		t.Fatal(err)
	}
	res := sovereignCLI(t, "audit", "verify", "--dir", auditDir, "--checkpoint", kept, "--json")
	var rep audit.Report
	if err := json.Unmarshal(res.Stdout, &rep); res.ExitCode != 0 || err != nil || len(rep.Logs) != 1 || rep.Logs[0].Anchored != cp.Size {
		t.Fatalf("verify --checkpoint: exit %d, %v\n%s%s", res.ExitCode, err, res.Stdout, res.Stderr)
	}

	// audit show finds the redaction by its rule, with the call's outcome.
	res = sovereignCLI(t, "audit", "show", "--dir", auditDir, "--rule", "SEC-001", "--json")
	if res.ExitCode != 0 {
		t.Fatalf("audit show: exit %d: %s", res.ExitCode, res.Stderr)
	}
	var shown []*audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		r, err := audit.ParseRecord([]byte(line))
		if err != nil {
			t.Fatalf("audit show --json printed %q: %v", line, err)
		}
		shown = append(shown, r)
	}
	if len(shown) != 2 || redaction == nil || shown[0].Str("decision_id") != redaction.Str("decision_id") ||
		shown[1].Kind != audit.KindOutcome || shown[1].Str("status") != "redacted" {
		t.Errorf("audit show --rule SEC-001:\n%s", res.Stdout)
	}
	res = sovereignCLI(t, "audit", "show", "--dir", auditDir, "--decision", "deny")
	if res.ExitCode != 0 || !bytes.Contains(res.Stdout, []byte(deniedID)) || !bytes.Contains(res.Stdout, []byte(deniedRules[0])) {
		t.Errorf("audit show --decision deny does not list the denial:\n%s", res.Stdout)
	}
	res = sovereignCLI(t, "audit", "export", "--dir", auditDir, "--format", "ocsf")
	if n := bytes.Count(res.Stdout, []byte("\n")); res.ExitCode != 0 || n != len(recs) || !bytes.Contains(res.Stdout, []byte(`"class_uid":6003`)) {
		t.Errorf("audit export --format ocsf: exit %d, %d events for %d records", res.ExitCode, n, len(recs))
	}
}

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

// smallFS is a small file system for the audit directory, to fill up.
type smallFS struct {
	dir string // the mount point, as the proxy sees it: its audit.dir
	// wrap runs the proxy inside the file system's mount namespace (user
	// namespace mode), nil when the mount is visible to everyone.
	wrap func(argv []string) []string
	// host turns a path under dir into one this process can open, given
	// the pid of a process in the proxy's mount namespace.
	host func(pid int, path string) string
	// saved is where the audit directory is once the proxy has exited.
	saved string
}

// smallFSSize is the size of the audit file system: room for the records of
// a start and a few calls.
const smallFSSize = 256 << 10

// newSmallFS mounts a tmpfs of smallFSSize for the audit directory: directly
// when this process may mount (root, CAP_SYS_ADMIN), or else in a new user
// and mount namespace (`unshare -rm`), inside which the proxy then runs; a
// test reaches that file system through /proc/<pid>/root. It skips the test
// when neither is permitted. (A size-limited loop device needs the same
// privilege as a tmpfs, so it is no fallback.)
func newSmallFS(t *testing.T) *smallFS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "auditfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("size=%d,mode=0700", smallFSSize)
	if os.Getenv("SOVEREIGN_E2E_USERNS") == "" {
		err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts)
		if err == nil {
			t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
			return &smallFS{dir: dir, host: func(_ int, p string) string { return p }, saved: dir}
		}
		t.Logf("mount -t tmpfs: %v; trying a user namespace", err)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("cannot make a small file system to fill: mounting is not permitted and there is no unshare(1) (the unit tests of core/audit inject write failures instead)")
	}
	script := `mount -t tmpfs -o "$1" tmpfs "$2" || exit 97`
	if out, err := exec.Command("unshare", "-rm", "sh", "-c", script, "sh", opts, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make a small file system to fill: mounting is not permitted here, nor in a user namespace (%v: %s); the unit tests of core/audit inject write failures instead", err, bytes.TrimSpace(out))
	}
	saved := filepath.Join(t.TempDir(), "audit-saved")
	return &smallFS{
		dir: dir,
		// The shell mounts, runs the proxy, and copies the audit directory
		// out before the namespace, and its tmpfs, go away.
		wrap: func(argv []string) []string {
			run := script + `; dir=$2 saved=$3; shift 3; "$@"; status=$?; cp -a "$dir" "$saved" || exit 98; exit $status`
			return append([]string{"unshare", "-rm", "sh", "-c", run, "sh", opts, dir, saved}, argv...)
		},
		host:  func(pid int, p string) string { return filepath.Join(fmt.Sprintf("/proc/%d/root", pid), p) },
		saved: saved,
	}
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("fill: %v", err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	for { // the last partial page
		if _, err := f.Write([]byte("x")); err != nil {
			return
		}
	}
}

// TestAuditDiskFull puts the audit directory on a small file system and
// fills it while the proxy runs: calls are then denied (GATE-AUDIT) and not
// forwarded, since their decisions cannot be recorded; once there is space
// again calls go through, the log holds audit_failure (counting the calls
// denied) and resumed, the denials themselves, and verifies.
func TestAuditDiskFull(t *testing.T) {
	sfs := newSmallFS(t)
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	teeLog := filepath.Join(t.TempDir(), "to-upstream.jsonl")
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nroots: [%q]\naudit: {dir: %q, checkpoint_interval: 100ms}\nservers:\n%s",
		dataDir, root, sfs.dir, teeStdio("fs", teeLog, node22(), nodeBin("mcp-server-filesystem"), root)))
	argv := []string{sovereignBin(t), "serve", "--config", cfg}
	if sfs.wrap != nil {
		argv = sfs.wrap(argv)
	}
	proxy := startRPC(t, "sovereign", nil, argv...)
	proxy.initialize(t)
	filler := sfs.host(proxy.cmd.Process.Pid, filepath.Join(sfs.dir, "filler"))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := 0
	call := func() (marker string, res toolResult) {
		t.Helper()
		n++
		marker = fmt.Sprintf("diskfull-%03d.txt", n)
		res, err := proxy.toolCall(ctx, "fs__read_text_file", jsonArgs(t, map[string]any{"path": filepath.Join(root, marker)}))
		if err != nil {
			t.Fatalf("call %d: %v", n, err)
		}
		return marker, res
	}
	gateAudit := func(res toolResult) (string, bool) {
		id, rules, ok := res.denial()
		return id, ok && len(rules) > 0 && rules[0] == "GATE-AUDIT"
	}

	// Space: a call goes through.
	first, res := call()
	if _, _, ok := res.denial(); ok {
		t.Fatalf("the first call was denied: %s", res.raw)
	}
	time.Sleep(300 * time.Millisecond) // its outcome and a checkpoint are written

	// Full: once a decision cannot be written, calls are denied.
	fill(t, filler)
	var denied []string // decision ids of the GATE-AUDIT denials
	var deniedMarkers []string
	for range 20 {
		marker, res := call()
		if id, ok := gateAudit(res); ok {
			denied, deniedMarkers = append(denied, id), append(deniedMarkers, marker)
			break
		}
		// It fitted in the last page of the segment. Top the file system
		// up again (a checkpoint file may have been replaced meanwhile).
		fill(t, filler)
	}
	if len(denied) == 0 {
		t.Fatalf("the audit file system is full, yet 20 calls were not denied with GATE-AUDIT")
	}
	for range 3 {
		// A failed write is cut back, which may free a page: top up.
		fill(t, filler)
		time.Sleep(300 * time.Millisecond) // past the writer's retry interval: each call retries the write
		marker, res := call()
		id, ok := gateAudit(res)
		if !ok {
			t.Fatalf("the audit log cannot write, yet a call was not denied with GATE-AUDIT: %s", res.raw)
		}
		if !strings.Contains(res.text(), "audit log") {
			t.Errorf("the denial does not say the audit log is why: %s", res.raw)
		}
		denied, deniedMarkers = append(denied, id), append(deniedMarkers, marker)
	}

	// Space again: calls go through (the first may still meet the failed
	// state within the retry interval).
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var allowedMarkers []string
	for i := 0; len(allowedMarkers) < 3; i++ {
		if i == 10 {
			t.Fatalf("space is back, but calls are still denied")
		}
		time.Sleep(300 * time.Millisecond)
		marker, res := call()
		if id, ok := gateAudit(res); ok {
			if len(allowedMarkers) > 0 {
				t.Fatalf("a call was denied with GATE-AUDIT after one went through again: %s", res.raw)
			}
			denied, deniedMarkers = append(denied, id), append(deniedMarkers, marker)
			continue
		}
		if _, _, ok := res.denial(); ok {
			t.Fatalf("denied after space came back: %s", res.raw)
		}
		allowedMarkers = append(allowedMarkers, marker)
	}
	proxy.closeStdin(t)
	waitGone(t, teeLog, 10*time.Second)

	// Nothing denied was forwarded; what was allowed was.
	upstream, err := os.ReadFile(teeLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range deniedMarkers {
		if bytes.Contains(upstream, []byte(m)) {
			t.Errorf("a call denied with GATE-AUDIT reached the upstream: %s", m)
		}
	}
	for _, m := range append([]string{first}, allowedMarkers...) {
		if !bytes.Contains(upstream, []byte(m)) {
			t.Errorf("an allowed call did not reach the upstream: %s", m)
		}
	}

	// The log tells the story and verifies.
	recs := readAuditLogs(t, sfs.saved)
	var failures, resumed []*audit.Record
	gateRecords := map[string]bool{}
	for _, r := range recs {
		switch r.Kind {
		case audit.KindAuditFailure:
			failures = append(failures, r)
		case audit.KindResumed:
			resumed = append(resumed, r)
		case audit.KindDecision:
			if r.Str("gate_reason") == "GATE-AUDIT" {
				gateRecords[r.Str("decision_id")] = true
			}
		}
	}
	total := int64(0)
	for i, f := range failures {
		n, _ := f.Int("denied")
		total += n
		if i >= len(resumed) {
			t.Errorf("audit_failure without resumed: %s", f.Line)
			continue
		}
		if after, _ := resumed[i].Int("after_failure_seq"); uint64(after) != f.Seq || f.Str("error") == "" {
			t.Errorf("resumed %s does not follow audit_failure %s", resumed[i].Line, f.Line)
		}
	}
	if len(failures) == 0 || total != int64(len(denied)) {
		t.Errorf("%d audit_failure records counting %d denied calls; the client saw %d GATE-AUDIT denials", len(failures), total, len(denied))
	}
	for _, id := range denied {
		if !gateRecords[id] {
			// The gate returns the GATE-AUDIT denial without queueing its
			// record (proxy/policygate/audit.go); the writer would hold it
			// and write it after resumed. Reported.
			t.Errorf("no decision record for the GATE-AUDIT denial %s (its id was given to the client; only audit_failure counts it)", id)
		}
	}
	if res := sovereignCLI(t, "audit", "verify", "--dir", sfs.saved); res.ExitCode != 0 {
		t.Fatalf("audit verify: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	t.Logf("%d calls denied while the disk was full (%d failure episodes); %d records", len(denied), len(failures), len(recs))
}
