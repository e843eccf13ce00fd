package engine

import (
	"fmt"
	"strings"
	"testing"
)

func TestBriefingShowsSpiralAndUncertainties(t *testing.T) {
	e, _ := newEngine(t)
	mustCall(t, e, alice, "spiral_reflect", `{"observation":"o"}`)
	for i := range 7 {
		mustCall(t, e, alice, "mark_uncertainty", fmt.Sprintf(`{"what":"question %d","why":"w","confidence":0.4,"what_would_help":["help %d"]}`, i, i))
	}
	res := mustCall(t, e, alice, "where_did_i_leave_off", `{}`)
	for _, want := range []string{"## Spiral", `session "session-alice"`, "8 tool calls", "reflection depth 1",
		"## Unresolved uncertainties (newest 5 of 7", "question 6", "would help: help 6"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("briefing does not show %q:\n%s", want, res.Text)
		}
	}
	if strings.Contains(res.Text, "question 1") {
		t.Errorf("briefing shows more than %d uncertainties:\n%s", briefUncertaintyMax, res.Text)
	}
	bob := Caller{Session: "session-bob"}
	res = mustCall(t, e, bob, "where_did_i_leave_off", `{}`)
	if !strings.Contains(res.Text, `session "session-bob": Initialization`) || strings.Contains(res.Text, "8 tool calls") {
		t.Errorf("bob's briefing shows another session's spiral:\n%s", res.Text)
	}
}

// Every tool of the engine has a kind for the spiral's table.
func TestEveryToolHasASpiralKind(t *testing.T) {
	e, _ := newEngine(t)
	for _, tool := range e.Registry().Tools() {
		if kindOf(tool) == kindNone {
			t.Errorf("%s (%s, %s) moves no phase", tool.Name, tool.Effect, tool.Intent)
		}
	}
}
