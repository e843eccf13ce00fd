package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type recallData struct {
	Insights []recallEntry `json:"insights"`
	Count    int           `json:"count"`
	HasMore  bool          `json:"has_more"`
}

func recall(t testing.TB, e *Engine, args string) recallData {
	t.Helper()
	var out recallData
	dataOf(t, mustCall(t, e, alice, "recall_insights", args), &out)
	return out
}

func contents(d recallData) []string {
	out := make([]string, len(d.Insights))
	for i, en := range d.Insights {
		out[i] = en.Content
	}
	return out
}

func TestRecallSchemaAndArgumentRejects(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct {
		name, args, field string
	}{
		{"limit above 200", `{"limit":201}`, "/limit"},
		{"negative offset", `{"offset":-1}`, "/offset"},
		{"bad order", `{"order":"random"}`, "/order"},
		{"relevance without a query", `{"order":"relevance"}`, "/order"},
		{"bad start date", `{"start_date":"last tuesday"}`, "/start_date"},
		{"bad end date", `{"end_date":"2026-13-01"}`, "/end_date"},
		{"end before start", `{"start_date":"2026-11-02","end_date":"2026-11-01"}`, "/end_date"},
		{"traversal domain", `{"domain":"../insights"}`, "/domain"},
		{"query of punctuation only", `{"query":"*** ()"}`, "/query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "recall_insights", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

// B13: a domain with no match silently searched every domain.
func TestRecallUnknownDomainReturnsNothing(t *testing.T) {
	e, clock := newEngine(t)
	recordIns(t, e, alice, `{"domain":"go,testing","content":"alpha"}`)
	clock.advance(time.Second)
	recordIns(t, e, alice, `{"domain":"rust","content":"beta"}`)
	if got := recall(t, e, `{"domain":"python"}`); got.Count != 0 {
		t.Fatalf("unknown domain returned %v", contents(got))
	}
	if got := recall(t, e, `{"domain":"python","query":"alpha"}`); got.Count != 0 {
		t.Fatalf("unknown domain with a query returned %v", contents(got))
	}
	// A tag matches every domain carrying it; a multi-tag domain matches exactly.
	if got := recall(t, e, `{"domain":"Testing"}`); len(got.Insights) != 1 || got.Insights[0].Content != "alpha" {
		t.Fatalf("tag testing: %v", contents(got))
	}
	if got := recall(t, e, `{"domain":"testing,go"}`); got.Count != 0 {
		t.Fatalf("exact domain in another order matched: %v", contents(got))
	}
	if got := recall(t, e, `{"domain":"go, testing"}`); got.Count != 1 {
		t.Fatalf("exact domain: %v", contents(got))
	}
	if got := recall(t, e, `{"domain_contains":"us"}`); len(got.Insights) != 1 || got.Insights[0].Content != "beta" {
		t.Fatalf("domain_contains: %v", contents(got))
	}
}

func TestRecallQueryIsNeverFTSSyntax(t *testing.T) {
	e, clock := newEngine(t)
	recordIns(t, e, alice, `{"domain":"go","content":"content near the end of the file"}`)
	clock.advance(time.Second)
	recordIns(t, e, alice, `{"domain":"go","content":"other unrelated words"}`)
	for _, q := range []string{`"a" OR content:*`, `NEAR(`, `content:near`, `"unbalanced`, `a AND NOT b`, `-near`, `^near`, `{domain}:x`, `near*)`} {
		t.Run(q, func(t *testing.T) {
			for _, order := range []string{"relevance", "newest"} {
				res, err := call(t, e, alice, "recall_insights", `{"query":`+mustJSONString(q)+`,"order":"`+order+`"}`)
				if err != nil {
					t.Fatalf("order %s: %v", order, err)
				}
				var d recallData
				dataOf(t, res, &d)
				for _, en := range d.Insights {
					if en.Content == "other unrelated words" {
						t.Fatalf("order %s: %q matched an insight without its words", order, q)
					}
				}
			}
		})
	}
	if got := recall(t, e, `{"query":"NEAR("}`); got.Count != 1 {
		t.Fatalf("NEAR( as a word: %v", contents(got))
	}
	// Prefixes of longer words match, as the original's substring match did.
	if got := recall(t, e, `{"query":"unrel"}`); got.Count != 1 || got.Insights[0].Content != "other unrelated words" {
		t.Fatalf("prefix: %v", contents(got))
	}
}

func TestRecallRelevanceDiffersFromNewest(t *testing.T) {
	e, clock := newEngine(t)
	recordIns(t, e, alice, `{"domain":"storage","content":"fsync fsync fsync: durable writes need fsync"}`)
	clock.advance(time.Hour)
	recordIns(t, e, alice, `{"domain":"storage","content":"a long note on many things, among them logging, retries, metrics, and once fsync"}`)
	clock.advance(time.Hour)
	recordIns(t, e, alice, `{"domain":"storage","content":"unrelated newest note"}`)
	newest := contents(recall(t, e, `{"query":"fsync","order":"newest"}`))
	rel := contents(recall(t, e, `{"query":"fsync","order":"relevance"}`))
	oldest := contents(recall(t, e, `{"query":"fsync","order":"oldest"}`))
	if len(newest) != 2 || len(rel) != 2 {
		t.Fatalf("newest %v relevance %v", newest, rel)
	}
	if !strings.HasPrefix(newest[0], "a long note") || !strings.HasPrefix(rel[0], "fsync fsync") || oldest[0] != rel[0] {
		t.Fatalf("newest %q, relevance %q, oldest %q", newest, rel, oldest)
	}
}

func TestRecallPaging(t *testing.T) {
	e, clock := newEngine(t)
	for i := range 25 {
		recordIns(t, e, alice, fmt.Sprintf(`{"domain":"paging","content":"note %02d"}`, i))
		clock.advance(time.Second)
	}
	var seen []string
	for off := 0; ; off += 10 {
		res := mustCall(t, e, alice, "recall_insights", fmt.Sprintf(`{"domain":"paging","limit":10,"offset":%d}`, off))
		var d recallData
		dataOf(t, res, &d)
		seen = append(seen, contents(d)...)
		if d.HasMore != strings.Contains(res.Text, "offset") {
			t.Fatalf("has_more %v, text %q", d.HasMore, res.Text)
		}
		if !d.HasMore {
			break
		}
	}
	if len(seen) != 25 || seen[0] != "note 24" || seen[24] != "note 00" {
		t.Fatalf("pages gave %d: %v", len(seen), seen)
	}
	if got := recall(t, e, `{"domain":"paging","offset":25}`); got.Count != 0 || got.HasMore {
		t.Fatalf("past the end: %+v", got)
	}
}

func TestRecallDatesAndSinceLastReflection(t *testing.T) {
	e, clock := newEngine(t) // 2026-11-28T10:00Z
	recordIns(t, e, alice, `{"domain":"go","content":"on the 28th"}`)
	clock.advance(24 * time.Hour)
	recordIns(t, e, alice, `{"domain":"reflection","content":"looking back"}`)
	clock.advance(time.Hour)
	recordIns(t, e, alice, `{"domain":"go","content":"on the 29th after the reflection"}`)
	clock.advance(48 * time.Hour)
	recordIns(t, e, alice, `{"domain":"go","content":"on the 1st"}`)

	cases := []struct {
		args string
		want []string
	}{
		{`{"end_date":"2026-11-28"}`, []string{"on the 28th"}},
		{`{"start_date":"2026-11-29","end_date":"2026-11-29","order":"oldest"}`, []string{"looking back", "on the 29th after the reflection"}},
		{`{"start_date":"2026-11-29T10:59:00Z","end_date":"2026-11-29T11:00:00Z"}`, []string{"on the 29th after the reflection"}},
		{`{"start_date":"2026-11-29T12:00:00+01:00","end_date":"2026-11-29T12:00:00+01:00"}`, []string{"on the 29th after the reflection"}},
		{`{"since_last_reflection":true,"order":"oldest"}`, []string{"on the 29th after the reflection", "on the 1st"}},
		{`{"since_last_reflection":true,"start_date":"2026-12-01"}`, []string{"on the 1st"}},
	}
	for _, tc := range cases {
		if got := contents(recall(t, e, tc.args)); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestRecallSupersededAnnotatedOrExcluded(t *testing.T) {
	e, clock := newEngine(t)
	a := recordIns(t, e, alice, `{"domain":"go","content":"old view"}`)
	clock.advance(time.Second)
	b := recordIns(t, e, alice, `{"domain":"go","content":"new view","supersedes":["`+a.ID+`"],"carry_forward_summary":"the old view's test still holds"}`)
	got := recall(t, e, `{"domain":"go"}`)
	if got.Count != 2 || got.Insights[1].ID != a.ID || got.Insights[1].SupersededBy != b.ID ||
		got.Insights[1].CarryForward != "the old view's test still holds" || got.Insights[0].SupersededBy != "" {
		t.Fatalf("annotations: %+v", got.Insights)
	}
	res := mustCall(t, e, alice, "recall_insights", `{"domain":"go","with_ids":true}`)
	if !strings.Contains(res.Text, "superseded by "+b.ID[:16]) || !strings.Contains(res.Text, a.ID[:16]) {
		t.Fatalf("text %q", res.Text)
	}
	if ex := recall(t, e, `{"domain":"go","exclude_superseded":true}`); ex.Count != 1 || ex.Insights[0].ID != b.ID {
		t.Fatalf("exclude_superseded: %v", contents(ex))
	}
}

func TestGetInheritableContext(t *testing.T) {
	e, clock := newEngine(t)
	old := recordIns(t, e, alice, `{"domain":"go","content":"old truth","layer":"ground_truth"}`)
	clock.advance(time.Second)
	recordIns(t, e, alice, `{"domain":"go","content":"new truth","layer":"ground_truth","supersedes":["`+old.ID+`"],"carry_forward_summary":"refined"}`)
	for i := range 23 {
		clock.advance(time.Second)
		recordIns(t, e, alice, fmt.Sprintf(`{"domain":"go","content":"hypothesis %d"}`, i))
	}
	recordIns(t, e, alice, `{"domain":"go","content":"what about windows?","layer":"open_thread"}`)
	_, err := call(t, e, alice, "get_inheritable_context", `{"extra":1}`)
	wantError(t, err, CategoryValidation, "extra")
	res := mustCall(t, e, alice, "get_inheritable_context", `{}`)
	var got struct {
		GroundTruth          []recallEntry `json:"ground_truth"`
		Hypotheses           []recallEntry `json:"hypotheses"`
		OpenThreads          []recallEntry `json:"open_threads"`
		SupersededHeldBack   int           `json:"superseded_held_back"`
		InheritanceTimestamp string        `json:"inheritance_timestamp"`
		CouplingAdvisory     *string       `json:"coupling_advisory"`
	}
	dataOf(t, res, &got)
	if len(got.GroundTruth) != 1 || got.GroundTruth[0].Content != "new truth" || got.SupersededHeldBack != 1 {
		t.Fatalf("ground truth %v held back %d", got.GroundTruth, got.SupersededHeldBack)
	}
	if len(got.Hypotheses) != 20 || got.Hypotheses[0].Content != "hypothesis 22" {
		t.Fatalf("%d hypotheses, first %q", len(got.Hypotheses), got.Hypotheses[0].Content)
	}
	if len(got.OpenThreads) != 1 || got.InheritanceTimestamp != e.ts() || got.CouplingAdvisory != nil {
		t.Fatalf("open threads %v, timestamp %q, advisory %v", got.OpenThreads, got.InheritanceTimestamp, got.CouplingAdvisory)
	}
	if strings.Contains(res.Text, "old truth") || !strings.Contains(res.Text, "what about windows?") {
		t.Fatalf("text %q", res.Text)
	}
}

// Recall orders by time even when an older insight is stored later (an
// import) or several share one instant: rowids follow time (rowSlots).
func TestRecallTimeOrderWithLateImportAndSameInstant(t *testing.T) {
	e, _ := newEngine(t) // the clock does not move: three at one instant
	for _, c := range []string{"same instant one", "same instant two", "same instant three"} {
		recordIns(t, e, alice, `{"domain":"order","content":"`+c+`"}`)
	}
	ctx := t.Context()
	old := insightRecord{Timestamp: "2020-01-01T00:00:00.000000Z", Domain: "order", Content: "imported same instant old", Layer: LayerHypothesis}
	if err := inTx(ctx, e.db, func(tx *sql.Tx) error { _, err := e.insertInsightRecord(ctx, tx, &old); return err }); err != nil {
		t.Fatal(err)
	}
	want := "same instant three|same instant two|same instant one|imported same instant old"
	for _, args := range []string{`{"domain":"order"}`, `{"query":"instant"}`, `{"query":"instant","domain":"order"}`, `{}`} {
		if got := strings.Join(contents(recall(t, e, args)), "|"); got != want {
			t.Errorf("%s: %s", args, got)
		}
	}
	if got := contents(recall(t, e, `{"query":"instant","order":"oldest","limit":2}`)); strings.Join(got, "|") != "imported same instant old|same instant one" {
		t.Errorf("oldest: %v", got)
	}
	if got := contents(recall(t, e, `{"query":"same","end_date":"2025-12-31"}`)); len(got) != 1 || got[0] != old.Content {
		t.Errorf("date range over an import: %v", got)
	}
}

func TestRecallReportsProgress(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "record_insight", `{"domain":"go","content":"progress is reported"}`)
	var msgs []string
	res, err := e.Call(context.Background(), "recall_insights", &Call{Caller: alice, Args: json.RawMessage(`{"query":"progress"}`),
		Progress: func(done, total float64, m string) { msgs = append(msgs, m) }})
	if err != nil || res == nil {
		t.Fatalf("recall: %v", err)
	}
	if len(msgs) != 3 || msgs[2] != "done" {
		t.Fatalf("progress messages = %q, want three ending in done", msgs)
	}
}

// A handler failing because the call was cancelled reports a cancellation,
// not an internal error.
func TestCancelledHandlerIsCancelled(t *testing.T) {
	e, _ := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := e.Call(ctx, "recall_insights", &Call{Caller: alice, Args: json.RawMessage(`{"query":"x"}`),
		Progress: func(float64, float64, string) { cancel() }})
	var ee *Error
	if !errors.As(err, &ee) || ee.Category != CategoryCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}
