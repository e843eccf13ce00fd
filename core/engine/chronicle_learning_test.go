package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

type mistakesData struct {
	Learnings []learningRecord `json:"learnings"`
	Count     int              `json:"count"`
}

func TestRecordLearning(t *testing.T) {
	e, _ := newEngine(t)
	for _, tc := range []struct{ name, args, field string }{
		{"missing what_learned", `{"what_happened":"x"}`, "what_learned"},
		{"empty what_happened", `{"what_happened":"","what_learned":"y"}`, "/what_happened"},
		{"unknown argument", `{"what_happened":"x","what_learned":"y","lesson":"z"}`, "lesson"},
		// B2: applies_to was a file name under learnings/.
		{"traversal applies_to", `{"what_happened":"x","what_learned":"y","applies_to":"../../../tmp/pwned"}`, "/applies_to"},
		{"slash applies_to", `{"what_happened":"x","what_learned":"y","applies_to":"a/b"}`, "/applies_to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "record_learning", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	if n := countRows(t, e, "learnings"); n != 0 {
		t.Fatalf("%d learnings written by rejected calls", n)
	}
	res := mustCall(t, e, alice, "record_learning", `{"what_happened":"pushed without tests","what_learned":"run go test first"}`)
	var got learningRecord
	dataOf(t, res, &got)
	if got.AppliesTo != "general" || got.ID == 0 || got.SessionID != alice.Session || !strings.Contains(res.Text, "general") {
		t.Fatalf("learning %+v, text %q", got, res.Text)
	}
	dataOf(t, mustCall(t, e, alice, "record_learning", `{"what_happened":"x","what_learned":"y","applies_to":"Git, Release"}`), &got)
	if got.AppliesTo != "git,release" {
		t.Fatalf("applies_to %q", got.AppliesTo)
	}
}

func TestCheckMistakes(t *testing.T) {
	e, clock := newEngine(t)
	_, err := call(t, e, alice, "check_mistakes", `{}`)
	wantError(t, err, CategoryValidation, "context")
	if res := mustCall(t, e, alice, "check_mistakes", `{"context":"anything"}`); !strings.Contains(res.Text, "No recorded learning") {
		t.Fatalf("empty chronicle: %q", res.Text)
	}
	record := func(happened, learned, applies string) {
		mustCall(t, e, alice, "record_learning", fmt.Sprintf(`{"what_happened":%q,"what_learned":%q,"applies_to":%q}`, happened, learned, applies))
		clock.advance(time.Minute)
	}
	record("force-pushed over a colleague's commits", "never force push a shared branch", "git")
	record("migration ran twice", "make migrations idempotent", "database")
	for i := range 6 {
		record(fmt.Sprintf("unrelated mishap %d", i), "be careful", "general")
	}
	record("rebased and pushed", "push with lease after a rebase", "git,release")

	var got mistakesData
	dataOf(t, mustCall(t, e, alice, "check_mistakes", `{"context":"about to push a git branch"}`), &got)
	if got.Count != 2 {
		t.Fatalf("git context matched %d: %+v", got.Count, got.Learnings)
	}
	for _, l := range got.Learnings {
		if !strings.Contains(l.AppliesTo, "git") {
			t.Errorf("unrelated learning surfaced: %+v", l)
		}
	}
	// Ranking: the learning matching more of the context's words comes first.
	dataOf(t, mustCall(t, e, alice, "check_mistakes", `{"context":"force push"}`), &got)
	if got.Count == 0 || !strings.HasPrefix(got.Learnings[0].WhatHappened, "force-pushed") {
		t.Fatalf("force push: %+v", got.Learnings)
	}
	// A context with no words: the newest 5 (the original returned all).
	res := mustCall(t, e, alice, "check_mistakes", `{"context":"   "}`)
	dataOf(t, res, &got)
	if got.Count != 5 || got.Learnings[0].WhatHappened != "rebased and pushed" || !strings.Contains(res.Text, "newest 5") {
		t.Fatalf("blank context: %d, %q", got.Count, res.Text)
	}
	// Query syntax in the context is text.
	if _, err := call(t, e, alice, "check_mistakes", `{"context":"what_learned: NEAR(\"x\" OR *"}`); err != nil {
		t.Fatalf("syntax in context: %v", err)
	}
}
