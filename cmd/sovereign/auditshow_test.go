package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/audit/audittest"
)

// showClock is the fake clock of the logs of these tests: each reading is
// one second later.
type showClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *showClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

var showStart = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// showFixture is a data directory whose log holds a few calls of every
// shape, written by the real writer.
type showFixture struct {
	dataDir, config, auditDir, folder string
	keys                              audit.Keys
	clock                             *showClock
}

func call(id, principal, session, tool, effect string, allow bool, extra map[string]any) audit.Entry {
	b := map[string]any{
		"decision_id": id, "phase": "call", "method": "tools/call", "session": session,
		"principal": map[string]any{"kind": "os_user", "id": principal},
		"client":    map[string]any{"name": "claude-code", "version": "2.1.0"},
		"upstream":  "fs",
		"tool":      map[string]any{"name": "fs__" + tool, "upstream_name": tool, "effect": effect},
		"allow":     allow, "enforced": true, "mode": "enforce", "rules": []any{}, "revision": "rev-1",
		"args_digest": "sha256:00", "reasons": []any{}, "obligations": []any{},
	}
	for k, v := range extra {
		b[k] = v
	}
	return audit.Entry{Kind: audit.KindDecision, Body: b}
}

func outcome(id, status string, extra map[string]any) audit.Entry {
	b := map[string]any{"decision_id": id, "method": "tools/call", "upstream": "fs", "status": status,
		"is_error": status != "ok" && status != "redacted", "duration_us": 1500, "result_digest": "sha256:11"}
	for k, v := range extra {
		b[k] = v
	}
	return audit.Entry{Kind: audit.KindOutcome, Body: b}
}

// showEntries are the records after log_opened, in order.
var showEntries = []audit.Entry{
	{Kind: audit.KindPolicyLoaded, Body: map[string]any{"revision": "rev-1", "previous": "", "modules": 3, "mode": "enforce"}},
	call("d-read", "alice", "s-1", "read_text_file", "read", true, nil),
	outcome("d-read", "ok", nil),
	call("d-write", "bob", "s-2", "write_file", "write", false, map[string]any{
		"rules": []any{"PATH-002"}, "reasons": []any{map[string]any{"id": "PATH-002", "msg": "outside the roots"}}}),
	call("d-leak", "alice", "s-1", "read_text_file", "read", true, nil),
	call("d-leak-result", "alice", "s-1", "read_text_file", "read", true, map[string]any{
		"phase": "result", "rules": []any{"SEC-001"}, "redact": []any{"/content/0/text"}}),
	outcome("d-leak", "redacted", map[string]any{"result_decision_id": "d-leak-result"}),
	call("d-gate", "alice", "s-1", "read_text_file", "read", false, map[string]any{
		"rules": []any{"GATE-AUDIT"}, "gate_reason": "GATE-AUDIT", "reason": "the audit log cannot record this call"}),
	{Kind: audit.KindAuditFailure, Body: map[string]any{"since": "2026-11-27T09:00:08.000000Z", "until": "2026-11-27T09:00:09.000000Z", "error": "no space left on device", "denied": 1}},
	{Kind: audit.KindResumed, Body: map[string]any{"after_failure_seq": 9}},
	call("d-other", "carol", "s-3", "list_directory", "read", true, map[string]any{"upstream": "docs"}),
}

func newShowFixture(t *testing.T) *showFixture {
	t.Helper()
	f := &showFixture{dataDir: t.TempDir(), clock: &showClock{t: showStart}}
	f.auditDir = filepath.Join(f.dataDir, "audit")
	var err error
	f.keys, err = audit.LoadOrCreateKeys(filepath.Join(f.dataDir, "keys"), f.auditDir, "sovereign-audit/show-test")
	if err != nil {
		t.Fatal(err)
	}
	l := f.open(t)
	f.folder = filepath.Join(f.auditDir, l.Folder())
	for _, e := range showEntries {
		if _, err := l.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f.config = filepath.Join(t.TempDir(), "sovereign.yaml")
	if err := os.WriteFile(f.config, []byte("data_dir: "+f.dataDir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens (the next free) log of the fixture's audit directory.
func (f *showFixture) open(t *testing.T) *audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), audit.Options{Dir: f.auditDir, Keys: f.keys, Version: "test",
		Hostname: "testhost", Now: f.clock.now, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// timeOf returns the ts of the decision id, in RFC 3339.
func (f *showFixture) timeOf(t *testing.T, id string) string {
	t.Helper()
	r, err := audit.OpenLogReader(f.folder)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("no decision %s: %v", id, err)
		}
		if rec.Kind == audit.KindDecision && rec.Str("decision_id") == id {
			return rec.Time.Format(time.RFC3339Nano)
		}
	}
}

// tableRows returns the table's rows (header dropped) split into fields.
func tableRows(t *testing.T, out string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("no table header:\n%s", out)
	}
	var rows [][]string
	for _, l := range lines[1:] {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

// column returns column i of every row.
func column(rows [][]string, i int) []string {
	out := make([]string, len(rows))
	for j, r := range rows {
		out[j] = r[i]
	}
	return out
}

func TestAuditShowFilters(t *testing.T) {
	f := newShowFixture(t)
	// Columns: TIME SEQ KIND DECISION METHOD UPSTREAM TOOL RULES ID NOTE…
	const kindCol, decisionCol, idCol = 2, 3, 8
	cases := []struct {
		name  string
		args  []string
		kinds []string // the KIND column, in order
		ids   []string // the DECISION ID column, when set
	}{
		{"all", nil, []string{"log_opened", "policy_loaded", "decision", "outcome", "decision", "decision", "decision", "outcome",
			"decision", "audit_failure", "resumed", "decision", "log_closed", "checkpoint"}, nil},
		{"deny", []string{"--decision", "deny"}, nil, []string{"d-write", "d-gate"}},
		{"allow keeps the outcomes", []string{"--decision", "allow", "--upstream", "fs"}, nil,
			[]string{"d-read", "d-read", "d-leak", "d-leak-result", "d-leak"}},
		{"rule finds the redaction and its outcome", []string{"--rule", "SEC-001"}, []string{"decision", "outcome"}, []string{"d-leak-result", "d-leak"}},
		{"rule glob over reasons and gate_reason", []string{"--rule", "*-00?", "--kind", "decision"}, nil, []string{"d-write", "d-leak-result"}},
		{"gate reason", []string{"--rule", "GATE-*"}, nil, []string{"d-gate"}},
		{"tool glob, exposed name", []string{"--tool", "fs__write*"}, nil, []string{"d-write"}},
		{"tool glob, upstream name", []string{"--tool", "list_*"}, nil, []string{"d-other"}},
		{"principal", []string{"--principal", "bob"}, nil, []string{"d-write"}},
		{"principal kind:id", []string{"--principal", "os_user:carol"}, nil, []string{"d-other"}},
		{"session", []string{"--session", "s-1", "--kind", "decision"}, nil, []string{"d-read", "d-leak", "d-leak-result", "d-gate"}},
		{"upstream", []string{"--upstream", "docs"}, nil, []string{"d-other"}},
		{"kinds", []string{"--kind", "audit_failure,resumed"}, []string{"audit_failure", "resumed"}, nil},
		{"time window", []string{"--since", f.timeOf(t, "d-write"), "--until", f.timeOf(t, "d-leak-result")}, nil, []string{"d-write", "d-leak", "d-leak-result"}},
		{"limit", []string{"--limit", "2"}, []string{"log_opened", "policy_loaded"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCLI(t, append([]string{"-c", f.config, "audit", "show"}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			rows := tableRows(t, out)
			if tc.kinds != nil && !slices.Equal(column(rows, kindCol), tc.kinds) {
				t.Errorf("kinds %v, want %v\n%s", column(rows, kindCol), tc.kinds, out)
			}
			if tc.ids != nil && !slices.Equal(column(rows, idCol), tc.ids) {
				t.Errorf("decision ids %v, want %v\n%s", column(rows, idCol), tc.ids, out)
			}
		})
	}

	out, _, _ := runCLI(t, "audit", "show", "--dir", f.auditDir, "--decision", "deny")
	rows := tableRows(t, out)
	if rows[0][decisionCol] != "deny" || !strings.Contains(out, "denied by the proxy: GATE-AUDIT") || !strings.Contains(out, "PATH-002") {
		t.Errorf("a denial's row: %s", out)
	}

	// --json prints the lines exactly as stored.
	out, _, code := runCLI(t, "audit", "show", "--dir", f.folder, "--json")
	if code != exitOK {
		t.Fatalf("--json: exit %d", code)
	}
	segs, _ := filepath.Glob(filepath.Join(f.folder, "*.jsonl"))
	var stored []byte
	for _, s := range segs {
		b, _ := os.ReadFile(s)
		stored = append(stored, b...)
	}
	if out != string(stored) {
		t.Errorf("--json is not the log as stored:\n%s\nwant\n%s", out, stored)
	}
}

func TestAuditShowUsage(t *testing.T) {
	f := newShowFixture(t)
	for _, args := range [][]string{
		{"--decision", "maybe"},
		{"--since", "yesterday"},
		{"--since", "1h", "--until", "2h"},
		{"--tool", "["},
		{"--log", "nope"},
		{"--dir", filepath.Join(f.dataDir, "missing")},
	} {
		if _, errOut, code := runCLI(t, append([]string{"-c", f.config, "audit", "show"}, args...)...); code != exitUsage {
			t.Errorf("show %v: exit %d (%s), want %d", args, code, errOut, exitUsage)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                          {},
		"1h":                        now.Add(-time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"1.5d":                      now.Add(-36 * time.Hour),
		"2026-11-27T09:00:00Z":      time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC),
		"2026-11-27T09:00:00+01:00": time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC),
		"2026-11-27":                time.Date(2026, 11, 27, 0, 0, 0, 0, time.Local),
		"2026-11-27T10:30":          time.Date(2026, 11, 27, 10, 30, 0, 0, time.Local),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1h", "soon", "2026-13-01", "1x"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q): no error", bad)
		}
	}
}

func TestAuditShowMergesLogs(t *testing.T) {
	f := newShowFixture(t)
	// Two more processes at once: main is free again, so they take main
	// and main-2; their records interleave in time.
	a, b := f.open(t), f.open(t)
	if a.Folder() != "main" || b.Folder() != "main-2" {
		t.Fatalf("folders %s, %s", a.Folder(), b.Folder())
	}
	for i := range 3 {
		for _, l := range []*audit.Log{a, b} {
			id := l.Folder() + "-" + string(rune('a'+i))
			if _, err := l.Append(context.Background(), call(id, "dave", "s-9", "read_text_file", "read", true, nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	a.Close()
	b.Close()
	out, _, code := runCLI(t, "-c", f.config, "audit", "show", "--principal", "dave")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	rows := tableRows(t, out)
	// With a LOG column: TIME LOG SEQ KIND … DECISION ID is column 9.
	want := []string{"main-a", "main-2-a", "main-b", "main-2-b", "main-c", "main-2-c"}
	if got := column(rows, 9); !slices.Equal(got, want) {
		t.Errorf("merged order %v, want %v\n%s", got, want, out)
	}
	if got := column(rows, 1); got[0] != "main" || got[1] != "main-2" {
		t.Errorf("LOG column: %v", got)
	}
	out, _, _ = runCLI(t, "-c", f.config, "audit", "show", "--principal", "dave", "--log", "main-2", "--json")
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("--log main-2: %d records\n%s", n, out)
	}
}

func TestAuditTail(t *testing.T) {
	f := newShowFixture(t)
	out, _, code := runCLI(t, "-c", f.config, "audit", "tail", "-n", "3")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if got := column(tableRows(t, out), 2); !slices.Equal(got, []string{"decision", "log_closed", "checkpoint"}) {
		t.Errorf("tail -n 3: %v\n%s", got, out)
	}
	out, _, _ = runCLI(t, "-c", f.config, "audit", "tail", "-n", "2", "--kind", "decision", "--json")
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rec, err := audit.ParseRecord([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.Str("decision_id"))
	}
	if !slices.Equal(ids, []string{"d-gate", "d-other"}) {
		t.Errorf("tail -n 2 --kind decision: %v", ids)
	}

	// A log of many segments: tail reads back only as far as it needs.
	key, _ := audittest.NewKey("sovereign-audit/tail")
	dir := t.TempDir()
	l, err := audittest.Generate(dir, "main", audittest.Options{Records: 2000, SegmentRecords: 150, Signer: key.Signer})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ = runCLI(t, "audit", "tail", "--dir", dir, "-n", "400", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	first, _ := audit.ParseRecord([]byte(lines[0]))
	last, _ := audit.ParseRecord([]byte(lines[len(lines)-1]))
	if len(lines) != 400 || first.Seq != l.Records-400 || last.Seq != l.Records-1 {
		t.Errorf("tail -n 400 of %d records: %d lines, seq %d to %d", l.Records, len(lines), first.Seq, last.Seq)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAuditTailFollows(t *testing.T) {
	f := newShowFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	var out, errOut syncBuffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"audit", "tail", "-f", "-n", "1", "--dir", f.auditDir, "--kind", "decision", "--json"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	waitUntil := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond(out.String()) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; output:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("the last decision", func(s string) bool { return strings.Contains(s, `"d-other"`) })

	// A second process appends to main (reopened, rotating often) and a
	// third starts main-2 meanwhile: both are followed.
	l, err := audit.Open(context.Background(), audit.Options{Dir: f.auditDir, Keys: f.keys, Version: "test",
		Hostname: "testhost", Now: f.clock.now, CheckpointInterval: time.Hour, MaxSegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	other := f.open(t)
	var want []string
	for i := range 30 {
		id := "follow-" + string(rune('A'+i))
		want = append(want, id)
		if _, err := l.Append(context.Background(), call(id, "erin", "s-5", "read_text_file", "read", true, nil)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			other.AppendAsync(call("other-"+id, "erin", "s-6", "read_text_file", "read", true, nil))
		}
	}
	l.Close()
	other.Close()
	waitUntil("every new decision", func(s string) bool {
		return strings.Contains(s, `"follow-^"`) && strings.Count(s, `"other-follow-`) == 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail -f ended with %v", err)
	}
	if segs, _ := filepath.Glob(filepath.Join(f.folder, "*.jsonl")); len(segs) < 3 {
		t.Fatalf("the log did not rotate while followed: %v", segs)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		rec, err := audit.ParseRecord(sc.Bytes())
		if err != nil {
			t.Fatalf("not a record: %q", sc.Text())
		}
		if id := rec.Str("decision_id"); strings.HasPrefix(id, "follow-") {
			got = append(got, id)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("followed %v\nwant %v", got, want)
	}
	if errOut.String() != "" {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestAuditExport(t *testing.T) {
	f := newShowFixture(t)
	jsonl, _, code := runCLI(t, "-c", f.config, "audit", "export", "--format", "jsonl", "--decision", "deny")
	shown, _, _ := runCLI(t, "-c", f.config, "audit", "show", "--json", "--decision", "deny")
	if code != exitOK || jsonl != shown || strings.Count(jsonl, "\n") != 2 {
		t.Fatalf("export jsonl (exit %d):\n%s\nwant\n%s", code, jsonl, shown)
	}

	outFile := filepath.Join(t.TempDir(), "events.ocsf.jsonl")
	_, errOut, code := runCLI(t, "-c", f.config, "audit", "export", "--format", "ocsf", "--out", outFile)
	if code != exitOK || !strings.Contains(errOut, "14 records exported") {
		t.Fatalf("export ocsf: exit %d, %s", code, errOut)
	}
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		ClassUID     int    `json:"class_uid"`
		CategoryUID  int    `json:"category_uid"`
		ActivityID   int    `json:"activity_id"`
		TypeUID      int    `json:"type_uid"`
		Time         int64  `json:"time"`
		SeverityID   int    `json:"severity_id"`
		StatusID     int    `json:"status_id"`
		Status       string `json:"status"`
		StatusDetail string `json:"status_detail"`
		ActionID     int    `json:"action_id"`
		Metadata     struct {
			Version  string `json:"version"`
			Sequence uint64 `json:"sequence"`
			Product  struct {
				Name, Version string
			} `json:"product"`
			EventCode      string `json:"event_code"`
			CorrelationUID string `json:"correlation_uid"`
		} `json:"metadata"`
		Actor struct {
			User struct {
				UID    string `json:"uid"`
				TypeID int    `json:"type_id"`
			} `json:"user"`
			Session struct {
				UID string `json:"uid"`
			} `json:"session"`
			AppName string `json:"app_name"`
		} `json:"actor"`
		SrcEndpoint map[string]any `json:"src_endpoint"`
		API         struct {
			Operation string `json:"operation"`
			Service   struct {
				Name string `json:"name"`
			} `json:"service"`
			Request struct {
				UID string `json:"uid"`
			} `json:"request"`
			Response struct {
				Error string `json:"error"`
			} `json:"response"`
		} `json:"api"`
		Resources []struct {
			Type, Name, UID string
		} `json:"resources"`
		Unmapped map[string]any `json:"unmapped"`
	}
	var events []event
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		if e.ClassUID != 6003 || e.CategoryUID != 6 || e.TypeUID != 600300+e.ActivityID || e.Metadata.Version != "1.3.0" ||
			e.Time == 0 || e.API.Operation == "" || e.SrcEndpoint == nil || e.Metadata.Product.Version != "test" {
			t.Errorf("required attributes missing or wrong: %s", line)
		}
		events = append(events, e)
	}
	if len(events) != 14 {
		t.Fatalf("%d events", len(events))
	}
	read, deny, leakOutcome, failure := events[2], events[4], events[7], events[9]
	if read.ActivityID != 2 || read.StatusID != 1 || read.ActionID != 1 || read.Actor.User.UID != "alice" || read.Actor.User.TypeID != 1 ||
		read.Actor.Session.UID != "s-1" || read.Actor.AppName != "claude-code 2.1.0" || read.API.Operation != "tools/call" ||
		read.API.Service.Name != "fs" || read.API.Request.UID != "d-read" || read.Metadata.Sequence != 2 ||
		len(read.Resources) != 2 || read.Resources[0].Name != "fs__read_text_file" || read.Resources[0].UID != "read_text_file" ||
		read.Resources[1].Type != "mcp_server" || read.Unmapped["args_digest"] != "sha256:00" || read.Unmapped["principal"] != nil {
		t.Errorf("allowed read: %+v", read)
	}
	if deny.ActivityID != 3 || deny.StatusID != 2 || deny.ActionID != 2 || deny.SeverityID != 3 ||
		!strings.HasPrefix(deny.StatusDetail, "PATH-002") || deny.Actor.User.UID != "bob" {
		t.Errorf("denied write: %+v", deny)
	}
	if leakOutcome.Metadata.EventCode != "outcome" || leakOutcome.ActivityID != 2 || leakOutcome.StatusID != 1 ||
		leakOutcome.Actor.User.UID != "alice" || leakOutcome.Actor.Session.UID != "s-1" ||
		leakOutcome.Metadata.CorrelationUID != "d-leak" || leakOutcome.Unmapped["result_decision_id"] != "d-leak-result" {
		t.Errorf("outcome: %+v", leakOutcome)
	}
	if failure.Metadata.EventCode != "audit_failure" || failure.StatusID != 2 || failure.SeverityID != 4 ||
		failure.API.Operation != "audit_failure" || failure.Unmapped["denied"] != 1.0 {
		t.Errorf("audit_failure: %+v", failure)
	}

	if _, _, code := runCLI(t, "-c", f.config, "audit", "export", "--format", "csv"); code != exitUsage {
		t.Errorf("--format csv: exit %d", code)
	}
}

func TestAuditHash(t *testing.T) {
	f := newShowFixture(t)
	want := audit.HashValue(f.keys.HMAC, "/home/alice/.ssh/id_rsa")
	out, errOut, code := runCLI(t, "-c", f.config, "audit", "hash", "/home/alice/.ssh/id_rsa")
	if code != exitOK || out != want+"\n" {
		t.Fatalf("hash: %q (%s, exit %d), want %s", out, errOut, code, want)
	}
	keyFile := filepath.Join(f.dataDir, "keys", audit.HMACKeyFile)
	out, _, _ = runCLI(t, "audit", "hash", "--key-file", keyFile, "42")
	if out != audit.HashValue(f.keys.HMAC, "42")+"\n" {
		t.Errorf("--key-file: %q", out)
	}
	// The digest is what Redacted puts in args_redacted.
	red := audit.Redacted(f.keys.HMAC, map[string]any{"path": "/home/alice/.ssh/id_rsa", "n": json.Number("42")}).(map[string]any)
	if red["path"] != want || out != red["n"].(string)+"\n" {
		t.Errorf("hash and Redacted disagree: %v", red)
	}

	// "-" reads the value from stdin.
	root := newRootCommand()
	var so bytes.Buffer
	root.SetOut(&so)
	root.SetIn(strings.NewReader("/home/alice/.ssh/id_rsa\n"))
	root.SetArgs([]string{"-c", f.config, "audit", "hash", "-"})
	if err := root.Execute(); err != nil || so.String() != want+"\n" {
		t.Errorf("hash -: %q, %v", so.String(), err)
	}

	if _, errOut, code := runCLI(t, "audit", "hash", "--key-file", filepath.Join(t.TempDir(), "none"), "x"); code != exitUsage || !strings.Contains(errOut, "no audit HMAC key") {
		t.Errorf("missing key: exit %d, %s", code, errOut)
	}
}
