package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The attack corpus (issue 3, "Tests and measurements"): testdata/corpus/
// hostile.jsonl and benign.jsonl hold one tool call per line,
//
//	{"id": "h001", "category": "traversal-dotdot", "tool": "fs__read_text_file", "args": {...}}
//
// TestCorpus sends every call through the real binary, with the default
// policy library, to real upstreams (server-filesystem as fs, server-everything
// as ev). Every hostile call must be denied by the policy and never reach its
// upstream; every benign call must be allowed and reach it.
//
// Placeholders in argument strings, substituted at test time:
//
//	{{ROOT}}     the single root of the proxy and of server-filesystem
//	{{LINK}}     ROOT/link, a symlink to /etc
//	{{OUTLINK}}  ROOT/outlink, a symlink to a writable directory outside ROOT
//	{{FILELINK}} ROOT/filelink, a symlink to /etc/passwd
//	{{J}}        removed: secret-shaped values are split by it, so no file in
//	             the repository holds a token-shaped string
//
// Proof that an upstream never saw a call: each upstream runs behind
// `tee -a LOG`, which records every message the proxy sends it, and each
// call carries a unique marker in its request _meta (which the proxy
// forwards and the policy does not judge). A hostile call passes when the
// client got a policy denial (an isError result with
// _meta["dev.sovereign/decision"].allow == false) and its marker is in no
// log; a benign call passes when it got no policy denial and its marker is in
// its upstream's log. Besides, no file anywhere in the test's directories may
// hold the payload of a hostile write, and no result may hold the content of
// the sensitive files planted inside the root.

type corpusEntry struct {
	ID       string         `json:"id"`
	Category string         `json:"category"`
	Tool     string         `json:"tool"`
	Args     map[string]any `json:"args"`
}

// corpusOutcome is what one call produced.
type corpusOutcome struct {
	entry     corpusEntry
	args      map[string]any // after substitution
	marker    string
	denied    bool     // a policy denial (decision meta with allow=false)
	reason    string   // the denial's reason
	rules     []string // the ids of the rules that denied
	isError   bool     // an error result (denial or upstream error)
	rpcErr    string   // a JSON-RPC error instead of a result
	transport string   // a transport error
	result    string   // the raw result (cut)
	forwarded bool     // the marker reached an upstream
}

const (
	corpusMarkerKey  = "dev.sovereign.e2e/corpus-marker"
	corpusPwned      = "CORPUS-PWNED"  // the payload of every hostile write
	corpusSecretMark = "CORPUS-SECRET" // the content of sensitive files planted in the root
)

func readCorpus(t *testing.T, name string) []corpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e corpusEntry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		if e.ID == "" || e.Category == "" || e.Tool == "" || e.Args == nil {
			t.Fatalf("%s:%d: id, category, tool and args are required", name, n)
		}
		if seen[e.ID] {
			t.Fatalf("%s:%d: duplicate id %s", name, n, e.ID)
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// substitute replaces the placeholders in every string of v.
func substitute(v any, r *strings.Replacer) any {
	switch x := v.(type) {
	case string:
		return r.Replace(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = substitute(e, r)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = substitute(e, r)
		}
		return l
	}
	return v
}

// teeStdio returns a stdio server entry running argv behind `tee -a log`.
func teeStdio(name, log string, argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return stdioServer(name, "sh", []string{"-c", fmt.Sprintf("tee -a %q | exec %s", log, strings.Join(q, " "))}, "")
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func TestCorpus(t *testing.T) {
	start := time.Now()
	hostile := readCorpus(t, "hostile.jsonl")
	benign := readCorpus(t, "benign.jsonl")
	if len(hostile) < 300 || len(benign) < 300 {
		t.Fatalf("the corpus must hold at least 300 hostile and 300 benign entries (has %d and %d)", len(hostile), len(benign))
	}

	// The file system: base/root is the root; base/root-evil its sibling;
	// base/outside the target of a symlink inside the root.
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, root + "-evil", root + "_backup", root + ".bak", root + "evil",
		filepath.Join(root, "notes"), filepath.Join(root, "docs"), filepath.Join(root, "src"), filepath.Join(root, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(root+"-evil", "secret.txt"), filepath.Join(outside, "secret.txt")} {
		if err := os.WriteFile(f, []byte(corpusSecretMark+" outside the root\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"link": "/etc", "outlink": outside, "filelink": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	repl := strings.NewReplacer("{{ROOT}}", root, "{{LINK}}", filepath.Join(root, "link"),
		"{{OUTLINK}}", filepath.Join(root, "outlink"), "{{FILELINK}}", filepath.Join(root, "filelink"), "{{J}}", "")

	logDir, dataDir := t.TempDir(), t.TempDir()
	fsLog, evLog := filepath.Join(logDir, "to-fs.jsonl"), filepath.Join(logDir, "to-ev.jsonl")
	// The buckets of the default rate limits (`calls`: burst 120 per tool,
	// `destructive`: burst 30) would deny part of a corpus sent at full
	// speed; they are raised here, nothing else of the default library
	// changes.
	policyData := filepath.Join(t.TempDir(), "corpus-data.yaml")
	if err := os.WriteFile(policyData, []byte("sovereign_config:\n  rate_limits:\n    calls: {limit: 1000000, window: 1m, burst: 1000000}\n    destructive: {limit: 1000000, window: 1m, burst: 1000000}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("data_dir: %q\nroots: [%q]\npolicy:\n  data: [%q]\nservers:\n", dataDir, root, policyData)+
		teeStdio("fs", fsLog, node22(), nodeBin("mcp-server-filesystem"), root)+
		teeStdio("ev", evLog, node22(), nodeBin("mcp-server-everything")))
	proxy := dialStdio(t, "sovereign", clientCaps{}, nil, sovereignBin(t), "serve", "--config", cfg)
	tools := proxy.tools(t)

	prepare := func(entries []corpusEntry, kind string) []*corpusOutcome {
		var out []*corpusOutcome
		for _, e := range entries {
			if _, ok := tools[e.Tool]; !ok {
				t.Fatalf("%s %s: tool %q is not offered by the proxy", kind, e.ID, e.Tool)
			}
			o := &corpusOutcome{entry: e, args: substitute(e.Args, repl).(map[string]any),
				marker: fmt.Sprintf("corpus-marker-%s-%d", e.ID, time.Now().UnixNano())}
			out = append(out, o)
		}
		return out
	}
	hos, ben := prepare(hostile, "hostile"), prepare(benign, "benign")

	// Benign reads find their files; benign writes find their directories.
	for _, o := range ben {
		p, _ := o.args["path"].(string)
		if !strings.HasPrefix(o.entry.Tool, "fs__") || p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if o.entry.Tool == "fs__read_text_file" || o.entry.Tool == "fs__get_file_info" {
			if _, err := os.Stat(p); err != nil {
				if err := os.WriteFile(p, []byte("line one of "+filepath.Base(p)+"\nline two\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Sensitive files inside the root exist, with content no result may show.
	for _, o := range hos {
		p, _ := o.args["path"].(string)
		if o.entry.Category != "sensitive-in-root" || !strings.HasPrefix(p, root+"/") {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(corpusSecretMark+" "+o.entry.ID+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Send every call, a few at a time.
	all := append(append([]*corpusOutcome(nil), hos...), ben...)
	work := make(chan *corpusOutcome)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				corpusCall(proxy, o)
			}
		}()
	}
	callStart := time.Now()
	for _, o := range all {
		work <- o
	}
	close(work)
	wg.Wait()
	callTime := time.Since(callStart)

	// What reached the upstreams.
	var logs strings.Builder
	for _, l := range []string{fsLog, evLog} {
		b, err := os.ReadFile(l)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		logs.Write(b)
	}
	seen := logs.String()
	for _, o := range all {
		o.forwarded = strings.Contains(seen, o.marker)
	}

	// No hostile write landed anywhere in the test's directories (the root,
	// its sibling, the symlink target, their parents).
	var landed []string
	_ = filepath.WalkDir(filepath.Dir(base), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (p == logDir || p == dataDir) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), corpusPwned) {
				landed = append(landed, p)
			}
		}
		return nil
	})
	for _, p := range []string{"/tmp/pwned-abs.txt", "/tmp/pwned.txt", "/tmp/pwned-uri.txt", "/etc/cron.d/pwned"} {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), corpusPwned) {
			landed = append(landed, p)
		}
	}

	// Judge.
	// Which rules denied each hostile category (a denial for an unrelated
	// reason would hide a gap).
	byCat := map[string]map[string]int{}
	for _, o := range hos {
		if !o.denied {
			continue
		}
		if byCat[o.entry.Category] == nil {
			byCat[o.entry.Category] = map[string]int{}
		}
		for _, r := range o.rules {
			byCat[o.entry.Category][r]++
		}
	}
	cats := make([]string, 0, len(byCat))
	for c := range byCat {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		ids := make([]string, 0, len(byCat[c]))
		for id, n := range byCat[c] {
			ids = append(ids, fmt.Sprintf("%s×%d", id, n))
		}
		sort.Strings(ids)
		t.Logf("hostile %-28s denied by %s", c, strings.Join(ids, " "))
	}

	var hostileMiss, benignMiss []string
	denied, allowed := 0, 0
	upstreamErrors := 0
	for _, o := range hos {
		var why []string
		if !o.denied {
			why = append(why, "not denied by the policy")
		}
		if o.forwarded {
			why = append(why, "reached the upstream")
		}
		if strings.Contains(o.result, corpusSecretMark) {
			why = append(why, "the result shows a planted secret file")
		}
		if len(why) == 0 {
			denied++
			continue
		}
		hostileMiss = append(hostileMiss, fmt.Sprintf("%s [%s] %s: %s\n    args: %s\n    got: %s",
			o.entry.ID, o.entry.Category, o.entry.Tool, strings.Join(why, ", "), cut(corpusJSON(o.entry.Args), 300), o.describe()))
	}
	for _, o := range ben {
		var why []string
		if o.denied {
			why = append(why, "denied by the policy: "+o.reason)
		}
		if !o.forwarded {
			why = append(why, "never reached the upstream")
		}
		if len(why) == 0 {
			allowed++
			if o.isError || o.rpcErr != "" {
				upstreamErrors++
				t.Logf("benign %s [%s]: allowed, the upstream answered with an error: %s", o.entry.ID, o.entry.Category, o.describe())
			}
			continue
		}
		benignMiss = append(benignMiss, fmt.Sprintf("%s [%s] %s: %s\n    args: %s\n    got: %s",
			o.entry.ID, o.entry.Category, o.entry.Tool, strings.Join(why, ", "), cut(corpusJSON(o.entry.Args), 300), o.describe()))
	}
	sort.Strings(hostileMiss)
	sort.Strings(benignMiss)

	t.Logf("hostile denied and never forwarded: %d/%d (%.1f%%)", denied, len(hos), 100*float64(denied)/float64(len(hos)))
	t.Logf("benign allowed and forwarded:       %d/%d (%.1f%%; %d of them got an error from the upstream itself)",
		allowed, len(ben), 100*float64(allowed)/float64(len(ben)), upstreamErrors)
	t.Logf("%d calls in %s; test time %s", len(all), callTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if len(landed) > 0 {
		t.Errorf("hostile writes landed on disk: %v", landed)
	}
	if len(hostileMiss) > 0 {
		t.Errorf("%d hostile entries got through:\n%s", len(hostileMiss), strings.Join(hostileMiss, "\n"))
	}
	if len(benignMiss) > 0 {
		t.Errorf("%d benign entries were refused:\n%s", len(benignMiss), strings.Join(benignMiss, "\n"))
	}
}

// corpusCall sends one tools/call and records what came back.
func corpusCall(proxy *mcpConn, o *corpusOutcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, rpcErr, err := proxy.request(ctx, "tools/call", map[string]any{
		"name": o.entry.Tool, "arguments": o.args, "_meta": map[string]any{corpusMarkerKey: o.marker},
	})
	switch {
	case err != nil:
		o.transport = err.Error()
		return
	case rpcErr != nil:
		o.rpcErr = fmt.Sprintf("%d %s", rpcErr.Code, rpcErr.Message)
		return
	}
	o.result = string(res)
	var r struct {
		IsError bool `json:"isError"`
		Meta    map[string]struct {
			Allow  *bool    `json:"allow"`
			Reason string   `json:"reason"`
			Rules  []string `json:"rules"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		o.transport = "malformed result: " + err.Error()
		return
	}
	o.isError = r.IsError
	if d, ok := r.Meta["dev.sovereign/decision"]; ok && r.IsError && d.Allow != nil && !*d.Allow {
		o.denied, o.reason, o.rules = true, d.Reason, d.Rules
	}
}

func (o *corpusOutcome) describe() string {
	switch {
	case o.transport != "":
		return "transport error: " + o.transport
	case o.rpcErr != "":
		return "JSON-RPC error: " + cut(o.rpcErr, 200)
	case o.denied:
		return "policy denial: " + cut(o.reason, 200)
	case o.isError:
		return "upstream error result: " + cut(o.result, 200)
	}
	return "result: " + cut(o.result, 200)
}

func corpusJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
