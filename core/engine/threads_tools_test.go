package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// threadIDShape is the id record_open_thread makes.
var threadIDShape = regexp.MustCompile(`^thread_\d{8}_\d{6}_[0-9a-f]{8}$`)

// rowsIn returns the number of rows of a table (or query) in e's database.
func rowsIn(t testing.TB, e *Engine, query string, args ...any) int {
	t.Helper()
	if !strings.HasPrefix(query, "SELECT") {
		query = "SELECT count(*) FROM " + query
	}
	var n int
	if err := e.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// recordThread records one open thread and returns it.
func recordThread(t testing.TB, e *Engine, c Caller, question, domain string) threadRecord {
	t.Helper()
	res := mustCall(t, e, c, "record_open_thread", fmt.Sprintf(`{"question":%q,"domain":%q}`, question, domain))
	var got struct{ Threads []threadRecord }
	dataOf(t, res, &got)
	if len(got.Threads) != 1 {
		t.Fatalf("record_open_thread %q made %d threads", question, len(got.Threads))
	}
	return got.Threads[0]
}

func TestThreadToolsRejectBadArguments(t *testing.T) {
	e, _ := newEngine(t)
	open := recordThread(t, e, alice, "Why is the WAL growing?", "sqlite")
	long := strings.Repeat("x", maxQuestionLen+1)
	cases := []struct {
		tool, args, field string
	}{
		{"record_open_thread", `{}`, "question"},
		{"record_open_thread", `{"question":"   "}`, "/question"},
		{"record_open_thread", `{"question":"` + long + `"}`, "/question"},
		{"record_open_thread", `{"question":"q","domain":"../../etc"}`, "/domain"},
		{"record_open_thread", `{"question":"q","domain":"a/b"}`, "/domain"},
		{"record_open_thread", `{"question":"q","domain":"A whole sentence as a domain"}`, "/domain"},
		{"record_open_thread", `{"question":"q","topic":"x"}`, "topic"},
		{"resolve_thread", `{"thread_id":"` + open.ID + `"}`, "resolution"},
		{"resolve_thread", `{"thread_id":"../x","resolution":"r"}`, "/thread_id"},
		{"resolve_thread", `{"thread_id":"` + open.ID + `","question_fragment":"WAL","domain":"sqlite","resolution":"r"}`, "/thread_id"},
		{"resolve_thread", `{"question_fragment":"WAL","resolution":"r"}`, "/domain"},
		{"resolve_thread", `{"domain":"sqlite","resolution":"r"}`, "/question_fragment"},
		{"resolve_thread", `{"domain":"../sqlite","question_fragment":"WAL","resolution":"r"}`, "/domain"},
		{"resolve_thread_by_id", `{"resolution":"r"}`, "thread_id"},
		{"get_open_threads", `{"limit":0}`, "/limit"},
		{"get_open_threads", `{"limit":201}`, "/limit"},
		{"get_open_threads", `{"offset":-1}`, "/offset"},
		{"get_open_threads", `{"domain":"x/../y"}`, "/domain"},
		{"thread_touch", `{"thread_id":"` + open.ID + `"}`, "note"},
		{"thread_touch", `{"thread_id":"` + open.ID + `","note":"` + strings.Repeat("n", maxTouchNoteLen+1) + `"}`, "/note"},
		{"thread_get_touches", `{}`, "thread_id"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.field, func(t *testing.T) {
			_, err := call(t, e, alice, tc.tool, tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	if n := rowsIn(t, e, "open_threads"); n != 1 {
		t.Errorf("%d threads stored, want only the first", n)
	}
	if n := rowsIn(t, e, "insights"); n != 0 {
		t.Errorf("%d insights stored by rejected calls", n)
	}
	if n := rowsIn(t, e, "thread_touches"); n != 0 {
		t.Errorf("%d touches stored by rejected calls", n)
	}
}

// B2: a domain was a path component; "../" escaped the chronicle.
func TestOpenThreadDomainTraversalWritesNothing(t *testing.T) {
	e, _ := newEngine(t)
	for _, d := range []string{"../../outside", "..", "a/../../b", `..\win`} {
		_, err := call(t, e, alice, "record_open_thread", fmt.Sprintf(`{"question":"q","domain":%q}`, d))
		wantError(t, err, CategoryValidation, "/domain")
	}
	if n := rowsIn(t, e, "open_threads"); n != 0 {
		t.Fatalf("%d threads stored", n)
	}
	entries, err := os.ReadDir(e.opts.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name() != Dir {
			t.Errorf("data root holds %q besides %s/", en.Name(), Dir)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.opts.DataDir), "outside")); err == nil {
		t.Error("a file appeared outside the data root")
	}
}

func TestRecordOpenThreadIDsAndUTC(t *testing.T) {
	e, clock := newEngine(t)
	clock.t = time.Date(2026, 3, 1, 23, 30, 15, 0, time.FixedZone("UTC-5", -5*3600))
	a := recordThread(t, e, alice, "Does fsync order matter?", "Storage, Durability")
	if !threadIDShape.MatchString(a.ID) {
		t.Fatalf("id %q is not thread_<YYYYMMDD_HHMMSS>_<8 hex>", a.ID)
	}
	if !strings.HasPrefix(a.ID, "thread_20260302_043015_") {
		t.Errorf("id %q does not carry the UTC time 2026-03-02 04:30:15", a.ID)
	}
	if a.Timestamp != "2026-03-02T04:30:15.000000Z" {
		t.Errorf("timestamp %q, want UTC 2026-03-02T04:30:15.000000Z", a.Timestamp)
	}
	if a.Domain != "storage,durability" || a.Layer != LayerOpenThread || a.Resolved || a.SessionID != alice.Session {
		t.Errorf("record %+v", a)
	}
	// The same question, same session, same instant: another thread, another id.
	b := recordThread(t, e, alice, "Does fsync order matter?", "storage,durability")
	bob := recordThread(t, e, Caller{Session: "bob"}, "Does fsync order matter?", "storage,durability")
	if a.ID == b.ID || a.ID == bob.ID || b.ID == bob.ID {
		t.Fatalf("ids collide: %s %s %s", a.ID, b.ID, bob.ID)
	}
	if n := rowsIn(t, e, "open_threads"); n != 3 {
		t.Fatalf("%d threads, want 3", n)
	}
}

func TestSplitQuestion(t *testing.T) {
	cases := []struct {
		name, q, preamble string
		parts             []string
	}{
		{"plain", "Why does the index grow?", "", []string{"Why does the index grow?"}},
		{"two parts", "(1) Why does it grow? (2) When does it shrink?", "", []string{"Why does it grow?", "When does it shrink?"}},
		{"preamble and three", "Open on storage: (1) Is WAL needed. (2) Is FULL sync needed; (3) what page size",
			"Open on storage:", []string{"Is WAL needed.", "Is FULL sync needed;", "what page size"}},
		{"no sentence break", "Choose between (1) fast and (2) safe", "", []string{"Choose between (1) fast and (2) safe"}},
		{"only one marker", "(1) Why is it slow?", "", []string{"(1) Why is it slow?"}},
		{"out of order", "(2) Why? (1) How?", "", []string{"(2) Why? (1) How?"}},
		{"gap skips", "(1) Why? (3) How?", "", []string{"(1) Why? (3) How?"}},
		{"empty part", "(1) (2) How?", "", []string{"(1) (2) How?"}},
		{"not glued", "f(1) g(2) h", "", []string{"f(1) g(2) h"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pre, parts := splitQuestion(tc.q)
			if pre != tc.preamble || strings.Join(parts, "|") != strings.Join(tc.parts, "|") {
				t.Errorf("splitQuestion(%q) = %q, %q; want %q, %q", tc.q, pre, parts, tc.preamble, tc.parts)
			}
		})
	}
}

func TestRecordOpenThreadSplitsNumberedParts(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "record_open_thread",
		`{"question":"Two things about backups: (1) Are they encrypted? (2) Who can restore them?","context":"audit","domain":"ops"}`)
	var got struct {
		Threads []threadRecord
		Split   bool
	}
	dataOf(t, res, &got)
	if !got.Split || len(got.Threads) != 2 {
		t.Fatalf("got %+v, want two threads", got)
	}
	if got.Threads[0].Question != "Are they encrypted?" || got.Threads[1].Question != "Who can restore them?" {
		t.Errorf("questions %q, %q", got.Threads[0].Question, got.Threads[1].Question)
	}
	if got.Threads[0].Context != "Two things about backups:\naudit" {
		t.Errorf("context %q keeps neither the preamble nor the given context", got.Threads[0].Context)
	}
	if got.Threads[0].ID == got.Threads[1].ID {
		t.Error("parts share an id")
	}
	if !strings.Contains(res.Text, got.Threads[1].ID) {
		t.Errorf("text does not list the parts: %s", res.Text)
	}
	var list struct{ Threads []threadRecord }
	dataOf(t, mustCall(t, e, alice, "get_open_threads", `{}`), &list)
	if len(list.Threads) != 2 || list.Threads[0].ID != got.Threads[0].ID {
		t.Errorf("parts are not listed in their order: %+v", list.Threads)
	}
}

// resolved reads a thread straight from the database.
func resolvedThread(t testing.TB, e *Engine, id string) threadRecord {
	t.Helper()
	th, err := threadByID(context.Background(), e.db, id)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestResolveThreadByFragment(t *testing.T) {
	e, clock := newEngine(t)
	th := recordThread(t, e, alice, "Why does the Überblick page load slowly?", "go,web")
	other := recordThread(t, e, alice, "Is the cache warm?", "go,web")
	clock.advance(time.Hour)
	bob := Caller{Session: "bob", Principal: "user:bob"}
	// Case-blind, Unicode, matched by one of the domain's tags.
	res := mustCall(t, e, bob, "resolve_thread", `{"domain":"web","question_fragment":"ÜBERBLICK PAGE","resolution":"N+1 queries in the template"}`)
	var got struct {
		Thread  threadRecord
		Insight insightRecord
	}
	dataOf(t, res, &got)
	if got.Thread.ID != th.ID || !got.Thread.Resolved || got.Thread.ResolvedBy != "bob" || got.Thread.ResolvedAt != formatTS(clock.now()) {
		t.Fatalf("thread %+v", got.Thread)
	}
	stored := resolvedThread(t, e, th.ID)
	if !stored.Resolved || stored.Resolution != "N+1 queries in the template" || stored.ResolutionInsight != got.Insight.ID {
		t.Fatalf("stored %+v", stored)
	}
	ins := got.Insight
	if ins.Layer != LayerGroundTruth || ins.Intensity != 0.8 || ins.Domain != "go,web" || ins.Content != "N+1 queries in the template" || ins.SessionID != "bob" {
		t.Errorf("insight %+v", ins)
	}
	if ins.Extra["resolved_from"] != th.Question || ins.Extra["resolved_thread_id"] != th.ID || ins.Extra["resolved_thread_timestamp"] != th.Timestamp {
		t.Errorf("insight extra %v", ins.Extra)
	}
	if n := rowsIn(t, e, "insights"); n != 1 {
		t.Errorf("%d insights, want 1", n)
	}
	// The resolved thread is gone from the open list; the other is not.
	res = mustCall(t, e, alice, "get_open_threads", `{}`)
	var list struct{ Threads []threadRecord }
	dataOf(t, res, &list)
	if len(list.Threads) != 1 || list.Threads[0].ID != other.ID {
		t.Errorf("open threads %+v, want only %s", list.Threads, other.ID)
	}
}

// B13: resolve_thread wrote a ground_truth even when no thread matched.
func TestResolveThreadNoMatchWritesNothing(t *testing.T) {
	e, _ := newEngine(t)
	recordThread(t, e, alice, "Why is the WAL growing?", "sqlite")
	for _, args := range []string{
		`{"domain":"sqlite","question_fragment":"checkpoint","resolution":"r"}`,
		`{"domain":"postgres","question_fragment":"WAL","resolution":"r"}`,
		`{"thread_id":"thread_20260101_000000_deadbeef","resolution":"r"}`,
	} {
		_, err := call(t, e, alice, "resolve_thread", args)
		wantError(t, err, CategoryNotFound)
		if strings.Contains(err.Msg, "recorded as") {
			t.Errorf("error reads like success: %s", err.Msg)
		}
	}
	_, err := call(t, e, alice, "resolve_thread_by_id", `{"thread_id":"thread_20260101_000000_deadbeef","resolution":"r"}`)
	wantError(t, err, CategoryNotFound, "thread_20260101_000000_deadbeef")
	if n := rowsIn(t, e, "insights"); n != 0 {
		t.Fatalf("%d insights written for a miss", n)
	}
	if n := rowsIn(t, e, "SELECT count(*) FROM open_threads WHERE resolved_at IS NOT NULL"); n != 0 {
		t.Fatalf("%d threads resolved by a miss", n)
	}
}

func TestResolveThreadAmbiguousOrResolvedIsConflict(t *testing.T) {
	e, _ := newEngine(t)
	a := recordThread(t, e, alice, "Why is the WAL growing on laptops?", "sqlite")
	b := recordThread(t, e, alice, "Why is the WAL growing on servers?", "sqlite")
	_, err := call(t, e, alice, "resolve_thread", `{"domain":"sqlite","question_fragment":"wal growing","resolution":"r"}`)
	wantError(t, err, CategoryConflict, a.ID, b.ID, "thread_id")
	if n := rowsIn(t, e, "insights"); n != 0 {
		t.Fatalf("ambiguous fragment wrote %d insights", n)
	}
	// A longer fragment picks one; resolving it again is a conflict.
	mustCall(t, e, alice, "resolve_thread", `{"domain":"sqlite","question_fragment":"on servers","resolution":"checkpoint starvation"}`)
	_, err = call(t, e, alice, "resolve_thread_by_id", fmt.Sprintf(`{"thread_id":%q,"resolution":"again"}`, b.ID))
	wantError(t, err, CategoryConflict, "resolved already")
	// The fragment now matches only the open one.
	mustCall(t, e, alice, "resolve_thread", `{"domain":"sqlite","question_fragment":"wal growing","resolution":"long readers"}`)
	if !resolvedThread(t, e, a.ID).Resolved {
		t.Error("the remaining match was not resolved")
	}
	_, err = call(t, e, alice, "resolve_thread", `{"domain":"sqlite","question_fragment":"wal growing","resolution":"r"}`)
	wantError(t, err, CategoryNotFound)
	if n := rowsIn(t, e, "insights"); n != 2 {
		t.Fatalf("%d insights, want 2", n)
	}
}

// B10: resolve rewrote the thread file and recorded the insight separately;
// a failure between them left one without the other.
func TestResolveThreadIsAtomic(t *testing.T) {
	for _, tc := range []struct{ name, trigger string }{
		{"thread update fails", `CREATE TRIGGER boom BEFORE UPDATE ON open_threads BEGIN SELECT RAISE(ABORT, 'boom'); END`},
		{"insight insert fails", `CREATE TRIGGER boom BEFORE INSERT ON insights BEGIN SELECT RAISE(ABORT, 'boom'); END`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newEngine(t)
			th := recordThread(t, e, alice, "Why is the WAL growing?", "sqlite")
			if _, err := e.db.Exec(tc.trigger); err != nil {
				t.Fatal(err)
			}
			_, err := call(t, e, alice, "resolve_thread_by_id", fmt.Sprintf(`{"thread_id":%q,"resolution":"r"}`, th.ID))
			wantError(t, err, CategoryInternal)
			if resolvedThread(t, e, th.ID).Resolved {
				t.Error("thread resolved without its insight")
			}
			if n := rowsIn(t, e, "insights"); n != 0 {
				t.Errorf("insight stored for an unresolved thread")
			}
		})
	}
}

func TestGetOpenThreadsFiltersAndPages(t *testing.T) {
	e, clock := newEngine(t)
	var ids []string
	for i, d := range []string{"go,testing", "go", "python", "go-web", "testing"} {
		ids = append(ids, recordThread(t, e, alice, fmt.Sprintf("question %d", i), d).ID)
		clock.advance(time.Hour)
	}
	mustCall(t, e, alice, "thread_touch", fmt.Sprintf(`{"thread_id":%q,"note":"looked"}`, ids[0]))
	clock.advance(time.Minute)
	mustCall(t, e, alice, "thread_touch", fmt.Sprintf(`{"thread_id":%q,"note":"again"}`, ids[0]))
	list := func(args string) (out struct {
		Threads []threadRecord
		Total   *int
		HasMore bool `json:"has_more"`
	}) {
		t.Helper()
		dataOf(t, mustCall(t, e, alice, "get_open_threads", args), &out)
		return out
	}
	idsOf := func(ts []threadRecord) string {
		var s []string
		for _, th := range ts {
			s = append(s, th.ID)
		}
		return strings.Join(s, ",")
	}
	all := list(`{"with_total":true}`)
	if idsOf(all.Threads) != strings.Join([]string{ids[4], ids[3], ids[2], ids[1], ids[0]}, ",") || all.Total == nil || *all.Total != 5 || all.HasMore {
		t.Fatalf("all: %s total %v more %v", idsOf(all.Threads), all.Total, all.HasMore)
	}
	if th := all.Threads[4]; th.TouchCount != 2 || th.LastTouchedAt != formatTS(clock.now()) {
		t.Errorf("touch summary %d %q", th.TouchCount, th.LastTouchedAt)
	}
	if got := list(`{"domain":"go"}`); idsOf(got.Threads) != ids[1]+","+ids[0] {
		t.Errorf("domain go: %s (a tag matches, go-web does not)", idsOf(got.Threads))
	}
	if got := list(`{"domain":"Go, Testing"}`); idsOf(got.Threads) != ids[0] {
		t.Errorf("domain go,testing: %s", idsOf(got.Threads))
	}
	if got := list(`{"domain_contains":"GO"}`); len(got.Threads) != 3 {
		t.Errorf("domain_contains go: %s", idsOf(got.Threads))
	}
	page := list(`{"limit":2,"offset":2,"with_total":true}`)
	if idsOf(page.Threads) != ids[2]+","+ids[1] || !page.HasMore || *page.Total != 5 {
		t.Errorf("page: %s more %v", idsOf(page.Threads), page.HasMore)
	}
	if got := list(`{"limit":2,"offset":4}`); idsOf(got.Threads) != ids[0] || got.HasMore {
		t.Errorf("last page: %s more %v", idsOf(got.Threads), got.HasMore)
	}
	res := mustCall(t, e, alice, "get_open_threads", `{"coalesce_families":true}`)
	if !strings.Contains(fmt.Sprint(res.Data), "not kept") {
		t.Error("coalesce_families=true is silently ignored")
	}
}

func TestThreadTouchAndTouches(t *testing.T) {
	e, clock := newEngine(t)
	th := recordThread(t, e, alice, "Is the cache warm?", "web")
	for i := range 3 {
		mustCall(t, e, alice, "thread_touch", fmt.Sprintf(`{"thread_id":%q,"note":"note %d","instance_id":"claude-a"}`, th.ID, i))
		clock.advance(time.Second)
	}
	res := mustCall(t, e, alice, "thread_get_touches", fmt.Sprintf(`{"thread_id":%q,"limit":2,"offset":1}`, th.ID))
	var got struct {
		Count   int
		Touches []touchRecord
	}
	dataOf(t, res, &got)
	if got.Count != 3 || len(got.Touches) != 2 || got.Touches[0].Note != "note 1" || got.Touches[1].InstanceID != "claude-a" || got.Touches[1].SessionID != alice.Session {
		t.Fatalf("touches %+v", got)
	}
	_, err := call(t, e, alice, "thread_touch", `{"thread_id":"thread_20260101_000000_deadbeef","note":"n"}`)
	wantError(t, err, CategoryNotFound)
	_, err = call(t, e, alice, "thread_get_touches", `{"thread_id":"thread_20260101_000000_deadbeef"}`)
	wantError(t, err, CategoryNotFound)
	mustCall(t, e, alice, "resolve_thread_by_id", fmt.Sprintf(`{"thread_id":%q,"resolution":"yes"}`, th.ID))
	_, err = call(t, e, alice, "thread_touch", fmt.Sprintf(`{"thread_id":%q,"note":"late"}`, th.ID))
	wantError(t, err, CategoryConflict, "resolved")
	if n := rowsIn(t, e, "thread_touches"); n != 3 {
		t.Errorf("%d touches, want 3", n)
	}
	// A resolved thread's touches stay readable.
	mustCall(t, e, alice, "thread_get_touches", fmt.Sprintf(`{"thread_id":%q}`, th.ID))
}

func TestThreadAndHandoffToolDeclarations(t *testing.T) {
	e, _ := newEngine(t)
	want := map[string]struct {
		effect Effect
		tier   Tier
		intent string
	}{
		"record_open_thread":       {EffectAppend, TierEssential, "write"},
		"resolve_thread":           {EffectMutate, TierCore, "write"},
		"resolve_thread_by_id":     {EffectMutate, TierAdvanced, "write"},
		"get_open_threads":         {EffectRead, TierEssential, "read"},
		"thread_touch":             {EffectAppend, TierCore, "write"},
		"thread_get_touches":       {EffectRead, TierAdvanced, "read"},
		"handoff":                  {EffectAppend, TierEssential, "handoff"},
		"where_did_i_leave_off":    {EffectMutate, TierEssential, "orient"},
		"handoff_acted_on":         {EffectAppend, TierCore, "handoff"},
		"handoff_acted_on_records": {EffectRead, TierAdvanced, "handoff"},
	}
	for name, w := range want {
		tool, ok := e.Registry().Tool(name)
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if tool.Effect != w.effect || tool.Tier != w.tier || tool.Intent != w.intent || tool.Destructive {
			t.Errorf("%s: effect %s tier %s intent %s destructive %v; want %+v", name, tool.Effect, tool.Tier, tool.Intent, tool.Destructive, w)
		}
	}
}
