package policygate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy"
)

// replayFacts are fact functions shaped like pathfact's and textfact's,
// carrying argument text in the fields that hold it, for arguments with a
// "content".
var replayFacts = []FactFunc{
	func(c Call, facts map[string]any) {
		if !hasContent(c) {
			return
		}
		facts["paths"] = []any{map[string]any{"pointer": "/path", "raw": "~/work/raw-form.txt", "canonical": "/home/alice/work/out.txt",
			"within_roots": true, "root": "/home/alice/work", "traversal": false, "sensitive": false, "exists": false, "writable": true}}
	},
	func(c Call, facts map[string]any) {
		if !hasContent(c) {
			return
		}
		facts["strings"] = []any{
			map[string]any{"pointer": "/content", "name": "content", "len": 22, "truncated": false, "kind": "text",
				"normalized": "token=sk-live-SECRET123", "variants": []string{"sk-live-SECRET123-decoded"}, "signals": []string{"base64"}},
			map[string]any{"pointer": "/url", "name": "url", "len": 30, "truncated": false, "kind": "url", "normalized": "http://secret-host.internal:8080/x",
				"url": map[string]any{"scheme": "http", "host": "secret-host.internal", "port": "8080", "ip": "10.1.2.3", "private": true, "loopback": false}},
			map[string]any{"pointer": "/empty", "name": "empty", "len": 0, "truncated": false, "kind": "text", "normalized": ""},
		}
		facts["strings_omitted"] = 0
		facts["strings_incomplete"] = false
	},
}

func hasContent(c Call) bool {
	m, _ := c.Args.(map[string]any)
	_, ok := m["content"]
	return ok
}

// recordOf runs req through a gate with the replay facts and returns the
// decision record as written and as audit.Record decodes it, and the input
// the policy saw.
func recordOf(t *testing.T, d policy.Decision, req *proxy.Request) (string, map[string]any, map[string]any) {
	t.Helper()
	log, eng := &fakeLog{}, &fakeEngine{d: d}
	New(Options{Engine: eng, Audit: log, AuditKey: []byte("k"), Roots: []string{"/home/alice/work"}, Home: "/home/alice", Facts: replayFacts}).
		Decide(context.Background(), req)
	entries := append(log.durable, log.queued...)
	if len(entries) != 1 {
		t.Fatalf("%d records", len(entries))
	}
	l := line(t, entries[0])
	dec := json.NewDecoder(strings.NewReader(l))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		t.Fatal(err)
	}
	var in map[string]any
	if len(eng.inputs) > 0 {
		in = eng.inputs[0]
	}
	return l, fields, in
}

// TestDecisionRecordKeepsTheReplayFields: the record holds what a replay
// needs (call count, transport, annotations, facts) and no argument text
// but the paths.
func TestDecisionRecordKeepsTheReplayFields(t *testing.T) {
	t.Parallel()
	allow := policy.Decision{Allow: true, Enforced: true, Mode: "enforce", Revision: "r1"}
	redacted := policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{{"type": "audit", "redacted_args": true}}}
	args := `{"path":"~/work/raw-form.txt","content":"token=sk-live-SECRET123","url":"http://secret-host.internal:8080/x","empty":""}`
	k := []byte("k")
	for _, tc := range []struct {
		name       string
		d          policy.Decision
		want       []string
		wantAbsent []string
	}{
		{"digest only", allow,
			[]string{`"call_count":3`, `"transport":"stdio"`,
				`"tool":{"annotations":{"destructiveHint":true,"readOnlyHint":false},"effect":"destructive"`,
				`"canonical":"/home/alice/work/out.txt"`, `"root":"/home/alice/work"`, `"raw_hmac":"` + audit.HashValue(k, "~/work/raw-form.txt") + `"`,
				`"normalized_hmac":"` + audit.HashValue(k, "token=sk-live-SECRET123") + `"`,
				`"variants_hmac":["` + audit.HashValue(k, "sk-live-SECRET123-decoded") + `"]`,
				`"host_hmac":"` + audit.HashValue(k, "secret-host.internal") + `"`, `"ip_hmac":"`, `"port":"8080"`, `"private":true`,
				`"normalized":""`, `"signals":["base64"]`, `"kind":"url"`, `"len":22`,
				`"roots":["/home/alice/work"]`, `"home":"/home/alice"`, `"strings_omitted":0`, `"strings_incomplete":false`},
			[]string{"SECRET123", "secret-host", "10.1.2.3", "raw-form", `"args_redacted"`, `"normalized":"`}},
		{"redacted copy asked for", redacted,
			[]string{`"args_redacted":{`, `"canonical":"/home/alice/work/out.txt"`},
			[]string{"SECRET123", "secret-host", "raw-form"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, _, _ := recordOf(t, tc.d, callRequest(args))
			for _, w := range tc.want {
				if !strings.Contains(l, w) {
					t.Errorf("record lacks %s:\n%s", w, l)
				}
			}
			for _, w := range tc.wantAbsent {
				// "normalized":"" is the empty string's, kept in clear.
				if w == `"normalized":"` {
					if strings.Count(l, w) != strings.Count(l, `"normalized":""`) {
						t.Errorf("record shows a normalized text:\n%s", l)
					}
					continue
				}
				if strings.Contains(l, w) {
					t.Errorf("record shows %s:\n%s", w, l)
				}
			}
		})
	}
}

// normalize is v as JSON decodes it, numbers as json.Number.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReplayInputRebuildsTheInput: the input rebuilt from a record is the
// one the policy saw, less what the record does not keep in clear, which
// the limits name.
func TestReplayInputRebuildsTheInput(t *testing.T) {
	t.Parallel()
	allow := policy.Decision{Allow: true, Enforced: true, Mode: "enforce", Revision: "r1"}
	args := `{"path":"~/work/raw-form.txt","content":"token=sk-live-SECRET123","url":"http://secret-host.internal:8080/x","empty":""}`
	resource := &proxy.Request{Phase: proxy.PhaseCall, Method: "resources/read", SessionID: "s1", CallCount: 1, Server: "fs", Transport: "stdio",
		URI: "fs://notes", Original: "file:///home/alice/work/notes.md"}
	list := &proxy.Request{Phase: proxy.PhaseList, Method: "tools/list", SessionID: "s1", Server: "fs", Transport: "http",
		Name: "fs__read_file", Original: "read_file", Annotations: json.RawMessage(`{"readOnlyHint":true,"x":1.5}`)}
	for _, tc := range []struct {
		name   string
		req    *proxy.Request
		limits []string
		// strip removes from the policy's input what the record does not
		// keep in clear.
		strip func(in map[string]any)
	}{
		{"call with secrets", callRequest(args), []string{LimitArguments, LimitStrings}, func(in map[string]any) {
			delete(in, "args")
			facts := in["facts"].(map[string]any)
			delete(facts["paths"].([]any)[0].(map[string]any), "raw")
			for _, s := range facts["strings"].([]any) {
				s := s.(map[string]any)
				if s["normalized"] != "" {
					delete(s, "normalized")
				}
				delete(s, "variants")
				if u, ok := s["url"].(map[string]any); ok {
					delete(u, "host")
					delete(u, "ip")
				}
			}
		}},
		{"call without arguments: nothing is missing", callRequest(`{}`), nil, func(map[string]any) {}},
		{"resource read: its URI is the argument", resource, nil, func(map[string]any) {}},
		{"list phase", list, nil, func(in map[string]any) {
			// Annotations keep integers; other numbers become text.
			in["tool"].(map[string]any)["annotations"].(map[string]any)["x"] = "1.5"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, fields, in := recordOf(t, allow, tc.req)
			got, limits, err := ReplayInput(fields)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(limits, tc.limits) {
				t.Errorf("limits %q, want %q", limits, tc.limits)
			}
			want := normalize(t, in).(map[string]any)
			tc.strip(want)
			if g := normalize(t, got); !reflect.DeepEqual(g, want) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(want)
				t.Errorf("replayed input\n%s\nwant\n%s", gj, wj)
			}
		})
	}
}

func TestReplayInputRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"the proxy decided alone", map[string]any{"phase": "call", "gate_reason": "GATE-METHOD", "allow": false}, "GATE-METHOD"},
		{"no policy decision", map[string]any{"phase": "call", "allow": true}, "no policy decision"},
		{"older record", map[string]any{"phase": "call", "policy_allow": true}, "predates"},
		{"unknown phase", map[string]any{"phase": "later", "policy_allow": true, "facts": map[string]any{}}, "unknown phase"},
	} {
		_, _, err := ReplayInput(tc.fields)
		if !errors.Is(err, ErrNotReplayable) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotReplayable naming %q", tc.name, err, tc.want)
		}
	}
	// A govern check is replayed as the call it asked about.
	in, _, err := ReplayInput(map[string]any{"phase": PhaseGovern, "method": "tools/call", "policy_allow": true, "facts": map[string]any{}})
	if err != nil || in["phase"] != proxy.PhaseCall {
		t.Errorf("govern: %v %v", in, err)
	}
}
