package engine

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestReflectionSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	many := `[` + strings.Repeat(`"x",`, maxReflectItems) + `"x"]`
	cases := []struct{ tool, args, field string }{
		{"mark_uncertainty", `{"what":"a","confidence":0.5}`, "why"},
		{"mark_uncertainty", `{"what":"a","why":"b","confidence":1.5}`, "/confidence"},
		{"mark_uncertainty", `{"what":"a","why":"b","confidence":0.5,"what_would_help":"docs"}`, "/what_would_help"},
		{"mark_uncertainty", `{"what":"a","why":"b","confidence":0.5,"what_would_help":` + many + `}`, "/what_would_help"},
		{"mark_uncertainty", `{"what":"  ","why":"b","confidence":0.5}`, "/what"},
		{"mark_uncertainty", `{"what":"a","why":"b","confidence":0.5,"helps":[]}`, "helps"},
		{"resolve_uncertainty", `{"resolution":"r"}`, "marker_id"},
		{"resolve_uncertainty", `{"marker_id":"../unc","resolution":"r"}`, "/marker_id"},
		{"resolve_uncertainty", `{"marker_id":"unc_00000000","resolution":"r","discovered_together":"yes"}`, "/discovered_together"},
		{"get_unresolved_uncertainties", `{"limit":0}`, "/limit"},
		{"get_unresolved_uncertainties", `{"limit":201}`, "/limit"},
		{"get_unresolved_uncertainties", `{"offset":-1}`, "/offset"},
		{"agent_reflect", `{"observation":"o","pattern_type":"joy"}`, "/pattern_type"},
		{"agent_reflect", `{"pattern_type":"strength"}`, "observation"},
		{"agent_reflect", `{"observation":"o","pattern_type":"strength","confidence":-0.1}`, "/confidence"},
		{"propose_experiment", `{"what":"w","why":"y"}`, "hope_to_learn"},
		{"propose_experiment", `{"what":"w","why":"y","hope_to_learn":"h","risks":[1]}`, "/risks/0"},
		{"complete_experiment", `{"experiment_id":"exp_1"}`, "results"},
		{"end_session_review", `{"what_went_well":[],"what_i_learned":["x"]}`, "/what_went_well"},
		{"end_session_review", `{"what_went_well":["x"]}`, "what_i_learned"},
		{"end_session_review", `{"what_went_well":["x"],"what_i_learned":["y"],"breakthroughs":[""]}`, "/breakthroughs/0"},
		{"get_growth_summary", `{"all":true}`, "all"},
	}
	for _, tc := range cases {
		t.Run(tc.tool+" "+tc.field, func(t *testing.T) {
			_, err := call(t, e, alice, tc.tool, tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	var n int
	if err := e.db.QueryRow(`SELECT (SELECT count(*) FROM uncertainties) + (SELECT count(*) FROM agent_reflections)
		+ (SELECT count(*) FROM experiments) + (SELECT count(*) FROM session_reviews)`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("rejected calls stored %d records (%v)", n, err)
	}
}

// Regression: the original dropped what_would_help and used list-length
// ids; resolving twice or an unknown marker was not an error.
func TestUncertaintyLifecycle(t *testing.T) {
	e, _ := newEngine(t)
	var u uncertainty
	dataOf(t, mustCall(t, e, alice, "mark_uncertainty",
		`{"what":"is WAL safe on NFS","why":"locking","confidence":0.3,"what_would_help":["read the SQLite FAQ","test on NFS"]}`), &u)
	if !regexp.MustCompile(`^unc_[0-9a-f]{8}$`).MatchString(u.ID) || len(u.WhatWouldHelp) != 2 {
		t.Fatalf("marked %+v", u)
	}
	bob := Caller{Session: "session-bob", Principal: "user:bob"}
	for i := range 3 {
		mustCall(t, e, bob, "mark_uncertainty", fmt.Sprintf(`{"what":"q%d","why":"w","confidence":0.5}`, i))
	}
	var page struct {
		Total int           `json:"total"`
		List  []uncertainty `json:"uncertainties"`
	}
	res := mustCall(t, e, bob, "get_unresolved_uncertainties", `{"limit":2,"offset":2}`)
	dataOf(t, res, &page)
	if page.Total != 4 || len(page.List) != 2 || page.List[1].ID != u.ID || page.List[1].WhatWouldHelp[1] != "test on NFS" {
		t.Fatalf("page %+v", page)
	}
	if !strings.Contains(res.Text, "read the SQLite FAQ") {
		t.Fatalf("text does not show what would help: %s", res.Text)
	}

	var r uncertainty
	dataOf(t, mustCall(t, e, bob, "resolve_uncertainty", `{"marker_id":"`+u.ID+`","resolution":"no: use a local disk"}`), &r)
	if r.ResolvedAt == "" || r.Resolution != "no: use a local disk" || r.DiscoveredTogether == nil || !*r.DiscoveredTogether || len(r.WhatWouldHelp) != 2 {
		t.Fatalf("resolved %+v", r)
	}
	_, err := call(t, e, alice, "resolve_uncertainty", `{"marker_id":"`+u.ID+`","resolution":"again","discovered_together":false}`)
	wantError(t, err, CategoryConflict, u.ID)
	_, err = call(t, e, alice, "resolve_uncertainty", `{"marker_id":"unc_ffffffff","resolution":"x"}`)
	wantError(t, err, CategoryNotFound, "unc_ffffffff")
	var resolution string
	if err := e.db.QueryRow(`SELECT resolution FROM uncertainties WHERE id = ?`, u.ID).Scan(&resolution); err != nil || resolution != "no: use a local disk" {
		t.Fatalf("the second resolution overwrote the first: %q %v", resolution, err)
	}
	dataOf(t, mustCall(t, e, alice, "get_unresolved_uncertainties", `{}`), &page)
	if page.Total != 3 {
		t.Fatalf("after resolving: %d open", page.Total)
	}
	for _, x := range page.List {
		if x.ID == u.ID {
			t.Fatal("resolved marker still listed")
		}
	}
}

// Regression: the original dropped risks and mitigations, and had no
// guard against completing twice.
func TestExperimentLifecycle(t *testing.T) {
	e, _ := newEngine(t)
	var x experiment
	dataOf(t, mustCall(t, e, alice, "propose_experiment",
		`{"what":"shard the index","why":"speed","hope_to_learn":"p99","risks":["data loss"],"mitigations":["backup first"]}`), &x)
	if !regexp.MustCompile(`^exp_[0-9a-f]{8}$`).MatchString(x.ID) || x.Status != "proposed" {
		t.Fatalf("proposed %+v", x)
	}
	var done experiment
	dataOf(t, mustCall(t, e, alice, "complete_experiment", `{"experiment_id":"`+x.ID+`","results":"2x faster"}`), &done)
	if done.Status != "completed" || done.Results != "2x faster" || done.CompletedAt == "" ||
		len(done.Risks) != 1 || done.Risks[0] != "data loss" || len(done.Mitigations) != 1 || done.Mitigations[0] != "backup first" {
		t.Fatalf("completed (read back from the store) %+v", done)
	}
	_, err := call(t, e, alice, "complete_experiment", `{"experiment_id":"`+x.ID+`","results":"3x"}`)
	wantError(t, err, CategoryConflict, x.ID)
	_, err = call(t, e, alice, "complete_experiment", `{"experiment_id":"exp_00000000","results":"3x"}`)
	wantError(t, err, CategoryNotFound, "exp_00000000")
}

func TestAgentReflectReviewAndGrowthSummary(t *testing.T) {
	e, _ := newEngine(t)
	bob := Caller{Session: "session-bob", Principal: "user:bob"}
	var ref struct {
		ID         string  `json:"id"`
		Confidence float64 `json:"confidence"`
		Count      int     `json:"pattern_count"`
	}
	dataOf(t, mustCall(t, e, alice, "agent_reflect", `{"observation":"I test first","pattern_type":"strength"}`), &ref)
	if ref.Confidence != 0.7 || ref.Count != 1 || !strings.HasPrefix(ref.ID, "ref_") {
		t.Fatalf("reflect %+v", ref)
	}
	dataOf(t, mustCall(t, e, bob, "agent_reflect", `{"observation":"I rush","pattern_type":"struggle","confidence":0.9}`), &ref)
	if ref.Confidence != 0.9 {
		t.Fatalf("confidence %v", ref.Confidence)
	}
	mustCall(t, e, bob, "agent_reflect", `{"observation":"I test often","pattern_type":"strength","confidence":0}`)
	var rev map[string]any
	dataOf(t, mustCall(t, e, alice, "end_session_review",
		`{"what_went_well":["tests"],"what_i_learned":["WAL"],"breakthroughs":["fts"],"did_we_discover_together":true}`), &rev)
	if !strings.HasPrefix(rev["id"].(string), "rev_") {
		t.Fatalf("review %+v", rev)
	}
	mustCall(t, e, bob, "mark_uncertainty", `{"what":"a","why":"b","confidence":0.1}`)
	var u uncertainty
	dataOf(t, mustCall(t, e, bob, "mark_uncertainty", `{"what":"c","why":"d","confidence":0.2}`), &u)
	mustCall(t, e, alice, "resolve_uncertainty", `{"marker_id":"`+u.ID+`","resolution":"e"}`)
	mustCall(t, e, alice, "propose_experiment", `{"what":"w","why":"y","hope_to_learn":"h"}`)

	var g growthSummary
	res := mustCall(t, e, Caller{Session: "third"}, "get_growth_summary", `{}`)
	dataOf(t, res, &g)
	if g.Reflections["strength"] != 2 || g.Reflections["struggle"] != 1 || g.Reflections["curiosity"] != 0 {
		t.Errorf("reflections %+v", g.Reflections)
	}
	if g.Uncertainties.Open != 1 || g.Uncertainties.Resolved != 1 || g.Uncertainties.DiscoveredTogether != 1 {
		t.Errorf("uncertainties %+v", g.Uncertainties)
	}
	if g.Experiments["proposed"] != 1 || g.Experiments["completed"] != 0 {
		t.Errorf("experiments %+v", g.Experiments)
	}
	if g.Reviews.Count != 1 || g.Reviews.DiscoveredTogether != 1 || g.Reviews.Latest == "" {
		t.Errorf("reviews %+v", g.Reviews)
	}
	if !strings.Contains(res.Text, "strength 2") || !strings.Contains(res.Text, "1 open, 1 resolved") {
		t.Errorf("text %s", res.Text)
	}
}
