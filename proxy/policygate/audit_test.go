package policygate

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/core/audit"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/proxy"
)

// fakeLog records entries and fails durable appends when told to.
type fakeLog struct {
	mu      sync.Mutex
	durable []audit.Entry
	queued  []audit.Entry
	fail    error
}

func (f *fakeLog) Append(_ context.Context, e audit.Entry) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	f.durable = append(f.durable, e)
	return uint64(len(f.durable)), nil
}

func (f *fakeLog) AppendAsync(e audit.Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued = append(f.queued, e)
}

// line encodes an entry as the log would, so a test sees what lands on disk.
func line(t *testing.T, e audit.Entry) string {
	t.Helper()
	b, err := audit.EncodeRecord(nil, "test", 0, audit.Hash{}, e)
	if err != nil {
		t.Fatalf("entry cannot be recorded: %v", err)
	}
	return string(b)
}

func TestDecisionsAreRecorded(t *testing.T) {
	t.Parallel()
	allow := policy.Decision{Allow: true, Enforced: true, Mode: "enforce", Revision: "r1",
		Obligations: []policy.Obligation{{"type": "audit", "weight": 0.5, "count": 600.0}}}
	deny := policy.Decision{Allow: false, Enforced: true, Mode: "enforce", Revision: "r1", Reasons: []policy.Reason{{ID: "PATH-002", Msg: "outside"}}}
	for _, tc := range []struct {
		name             string
		req              *proxy.Request
		d                policy.Decision
		fail             error
		allow            bool
		durable, queued  int
		want, wantAbsent []string
	}{
		{"allowed call: durable before forwarding", callRequest(`{"path":"/home/alice/x"}`), allow, nil, true, 1, 0,
			[]string{`"kind":"decision"`, `"phase":"call"`, `"allow":true`, `"revision":"r1"`, `"args_digest":"sha256:`,
				`"tool":{"annotations":{"destructiveHint":true,"readOnlyHint":false},"effect":"destructive","effect_source":"annotations","name":"fs__write_file","upstream_name":"write_file"}`,
				`"obligations":[{"count":600,"type":"audit","weight":"0.5"}]`},
			[]string{"/home/alice/x"}},
		{"denied call: queued", callRequest(`{}`), deny, nil, false, 0, 1,
			[]string{`"allow":false`, `"reasons":[{"id":"PATH-002","msg_hmac":"` + audit.HashValue([]byte("k"), "outside") + `"}]`, `"rules":["PATH-002"]`},
			[]string{`"outside"`}},
		{"unwritable log denies the call, and queues the denial", callRequest(`{}`), allow, errors.New("disk full"), false, 0, 1,
			[]string{`"allow":false`, `"gate_reason":"GATE-AUDIT"`}, nil},
		{"list phase: queued", &proxy.Request{Phase: proxy.PhaseList, Method: "tools/list", Name: "fs__x", Server: "fs"}, allow, nil, true, 0, 1,
			[]string{`"phase":"list"`}, nil},
		{"plumbing: not recorded", &proxy.Request{Phase: proxy.PhaseCall, Method: "ping"}, allow, nil, true, 0, 0, nil, nil},
		{"unknown method: recorded with the gate's reason", &proxy.Request{Phase: proxy.PhaseCall, Method: "tasks/list"}, allow, nil, false, 0, 1,
			[]string{`"gate_reason":"GATE-METHOD"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log := &fakeLog{fail: tc.fail}
			d := New(Options{Engine: &fakeEngine{d: tc.d}, Audit: log, AuditKey: []byte("k")}).Decide(context.Background(), tc.req)
			if d.Allow != tc.allow || len(log.durable) != tc.durable || len(log.queued) != tc.queued {
				t.Fatalf("decision %+v; %d durable, %d queued records", d, len(log.durable), len(log.queued))
			}
			if tc.fail != nil && (d.Rules[0] != ReasonAudit || !strings.Contains(d.Reason, "disk full")) {
				t.Fatalf("deny %+v, want %s", d, ReasonAudit)
			}
			for _, e := range append(log.durable, log.queued...) {
				l := line(t, e)
				if !strings.Contains(l, `"decision_id":"`+d.ID+`"`) {
					t.Errorf("record lacks the decision id: %s", l)
				}
				for _, w := range tc.want {
					if !strings.Contains(l, w) {
						t.Errorf("record lacks %s:\n%s", w, l)
					}
				}
				for _, w := range tc.wantAbsent {
					if strings.Contains(l, w) {
						t.Errorf("record shows %s:\n%s", w, l)
					}
				}
			}
		})
	}
}

func TestAuditObligationKeepsARedactedCopy(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	d := policy.Decision{Allow: true, Enforced: true, Obligations: []policy.Obligation{{"type": "audit", "redacted_args": true}}}
	New(Options{Engine: &fakeEngine{d: d}, Audit: log, AuditKey: []byte("k")}).Decide(context.Background(), callRequest(`{"path":"/home/alice/secret.txt"}`))
	l := line(t, log.durable[0])
	if !strings.Contains(l, `"args_redacted":{"path":"`+audit.HashValue([]byte("k"), "/home/alice/secret.txt")+`"}`) || strings.Contains(l, "secret.txt") {
		t.Fatalf("record %s", l)
	}
}

func TestOutcomesAreQueued(t *testing.T) {
	t.Parallel()
	log := &fakeLog{}
	g := New(Options{Engine: &fakeEngine{d: policy.Decision{Allow: true, Enforced: true}}, Audit: log})
	g.RecordOutcome(context.Background(), callRequest(`{}`), proxy.Decision{ID: "d1"},
		proxy.Outcome{Status: proxy.OutcomeRedacted, Result: []byte(`{"content":[]}`), Duration: 1500 * time.Microsecond, ResultDecision: "d2"})
	if len(log.queued) != 1 {
		t.Fatalf("queued %d", len(log.queued))
	}
	l := line(t, log.queued[0])
	for _, w := range []string{`"kind":"outcome"`, `"decision_id":"d1"`, `"result_decision_id":"d2"`, `"status":"redacted"`, `"duration_us":1500`, `"result_digest":"sha256:`} {
		if !strings.Contains(l, w) {
			t.Errorf("outcome lacks %s: %s", w, l)
		}
	}
}
