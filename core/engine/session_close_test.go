package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCloseSessionSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct{ args, field string }{
		{`{}`, "what_i_learned"},
		{`{"what_i_learned":""}`, "/what_i_learned"},
		{`{"what_i_learned":"  "}`, "/what_i_learned"},
		{`{"what_i_learned":"x","what_to_pick_up":"` + strings.Repeat("a", maxHandoffNoteBytes+1) + `"}`, "/what_to_pick_up"},
		{`{"what_i_learned":"x","thread":"a sentence as a thread"}`, "/thread"},
		{`{"what_i_learned":"x","thread":"../etc"}`, "/thread"},
		{`{"what_i_learned":"x","source_instance":7}`, "/source_instance"},
		{`{"what_i_learned":"x","what_i_want":"y"}`, "what_i_want"},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			_, err := call(t, e, alice, "close_session", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

func TestCloseSessionRecordsEverything(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "spiral_status", `{}`) // → First-Order Observation
	res := mustCall(t, e, alice, "close_session", `{"what_i_learned":"FTS5 ranks well","what_surprised_me":"WAL is fast",
		"what_to_pick_up":"benchmark 100k","thread":"Perf","source_instance":"claude-1"}`)
	var out closeSessionResult
	dataOf(t, res, &out)
	l := out.Learned
	if l.Domain != "reflection" || l.Layer != LayerHypothesis || l.Intensity != 0.7 || l.Extra["close_session"] != true ||
		l.Extra["thread"] != "perf" || l.Extra["source_instance"] != "claude-1" || l.SessionID != alice.Session {
		t.Fatalf("learned %+v", l)
	}
	if out.Surprise == nil || out.Surprise.Domain != "surprise" || out.Surprise.Intensity != 0.8 || out.Surprise.Content != "WAL is fast" {
		t.Fatalf("surprise %+v", out.Surprise)
	}
	if out.Handoff == nil || out.Handoff.Note != "benchmark 100k" || out.Handoff.Thread != "perf" {
		t.Fatalf("handoff %+v", out.Handoff)
	}
	if out.Spiral.From != "First-Order Observation" || out.Spiral.To != "Recursive Integration" || out.Spiral.ReflectionDepth != 1 {
		t.Fatalf("spiral %+v", out.Spiral)
	}
	for _, id := range []string{l.ID, out.Surprise.ID} {
		if _, err := scanInsightByID(t.Context(), e.db, id); err != nil {
			t.Fatalf("insight %s not stored: %v", id, err)
		}
	}
	var note, session string
	if err := e.db.QueryRow(`SELECT note, source_session FROM handoffs WHERE id = ?`, out.Handoff.ID).Scan(&note, &session); err != nil || note != "benchmark 100k" || session != alice.Session {
		t.Fatalf("handoff row: %q %q %v", note, session, err)
	}
	for _, want := range []string{l.ID, out.Surprise.ID, out.Handoff.ID, "Recursive Integration"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("text does not mention %s: %s", want, res.Text)
		}
	}
	st := spiralOf(t, e, alice.Session)
	if st.Phase != "Recursive Integration" || st.ToolCallCount != 2 || st.ReflectionDepth != 1 {
		t.Fatalf("close_session moved the spiral more than one step, or did not count: %+v", st)
	}

	// Only what_i_learned: no surprise, no handoff; Coherence Check wraps.
	if _, err := e.db.Exec(`UPDATE spiral_sessions SET phase = 8 WHERE session_id = ?`, alice.Session); err != nil {
		t.Fatal(err)
	}
	out = closeSessionResult{}
	dataOf(t, mustCall(t, e, alice, "close_session", `{"what_i_learned":"short session"}`), &out)
	if out.Surprise != nil || out.Handoff != nil || out.Spiral.From != "Coherence Check" || out.Spiral.To != "Initialization" {
		t.Fatalf("second close %+v", out)
	}
}

// close_session is one transaction: when the handoff cannot be written,
// neither insight is, and the spiral does not move.
func TestCloseSessionIsAtomic(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "spiral_status", `{}`)
	before := spiralOf(t, e, alice.Session)
	// 1500 characters pass the schema; 3000 bytes of UTF-8 break the
	// handoff's 2048-byte limit inside the transaction.
	args, _ := json.Marshal(map[string]string{"what_i_learned": "atomic", "what_surprised_me": "surprise",
		"what_to_pick_up": strings.Repeat("é", 1500)})
	_, err := call(t, e, alice, "close_session", string(args))
	wantError(t, err, CategoryValidation, "/what_to_pick_up", "bytes of UTF-8", "2048")
	var n int
	if err := e.db.QueryRow(`SELECT (SELECT count(*) FROM insights) + (SELECT count(*) FROM handoffs)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a failed close_session left %d records (%v)", n, err)
	}
	if after := spiralOf(t, e, alice.Session); after != before {
		t.Fatalf("a failed close_session moved the spiral: %+v → %+v", before, after)
	}
}
