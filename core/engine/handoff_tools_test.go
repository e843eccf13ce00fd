package engine

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var handoffIDShape = regexp.MustCompile(`^ho_\d{8}T\d{6}_[0-9a-f]{8}$`)

// leaveHandoff records a handoff by c and returns it.
func leaveHandoff(t testing.TB, e *Engine, c Caller, note, thread string) handoffRecord {
	t.Helper()
	var h handoffRecord
	dataOf(t, mustCall(t, e, c, "handoff", fmt.Sprintf(`{"note":%q,"thread":%q,"source_instance":"claude-x"}`, note, thread)), &h)
	return h
}

// leftOffBriefing is where_did_i_leave_off's data.
type leftOffBriefing struct {
	Sections []struct {
		Title string
		Data  any
		Error string
	}
	Consumed []string
	Session  string
}

func leftOff(t testing.TB, e *Engine, c Caller, args string) (leftOffBriefing, string) {
	t.Helper()
	res := mustCall(t, e, c, "where_did_i_leave_off", args)
	var b leftOffBriefing
	dataOf(t, res, &b)
	return b, res.Text
}

// waitingIDs are the ids of the handoffs a briefing shows waiting.
func (b leftOffBriefing) waitingIDs(t testing.TB) []string {
	t.Helper()
	for _, s := range b.Sections {
		if !strings.HasPrefix(s.Title, "Handoffs waiting") {
			continue
		}
		var ids []string
		for _, h := range s.Data.([]any) {
			ids = append(ids, h.(map[string]any)["id"].(string))
		}
		sort.Strings(ids)
		return ids
	}
	t.Fatalf("no handoff section in %+v", b)
	return nil
}

func TestHandoffToolsRejectBadArguments(t *testing.T) {
	e, _ := newEngine(t)
	h := leaveHandoff(t, e, alice, "pick up the migration", "general")
	big := strings.Repeat("é", 1100) // 1100 characters, 2200 bytes
	cases := []struct {
		tool, args, field string
	}{
		{"handoff", `{}`, "note"},
		{"handoff", `{"note":"  "}`, "/note"},
		{"handoff", `{"note":"` + big + `"}`, "/note"},
		{"handoff", `{"note":"` + strings.Repeat("a", 2049) + `"}`, "/note"},
		{"handoff", `{"note":"n","thread":"../../etc"}`, "/thread"},
		{"handoff", `{"note":"n","source_instance":"` + strings.Repeat("i", 129) + `"}`, "/source_instance"},
		{"where_did_i_leave_off", `{"consume":"yes"}`, "/consume"},
		{"where_did_i_leave_off", `{"thread":"a/b"}`, "/thread"},
		{"where_did_i_leave_off", `{"domain_tags":["go","../x"]}`, "/domain_tags/1"},
		{"where_did_i_leave_off", `{"project":"my project"}`, "/project"},
		{"handoff_acted_on", `{"consumed_by":"me","what_was_done":"x"}`, "/handoff_id"},
		{"handoff_acted_on", `{"handoff_id":"` + h.ID + `","what_was_done":"x"}`, "consumed_by"},
		{"handoff_acted_on", `{"handoff_id":"` + h.ID + `","consumed_by":"me"}`, "what_was_done"},
		{"handoff_acted_on", `{"handoff_id":"../x","consumed_by":"me","what_was_done":"x"}`, "/handoff_id"},
		{"handoff_acted_on", `{"handoff_path":"/tmp/..","consumed_by":"me","what_was_done":"x"}`, "/handoff_path"},
		{"handoff_acted_on", `{"handoff_id":"` + h.ID + `","handoff_path":"handoffs/other.json","consumed_by":"me","what_was_done":"x"}`, "/handoff_path"},
		{"handoff_acted_on_records", `{"limit":501}`, "/limit"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.field, func(t *testing.T) {
			_, err := call(t, e, alice, tc.tool, tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	if n := rowsIn(t, e, "handoffs"); n != 1 {
		t.Errorf("%d handoffs stored, want only the first", n)
	}
	if n := rowsIn(t, e, "handoff_acted_on"); n != 0 {
		t.Errorf("%d acted-on records stored by rejected calls", n)
	}
}

func TestHandoffNoteLimitIsBytes(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "handoff", `{"note":"`+strings.Repeat("é", 1024)+`"}`) // exactly 2048 bytes
	_, err := call(t, e, alice, "handoff", `{"note":"`+strings.Repeat("é", 1024)+`a"}`)
	wantError(t, err, CategoryValidation, "/note", "2049 bytes", "2048")
	if n := rowsIn(t, e, "handoffs"); n != 1 {
		t.Fatalf("%d handoffs, want 1", n)
	}
}

// The original stamped handoffs with naive local time.
func TestHandoffIsWriteOnceInUTC(t *testing.T) {
	e, clock := newEngine(t)
	clock.t = time.Date(2026, 7, 1, 1, 2, 3, 4000, time.FixedZone("CEST", 2*3600))
	h := leaveHandoff(t, e, alice, "pick up the migration", "Sovereign-Port")
	if !handoffIDShape.MatchString(h.ID) || !strings.HasPrefix(h.ID, "ho_20260630T230203_") {
		t.Errorf("id %q, want ho_20260630T230203_<8 hex> (UTC)", h.ID)
	}
	if h.Timestamp != "2026-06-30T23:02:03.000004Z" || h.Thread != "sovereign-port" || h.SourceSession != alice.Session || h.SourceInstance != "claude-x" {
		t.Errorf("record %+v", h)
	}
	same := leaveHandoff(t, e, alice, "pick up the migration", "sovereign-port")
	if same.ID == h.ID {
		t.Error("an identical handoff in the same instant reused the id")
	}
	stored, err := handoffByID(context.Background(), e.db, h.ID)
	if err != nil || stored.Note != h.Note || stored.Timestamp != h.Timestamp || stored.ConsumedAt != "" {
		t.Fatalf("stored %+v %v", stored, err)
	}
}

// B11: where_did_i_leave_off consumed, by default, handoffs meant for
// whoever came next.
func TestWhereDidILeaveOffDoesNotConsumeByDefault(t *testing.T) {
	e, _ := newEngine(t)
	bob := Caller{Session: "bob", Principal: "user:bob"}
	h := leaveHandoff(t, e, bob, "the index rebuild is half done", "general")
	for range 2 {
		b, text := leftOff(t, e, alice, `{}`)
		if ids := b.waitingIDs(t); len(ids) != 1 || ids[0] != h.ID {
			t.Fatalf("waiting %v, want %s", ids, h.ID)
		}
		if len(b.Consumed) != 0 || !strings.Contains(text, "Nothing was consumed") {
			t.Fatalf("consumed %v; text %s", b.Consumed, text)
		}
	}
	if n := rowsIn(t, e, "handoff_consumptions"); n != 0 {
		t.Fatalf("%d consumptions without consume=true", n)
	}
}

func TestConsumeIsExplicitPerSessionAndOnce(t *testing.T) {
	e, clock := newEngine(t)
	bob := Caller{Session: "bob"}
	carol := Caller{Session: "carol"}
	a := leaveHandoff(t, e, bob, "first", "general")
	clock.advance(time.Second)
	b := leaveHandoff(t, e, bob, "second", "other")

	// A thread filter consumes only that thread's handoffs.
	got, _ := leftOff(t, e, alice, `{"consume":true,"thread":"other","source_instance":"claude-a"}`)
	if len(got.Consumed) != 1 || got.Consumed[0] != b.ID {
		t.Fatalf("consumed %v, want %s", got.Consumed, b.ID)
	}
	var sess, inst, ts string
	if err := e.db.QueryRow(`SELECT session_id, instance, ts FROM handoff_consumptions WHERE handoff_id = ?`, b.ID).Scan(&sess, &inst, &ts); err != nil {
		t.Fatal(err)
	}
	if sess != alice.Session || inst != "claude-a" || ts != formatTS(clock.now()) {
		t.Errorf("consumption recorded as %q %q %q", sess, inst, ts)
	}
	// Nobody sees b waiting now; a still waits, for carol too, and a call
	// without consume leaves it.
	for _, c := range []Caller{alice, carol} {
		got, _ = leftOff(t, e, c, `{}`)
		if ids := got.waitingIDs(t); len(ids) != 1 || ids[0] != a.ID {
			t.Errorf("%s sees waiting %v, want %s", c.Session, ids, a.ID)
		}
	}
	got, text := leftOff(t, e, carol, `{"consume":true}`)
	if len(got.Consumed) != 1 || got.Consumed[0] != a.ID || !strings.Contains(text, "1 handoffs consumed") {
		t.Fatalf("carol consumed %v; %s", got.Consumed, text)
	}
	got, _ = leftOff(t, e, alice, `{"consume":true}`)
	if len(got.Consumed) != 0 || len(got.waitingIDs(t)) != 0 {
		t.Fatalf("a consumed handoff was consumed again: %v", got.Consumed)
	}
	stored, err := handoffByID(context.Background(), e.db, a.ID)
	if err != nil || stored.ConsumedBy != "carol" {
		t.Fatalf("a consumed by %q (%v), want carol", stored.ConsumedBy, err)
	}
	// The anonymous session is a session of its own.
	leaveHandoff(t, e, bob, "third", "general")
	got, _ = leftOff(t, e, Caller{}, `{"consume":true}`)
	if err := e.db.QueryRow(`SELECT session_id FROM handoff_consumptions WHERE handoff_id = ?`, got.Consumed[0]).Scan(&sess); err != nil || sess != "" {
		t.Fatalf("anonymous consumption recorded as %q (%v)", sess, err)
	}
}

func TestConcurrentConsumersTakeEachHandoffOnce(t *testing.T) {
	e, clock := newEngine(t)
	var want []string
	for i := range 6 {
		want = append(want, leaveHandoff(t, e, Caller{Session: "writer"}, fmt.Sprintf("note %d", i), "general").ID)
		clock.advance(time.Millisecond)
	}
	sort.Strings(want)
	const readers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		took = map[string][]string{}
		errs []error
	)
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Caller{Session: fmt.Sprintf("reader-%d", i)}
			res, err := e.Call(context.Background(), "where_did_i_leave_off", &Call{Caller: c, Args: []byte(`{"consume":true}`)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			var b leftOffBriefing
			dataOf(t, res, &b)
			for _, id := range b.Consumed {
				took[id] = append(took[id], c.Session)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	var got []string
	for id, by := range took {
		if len(by) != 1 {
			t.Errorf("handoff %s consumed by %v", id, by)
		}
		got = append(got, id)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("consumed %v, want %v", got, want)
	}
	if n := rowsIn(t, e, "handoff_consumptions"); n != len(want) {
		t.Fatalf("%d consumption rows, want %d", n, len(want))
	}
}

func TestWhereDidILeaveOffSections(t *testing.T) {
	e, clock := newEngine(t)
	ctx := context.Background()
	insight := func(c Caller, domain, content string, intensity float64, extra map[string]any) {
		t.Helper()
		err := inTx(ctx, e.db, func(tx *sql.Tx) error {
			_, err := e.insertInsight(ctx, tx, c, insightInput{Domain: domain, Content: content, Layer: LayerHypothesis, Intensity: intensity, Extra: extra})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Second)
	}
	insight(alice, "go", "old insight before the close", 0.5, nil)
	insight(alice, "reflection", "what I learned last time", 0.7, map[string]any{"close_session": true})
	long := "sentinel " + strings.Repeat("s", 300)
	insight(alice, "go", "ordinary insight after the close", 0.5, nil)
	insight(alice, "security", long, 0.95, nil)
	th := recordThread(t, e, alice, "Why does "+strings.Repeat("q", 200)+"?", "go,testing")
	recordThread(t, e, alice, "Unrelated python question", "python")
	if _, ok := e.Registry().Tool("record_learning"); ok {
		mustCall(t, e, alice, "record_learning", `{"what_happened":"deleted prod","what_learned":"dry-run first","applies_to":"ops"}`)
	}
	clock.advance(72 * time.Hour)

	b, text := leftOff(t, e, alice, `{"domain_tags":["testing"]}`)
	titles := make([]string, len(b.Sections))
	for i, s := range b.Sections {
		titles[i] = s.Title
	}
	for _, w := range []string{"Handoffs waiting", "Related to testing", "Open threads", "Recent insights since your last close_session", "Recent learnings"} {
		if !strings.Contains(strings.Join(titles, "|"), w) {
			t.Errorf("no section %q in %v", w, titles)
		}
	}
	if strings.Contains(text, "old insight before the close") {
		t.Error("an insight older than the last close_session is shown")
	}
	for _, w := range []string{"what I learned last time", "ordinary insight after the close", "SENTINEL", th.ID, "3d old"} {
		if !strings.Contains(text, w) {
			t.Errorf("briefing lacks %q:\n%s", w, text)
		}
	}
	if i, j := strings.Index(text, "SENTINEL"), strings.Index(text, "ordinary insight after"); i > j {
		t.Error("the sentinel is not listed first")
	}
	if strings.Contains(text, long) || !strings.Contains(text, long[:119]+"…") {
		t.Error("an insight is not cut at 120 characters")
	}
	if strings.Contains(text, th.Question) {
		t.Error("a question is not cut at 140 characters")
	}
	if _, ok := e.Registry().Tool("record_learning"); ok && !strings.Contains(text, "dry-run first") {
		t.Error("the learning is not shown")
	}
	_, full := leftOff(t, e, alice, `{"full_content":true}`)
	if !strings.Contains(full, long) || !strings.Contains(full, th.Question) {
		t.Error("full_content still cuts")
	}
	_, compact := leftOff(t, e, alice, `{"compact":true}`)
	if strings.Contains(compact, "Handoffs waiting") || strings.Contains(compact, "(none)") {
		t.Errorf("compact shows an empty section:\n%s", compact)
	}
}

func TestHandoffActedOn(t *testing.T) {
	e, clock := newEngine(t)
	h := leaveHandoff(t, e, alice, "finish the import", "general")
	other := leaveHandoff(t, e, alice, "other", "general")
	mustCall(t, e, alice, "handoff_acted_on", fmt.Sprintf(`{"handoff_id":%q,"consumed_by":"claude-b","what_was_done":"imported 3 files"}`, h.ID))
	clock.advance(time.Second)
	// The original's argument: a path whose file name is the id.
	mustCall(t, e, alice, "handoff_acted_on", fmt.Sprintf(`{"handoff_path":"handoffs/%s.json","consumed_by":"claude-c","what_was_done":"verified"}`, h.ID))
	mustCall(t, e, alice, "handoff_acted_on", fmt.Sprintf(`{"handoff_id":%q,"consumed_by":"claude-c","what_was_done":"ignored"}`, other.ID))
	_, err := call(t, e, alice, "handoff_acted_on", `{"handoff_id":"ho_20260101T000000_deadbeef","consumed_by":"x","what_was_done":"y"}`)
	wantError(t, err, CategoryNotFound, "ho_20260101T000000_deadbeef")

	var got struct {
		Count   int
		Records []actedOnRecord
	}
	dataOf(t, mustCall(t, e, alice, "handoff_acted_on_records", fmt.Sprintf(`{"handoff_id":%q}`, h.ID)), &got)
	if got.Count != 2 || got.Records[0].ConsumedBy != "claude-c" || got.Records[1].WhatWasDone != "imported 3 files" || got.Records[0].HandoffID != h.ID {
		t.Fatalf("records %+v", got)
	}
	dataOf(t, mustCall(t, e, alice, "handoff_acted_on_records", `{}`), &got)
	if got.Count != 3 {
		t.Fatalf("all records: %d, want 3", got.Count)
	}
	_, err = call(t, e, alice, "handoff_acted_on_records", `{"handoff_id":"ho_20260101T000000_deadbeef"}`)
	wantError(t, err, CategoryNotFound)
}

// Import and export go through the row functions and iterators.
func TestThreadAndHandoffRowsRoundTrip(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		th := threadRecord{ID: "thread_20260502_225324_0123abcd", Timestamp: "2026-05-02T22:53:24.000000Z", Question: "q", Domain: "general",
			SessionID: "spiral_1", Resolved: true, ResolvedAt: "2026-05-03T00:00:00.000000Z", ResolvedBy: "spiral_2", Resolution: "r"}
		if ok, err := insertThreadRow(ctx, tx, th); err != nil || !ok {
			return fmt.Errorf("thread: %v %v", ok, err)
		}
		if ok, _ := insertThreadRow(ctx, tx, th); ok {
			return fmt.Errorf("a taken thread id was inserted again")
		}
		if err := insertTouchRow(ctx, tx, touchRecord{ThreadID: th.ID, Timestamp: "2026-05-02T23:00:00.000000Z", Note: "n"}); err != nil {
			return err
		}
		h := handoffRecord{ID: "20260502T225324_000001_claude_general_abc123", Timestamp: "2026-05-02T20:53:24.000001Z", Thread: "general", Note: "n"}
		if ok, err := insertHandoffRow(ctx, tx, h); err != nil || !ok {
			return fmt.Errorf("handoff: %v %v", ok, err)
		}
		if ok, err := insertConsumptionRow(ctx, tx, h.ID, "2026-05-03T00:00:00.000000Z", "s", "claude", ""); err != nil || !ok {
			return fmt.Errorf("consumption: %v %v", ok, err)
		}
		if ok, _ := insertConsumptionRow(ctx, tx, h.ID, "2026-05-03T00:00:01.000000Z", "t", "", ""); ok {
			return fmt.Errorf("consumed twice")
		}
		return insertActedOnRow(ctx, tx, actedOnRecord{HandoffID: h.ID, Timestamp: "2026-05-03T01:00:00.000000Z", ConsumedBy: "c", WhatWasDone: "w"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var threads []threadRecord
	_ = eachThread(ctx, e.db, func(r threadRecord) error { threads = append(threads, r); return nil })
	var touches []touchRecord
	_ = eachTouch(ctx, e.db, func(r touchRecord) error { touches = append(touches, r); return nil })
	var handoffs []handoffRecord
	_ = eachHandoff(ctx, e.db, func(r handoffRecord) error { handoffs = append(handoffs, r); return nil })
	var acted []actedOnRecord
	_ = eachActedOn(ctx, e.db, func(r actedOnRecord) error { acted = append(acted, r); return nil })
	if len(threads) != 1 || !threads[0].Resolved || threads[0].ResolvedAt != "2026-05-03T00:00:00.000000Z" || threads[0].TouchCount != 1 {
		t.Errorf("threads %+v", threads)
	}
	if len(touches) != 1 || len(acted) != 1 || len(handoffs) != 1 || handoffs[0].ConsumedBy != "s" || handoffs[0].ConsumedByInst != "claude" {
		t.Errorf("touches %+v handoffs %+v acted %+v", touches, handoffs, acted)
	}
	// An imported handoff is found by the original's path.
	mustCall(t, e, alice, "handoff_acted_on", `{"handoff_path":"/home/u/.sovereign/handoffs/20260502T225324_000001_claude_general_abc123.json","consumed_by":"x","what_was_done":"y"}`)
}

// A section failing after handoffs were consumed must not lose them: the
// briefing shows them and names the failed section; before any
// consumption, the failure fails the call.
func TestBriefingSectionFailureKeepsConsumedHandoffs(t *testing.T) {
	e, _ := newEngine(t)
	h := leaveHandoff(t, e, Caller{Session: "bob"}, "resume the import", "general")
	if _, err := e.db.Exec(`DROP TABLE learnings`); err != nil {
		t.Skipf("cannot break the learnings table: %v", err)
	}
	_, err := call(t, e, alice, "where_did_i_leave_off", `{}`)
	wantError(t, err, CategoryInternal)
	b, text := leftOff(t, e, alice, `{"consume":true}`)
	if len(b.Consumed) != 1 || b.Consumed[0] != h.ID || !strings.Contains(text, "resume the import") {
		t.Fatalf("consumed %v; text:\n%s", b.Consumed, text)
	}
	failed := false
	for _, s := range b.Sections {
		failed = failed || (strings.HasPrefix(s.Title, "Recent learnings") && strings.HasPrefix(s.Error, "internal"))
	}
	if !failed || !strings.Contains(text, "could not be read") {
		t.Errorf("the failed section is not named: %+v", b.Sections)
	}
}
