package engine

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// spiralOf returns session's stored state, failing the test on an error.
func spiralOf(t *testing.T, e *Engine, session string) spiralState {
	t.Helper()
	st, err := loadSpiral(context.Background(), e.db, session)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// statusOf calls spiral_status as c and decodes it.
func statusOf(t *testing.T, e *Engine, c Caller) spiralView {
	t.Helper()
	var v spiralView
	dataOf(t, mustCall(t, e, c, "spiral_status", `{}`), &v)
	return v
}

// fakeTool is a declaration the observer classifies.
func fakeTool(name string, eff Effect, intent string) *Tool {
	return &Tool{Name: name, Effect: eff, Intent: intent}
}

func TestSpiralSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct{ tool, args, field string }{
		{"spiral_status", `{"session":"x"}`, "session"},
		{"spiral_reflect", `{}`, "observation"},
		{"spiral_reflect", `{"observation":""}`, "/observation"},
		{"spiral_reflect", `{"observation":"` + strings.Repeat("a", maxObservation+1) + `"}`, "/observation"},
		{"spiral_reflect", `{"observation":"   "}`, "/observation"},
		{"spiral_inherit", `{"session_id":5}`, "/session_id"},
		{"spiral_inherit", `{"session_id":""}`, "/session_id"},
		{"spiral_inherit", `{"full_content":"yes"}`, "/full_content"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.field, func(t *testing.T) {
			_, err := call(t, e, alice, tc.tool, tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	if st := spiralOf(t, e, alice.Session); st.ReflectionDepth != 0 {
		t.Fatalf("a rejected spiral_reflect changed the depth to %d", st.ReflectionDepth)
	}
}

// The implicit transitions follow the declared effect and intent, one step
// at most per call, and every phase is reachable (the original's Meta-
// Reflection, Integration and Coherence Check were not).
func TestSpiralTransitionTable(t *testing.T) {
	steps := []struct {
		tool *Tool
		want string
	}{
		{fakeTool("anything", EffectRead, "read"), "First-Order Observation"},
		{fakeTool("orient_more", EffectRead, "orient"), "First-Order Observation"},
		{fakeTool("record_x", EffectAppend, "write"), "Recursive Integration"},
		{fakeTool("check_x", EffectRead, "govern"), "Counter-Perspectives"},
		{fakeTool("note_x", EffectAppend, "write"), "Action Synthesis"},
		{fakeTool("apply_x", EffectMutate, "route"), "Execution"},
		{fakeTool("read_status_get", EffectAppend, "introspect"), "Meta-Reflection"},
		{fakeTool("write_y", EffectAppend, "write"), "Integration"},
		{fakeTool("pass_on", EffectAppend, "handoff"), "Coherence Check"},
		{fakeTool("list_more", EffectRead, "read"), "Coherence Check"},
		{fakeTool("plan_design_propose", EffectAppend, "write"), "Coherence Check"},
	}
	e, _ := newEngine(t)
	ctx := context.Background()
	for i, s := range steps {
		e.observeCall(ctx, alice, s.tool)
		st := spiralOf(t, e, alice.Session)
		if st.Phase != s.want || st.ToolCallCount != int64(i+1) {
			t.Fatalf("after %s (%s, %s): %s with %d calls, want %s with %d", s.tool.Name, s.tool.Effect, s.tool.Intent,
				st.Phase, st.ToolCallCount, s.want, i+1)
		}
	}
	for p := range spiralPhases {
		for k := kindNone; k <= kindHandoff; k++ {
			if n := nextPhase(p, k); n != p && n != (p+1)%len(spiralPhases) {
				t.Errorf("phase %d, kind %d: next %d is more than one step", p, k, n)
			}
		}
	}
	// Names do not matter: a tool called "read_list_get" that writes is a write.
	if k := kindOf(fakeTool("read_list_get_status", EffectAppend, "write")); k != kindWrite {
		t.Errorf("kind by name: %d", k)
	}
	desc, _ := e.Registry().Tool("spiral_status")
	for _, phase := range spiralPhases {
		if !strings.Contains(desc.Description, phase) {
			t.Errorf("spiral_status description does not document %s", phase)
		}
	}
}

func TestSpiralStatusCountsCallsOfTheCaller(t *testing.T) {
	e, clock := newEngine(t)
	v := statusOf(t, e, alice)
	if v.State.Stored || v.State.Phase != "Initialization" || v.State.ToolCallCount != 0 {
		t.Fatalf("fresh session: %+v", v.State)
	}
	clock.advance(90 * time.Second)
	v = statusOf(t, e, alice)
	if v.State.ToolCallCount != 1 || v.State.Phase != "First-Order Observation" || v.DurationSeconds != 90 {
		t.Fatalf("after one call: %+v", v)
	}
	if !regexp.MustCompile(`^spiral_[0-9a-f]{16}$`).MatchString(v.State.SpiralID) {
		t.Fatalf("spiral id %q is not random hex", v.State.SpiralID)
	}
	if len(v.LastTransitions) != 1 || v.LastTransitions[0].Cause != "spiral_status" || v.LastTransitions[0].From != "Initialization" {
		t.Fatalf("transitions: %+v", v.LastTransitions)
	}
	clock.advance(30 * time.Second)
	res := mustCall(t, e, alice, "spiral_status", `{}`)
	dataOf(t, res, &v)
	if v.State.ToolCallCount != 2 || v.DurationSeconds != 120 || !strings.Contains(res.Text, "First-Order Observation") {
		t.Fatalf("status: %+v / %s", v, res.Text)
	}
	bob := Caller{Session: "session-bob", Principal: "user:bob"}
	if b := statusOf(t, e, bob); b.State.ToolCallCount != 0 || b.State.Stored {
		t.Fatalf("bob sees %+v", b.State)
	}
}

// Regression (original: one spiral_reflect advanced two phases, and the
// observation was dropped).
func TestSpiralReflectOneStepAndStored(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "my_toolkit", `{}`) // → First-Order Observation
	obs := strings.Repeat("ü", 300) + " the end"
	want := []string{"Recursive Integration", "Counter-Perspectives", "Counter-Perspectives"}
	for i, w := range want {
		var got struct {
			ID      string `json:"observation_id"`
			Obs     string `json:"observation"`
			Clipped bool   `json:"observation_clipped"`
			From    string `json:"from_phase"`
			Phase   string `json:"phase"`
			Depth   int64  `json:"reflection_depth"`
		}
		arg, _ := json.Marshal(map[string]string{"observation": obs})
		dataOf(t, mustCall(t, e, alice, "spiral_reflect", string(arg)), &got)
		if got.Phase != w || got.Depth != int64(i+1) {
			t.Fatalf("reflect %d: %+v, want phase %s depth %d", i, got, w, i+1)
		}
		if st := spiralOf(t, e, alice.Session); st.Phase != w || st.ReflectionDepth != int64(i+1) {
			t.Fatalf("reflect %d: stored %s depth %d, want %s depth %d", i, st.Phase, st.ReflectionDepth, w, i+1)
		}
		if !got.Clipped || got.Obs != strings.Repeat("ü", echoClip)+"…" {
			t.Fatalf("echo not clipped to %d runes: %q", echoClip, got.Obs)
		}
		var stored string
		if err := e.db.QueryRow(`SELECT observation FROM spiral_observations WHERE id = ? AND session_id = ?`, got.ID, alice.Session).Scan(&stored); err != nil || stored != obs {
			t.Fatalf("observation %s not stored whole: %v (%d bytes)", got.ID, err, len(stored))
		}
	}
	st := spiralOf(t, e, alice.Session)
	if st.ToolCallCount != 4 || st.ReflectionDepth != 3 {
		t.Fatalf("state %+v", st)
	}
}

// Regression B11: spiral_inherit by one session resets nobody else's spiral.
func TestSpiralInheritTouchesOnlyTheCaller(t *testing.T) {
	e, clock := newEngine(t)
	twin := Caller{Session: "session-twin", Principal: alice.Principal}
	for range 3 {
		mustCall(t, e, alice, "spiral_status", `{}`)
		mustCall(t, e, alice, "spiral_reflect", `{"observation":"alice thinks"}`)
	}
	mustCall(t, e, twin, "my_toolkit", `{}`)
	aliceBefore := spiralOf(t, e, alice.Session)
	twinBefore := spiralOf(t, e, twin.Session)
	clock.advance(time.Minute)

	var got struct {
		State    spiralState      `json:"state"`
		Previous string           `json:"previous_spiral_id"`
		Inh      inheritedContext `json:"inherited"`
	}
	dataOf(t, mustCall(t, e, twin, "spiral_inherit", `{}`), &got)
	if got.Inh.FromSession != alice.Session || got.State.InheritedFrom != alice.Session || got.Previous != twinBefore.SpiralID {
		t.Fatalf("inherit: %+v", got)
	}
	if got.State.SpiralID == twinBefore.SpiralID || got.State.Phase != "Initialization" {
		t.Fatalf("the twin's spiral was not renewed: %+v", got.State)
	}
	aliceAfter := spiralOf(t, e, alice.Session)
	if aliceAfter != aliceBefore {
		t.Fatalf("alice's spiral changed: %+v → %+v", aliceBefore, aliceAfter)
	}
	twinAfter := spiralOf(t, e, twin.Session)
	if twinAfter.ToolCallCount != 1 || twinAfter.ReflectionDepth != 0 || twinAfter.InheritedFrom != alice.Session {
		t.Fatalf("twin after inherit (the inherit call is its first counted call): %+v", twinAfter)
	}
	var ended int
	if err := e.db.QueryRow(`SELECT count(*) FROM spiral_transitions WHERE spiral_id = ? AND cause LIKE 'spiral_inherit%'`, twinBefore.SpiralID).Scan(&ended); err != nil || ended != 1 {
		t.Fatalf("the end of the twin's old spiral is not logged: %d %v", ended, err)
	}
}

func TestSpiralInheritContextAndErrors(t *testing.T) {
	e, clock := newEngine(t)
	ctx := context.Background()
	old := Caller{Session: "s-old", Principal: "user:carol"}
	stranger := Caller{Session: "s-stranger", Principal: "user:dave"}
	newer := Caller{Session: "s-new", Principal: "user:carol"}

	_, err := call(t, e, newer, "spiral_inherit", `{}`)
	wantError(t, err, CategoryNotFound, "user:carol")
	if st := spiralOf(t, e, newer.Session); st.InheritedFrom != "" {
		t.Fatal("a failed inherit changed the spiral")
	}

	for _, in := range []insightInput{
		{Domain: "go", Content: "WAL needs fsync " + strings.Repeat("x", 300), Layer: LayerGroundTruth, Intensity: 0.9},
		{Domain: "go", Content: "maybe pool size matters", Layer: LayerHypothesis, Intensity: 0.5},
		{Domain: "go", Content: "why is the index cold?", Layer: LayerOpenThread, Intensity: 0.5},
	} {
		err := inTx(ctx, e.db, func(tx *sql.Tx) error { _, err := e.insertInsight(ctx, tx, old, in); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	mustCall(t, e, old, "close_session", `{"what_i_learned":"indexes matter","what_to_pick_up":"benchmark recall"}`)
	clock.advance(time.Minute)
	mustCall(t, e, stranger, "spiral_status", `{}`) // more recent, another principal
	clock.advance(time.Minute)

	var got struct {
		Inh inheritedContext `json:"inherited"`
	}
	res := mustCall(t, e, newer, "spiral_inherit", `{}`)
	dataOf(t, res, &got)
	ic := got.Inh
	if ic.FromSession != old.Session {
		t.Fatalf("inherited from %q, want the principal's previous session %q", ic.FromSession, old.Session)
	}
	if len(ic.Handoffs) != 1 || ic.Handoffs[0].Note != "benchmark recall" {
		t.Fatalf("handoffs %+v", ic.Handoffs)
	}
	if len(ic.CloseSessions) != 1 || ic.CloseSessions[0].Content != "indexes matter" {
		t.Fatalf("close sessions %+v", ic.CloseSessions)
	}
	if len(ic.GroundTruths) != 1 || !ic.GroundTruths[0].Clipped || len([]rune(ic.GroundTruths[0].Content)) != inheritClip+1 {
		t.Fatalf("ground truths %+v", ic.GroundTruths)
	}
	if len(ic.Hypotheses) != 1 || ic.Hypotheses[0].Content != "maybe pool size matters" {
		t.Fatalf("hypotheses (close_session reflections listed apart) %+v", ic.Hypotheses)
	}
	if len(ic.OpenThreads) != 1 || !strings.Contains(res.Text, "why is the index cold?") || !strings.Contains(res.Text, "benchmark recall") {
		t.Fatalf("open threads %+v / text %s", ic.OpenThreads, res.Text)
	}

	var full struct {
		Inh inheritedContext `json:"inherited"`
	}
	dataOf(t, mustCall(t, e, newer, "spiral_inherit", `{"session_id":"s-old","full_content":true}`), &full)
	if full.Inh.GroundTruths[0].Clipped || !strings.HasSuffix(full.Inh.GroundTruths[0].Content, "xxx") {
		t.Fatal("full_content still clipped")
	}
	_, err = call(t, e, newer, "spiral_inherit", `{"session_id":"s-nobody"}`)
	wantError(t, err, CategoryNotFound, "s-nobody")
	_, err = call(t, e, newer, "spiral_inherit", `{"session_id":"s-new"}`)
	wantError(t, err, CategoryValidation, "/session_id")
	if st := spiralOf(t, e, newer.Session); st.InheritedFrom != old.Session {
		t.Fatalf("failed inherits changed the state: %+v", st)
	}
}

// Concurrent calls from 8 sessions, each session calling from 3
// goroutines at once: every call is counted, in its own session (no lost
// update).
func TestSpiralConcurrentSessionsCountExactly(t *testing.T) {
	e, _ := newEngine(t)
	const sessions, workers, calls = 8, 3, 10
	var wg sync.WaitGroup
	errs := make(chan error, sessions*workers*calls)
	for s := range sessions {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := Caller{Session: fmt.Sprintf("s%d", s), Principal: "user:p"}
				for i := range calls {
					tool := "spiral_status"
					if i%5 == 4 {
						tool = "get_growth_summary"
					}
					if _, err := e.Call(context.Background(), tool, &Call{Caller: c, Args: json.RawMessage(`{}`)}); err != nil {
						errs <- err
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for s := range sessions {
		if st := spiralOf(t, e, fmt.Sprintf("s%d", s)); st.ToolCallCount != workers*calls || st.Phase != "First-Order Observation" {
			t.Errorf("session s%d: %d calls in %s, want %d in First-Order Observation", s, st.ToolCallCount, st.Phase, workers*calls)
		}
	}
}

// The anonymous session "" is one session of its own: shared by every
// session-less caller, separate from named sessions.
func TestSpiralAnonymousSession(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, Caller{Principal: "user:x"}, "spiral_status", `{}`)
	mustCall(t, e, Caller{Principal: "user:y"}, "spiral_status", `{}`)
	if st := spiralOf(t, e, ""); st.ToolCallCount != 2 {
		t.Fatalf("anonymous session: %d calls, want 2", st.ToolCallCount)
	}
	if st := spiralOf(t, e, alice.Session); st.Stored {
		t.Fatal("a named session got the anonymous calls")
	}
}

func TestSpiralTransitionsBounded(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	bob := Caller{Session: "session-bob"}
	e.observeCall(ctx, bob, fakeTool("look", EffectRead, "read"))
	step := func(p int) int { return (p + 1) % len(spiralPhases) }
	for i := range maxSpiralTransitions + 30 {
		err := inTx(ctx, e.db, func(tx *sql.Tx) error {
			_, _, err := e.stepSpiral(ctx, tx, alice, fmt.Sprintf("step %d", i), 0, step)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var oldest string
	if err := e.db.QueryRow(`SELECT count(*), min(seq) FROM spiral_transitions WHERE session_id = ?`, alice.Session).Scan(&n, new(int)); err != nil || n != maxSpiralTransitions {
		t.Fatalf("alice keeps %d transitions (%v), want %d", n, err, maxSpiralTransitions)
	}
	if err := e.db.QueryRow(`SELECT cause FROM spiral_transitions WHERE session_id = ? ORDER BY seq LIMIT 1`, alice.Session).Scan(&oldest); err != nil || oldest != "step 30" {
		t.Fatalf("oldest kept %q (%v), want step 30", oldest, err)
	}
	if err := e.db.QueryRow(`SELECT count(*) FROM spiral_transitions WHERE session_id = ?`, bob.Session).Scan(&n); err != nil || n != 1 {
		t.Fatalf("bob's transitions pruned: %d", n)
	}
}

func TestSpiralStateResource(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "spiral_reflect", `{"observation":"x"}`)
	var res *Resource
	for i := range e.Resources() {
		if e.Resources()[i].URI == "sovereign://spiral/state" {
			res = &e.Resources()[i]
		}
	}
	if res == nil {
		t.Fatal("no sovereign://spiral/state resource")
	}
	text, err := res.Read(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	var v spiralView
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	if v.State.SessionID != alice.Session || v.State.ReflectionDepth != 1 || v.State.ToolCallCount != 1 {
		t.Fatalf("resource state %+v", v.State)
	}
	text, _ = res.Read(context.Background(), Caller{Session: "other"})
	if !strings.Contains(text, `"session_id":"other"`) || strings.Contains(text, alice.Session) {
		t.Fatalf("resource shows another session: %s", text)
	}
}

// The observer never fails a call: a broken spiral table is logged.
func TestSpiralObserverNeverFailsACall(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	e, _ := newEngine(t, func(o *Options) {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: &lockedWriter{w: &buf, mu: &mu}, Level: hclog.Warn})
	})
	if _, err := e.db.Exec(`DROP TABLE spiral_sessions`); err != nil {
		t.Fatal(err)
	}
	mustCall(t, e, alice, "my_toolkit", `{}`)
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(buf.String(), "cannot count the call") || !strings.Contains(buf.String(), "my_toolkit") {
		t.Fatalf("no warning logged: %q", buf.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
