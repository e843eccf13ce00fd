package engine

import (
	"context"
	"database/sql"
	"reflect"
	"testing"
)

// Imported records keep their ids and times, are not imported twice, and
// come back out unchanged; the tools work on them.
func TestReflectionPortRoundTrip(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	yes := true
	unc := []uncertainty{
		{ID: "uncertainty_0", Timestamp: "2026-05-01T10:00:00.000000Z", SessionID: "spiral_20260501_100000", What: "a", Why: "b",
			Confidence: 0.4, WhatWouldHelp: []string{"docs"}},
		{ID: "uncertainty_1", Timestamp: "2026-05-02T10:00:00.000000Z", What: "c", Why: "d", Confidence: 0.9,
			WhatWouldHelp: []string{}, ResolvedAt: "2026-05-03T10:00:00.000000Z", Resolution: "e", DiscoveredTogether: &yes},
	}
	refl := agentReflection{ID: "reflection_0", Timestamp: "2026-05-01T11:00:00.000000Z", Observation: "o", PatternType: "curiosity", Confidence: 0.7}
	exp := experiment{ID: "exp_0", Timestamp: "2026-05-01T12:00:00.000000Z", What: "w", Why: "y", HopeToLearn: "h",
		Risks: []string{"r"}, Mitigations: []string{"m"}, Status: "proposed"}
	rev := sessionReview{ID: "review_0", Timestamp: "2026-05-01T13:00:00.000000Z", WhatWentWell: []string{"x"},
		WhatIStruggledWith: []string{}, WhatILearned: []string{"y"}, Breakthroughs: []string{}, DidWeDiscoverTogether: true}
	spiral := spiralState{SessionID: "spiral_20260501_100000", SpiralID: "spiral_20260501_100000", PhaseIndex: 6,
		ToolCallCount: 4000, ReflectionDepth: 12, Started: "2026-05-01T10:00:00.000000Z", Updated: "2026-05-01T14:00:00.000000Z"}
	for range 2 { // the second import inserts nothing
		var inserted int
		err := inTx(ctx, e.db, func(tx *sql.Tx) error {
			for _, u := range unc {
				ok, err := insertUncertaintyRow(ctx, tx, u, "user:alice")
				if err != nil {
					return err
				}
				inserted += insertedCount(ok)
			}
			for _, f := range []func() (bool, error){
				func() (bool, error) { return insertReflectionRow(ctx, tx, refl) },
				func() (bool, error) { return insertExperimentRow(ctx, tx, exp, "") },
				func() (bool, error) { return insertReviewRow(ctx, tx, rev) },
				func() (bool, error) { return insertSpiralRow(ctx, tx, spiral) },
			} {
				ok, err := f()
				if err != nil {
					return err
				}
				inserted += insertedCount(ok)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if inserted != 0 && inserted != 6 {
			t.Fatalf("inserted %d", inserted)
		}
	}
	var gotU []uncertainty
	if err := eachUncertainty(ctx, e.db, func(u uncertainty, p string) error {
		if p != "user:alice" {
			t.Errorf("principal %q", p)
		}
		gotU = append(gotU, u)
		return nil
	}); err != nil || !reflect.DeepEqual(gotU, unc) {
		t.Fatalf("uncertainties %+v (%v), want %+v", gotU, err, unc)
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %+v (%v), want %+v", name, got, err, want)
		}
	}
	var gr agentReflection
	err := eachReflection(ctx, e.db, func(r agentReflection) error { gr = r; return nil })
	check("reflection", gr, refl, err)
	var gx experiment
	err = eachExperiment(ctx, e.db, func(x experiment, _ string) error { gx = x; return nil })
	check("experiment", gx, exp, err)
	var gv sessionReview
	err = eachReview(ctx, e.db, func(v sessionReview) error { gv = v; return nil })
	check("review", gv, rev, err)
	var gs spiralState
	err = eachSpiral(ctx, e.db, func(s spiralState) error { gs = s; return nil })
	spiral.Phase, spiral.Stored = "Meta-Reflection", true
	check("spiral", gs, spiral, err)

	mustCall(t, e, alice, "resolve_uncertainty", `{"marker_id":"uncertainty_0","resolution":"found"}`)
	mustCall(t, e, alice, "complete_experiment", `{"experiment_id":"exp_0","results":"done"}`)
	var inh struct {
		State spiralState `json:"state"`
	}
	dataOf(t, mustCall(t, e, alice, "spiral_inherit", `{"session_id":"spiral_20260501_100000"}`), &inh)
	if inh.State.InheritedFrom != "spiral_20260501_100000" {
		t.Fatalf("inherit from an imported spiral: %+v", inh.State)
	}
	if i, ok := phaseIndex("Coherence Check"); !ok || i != 8 {
		t.Fatal("phaseIndex")
	}
	if _, ok := phaseIndex("Transcendence"); ok {
		t.Fatal("phaseIndex accepted an unknown phase")
	}
}

func insertedCount(b bool) int {
	if b {
		return 1
	}
	return 0
}
