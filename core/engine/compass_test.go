package engine

import (
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/core/engine/compass"
)

func TestCompassSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	long := strings.Repeat("a", maxCompassText+1)
	for _, tc := range []struct{ name, args, field string }{
		{"no action", `{}`, "action"},
		{"bad stakes", `{"action":"ls","stakes":"extreme"}`, "/stakes"},
		{"action too long", `{"action":"` + long + `"}`, "/action"},
		{"simulation was removed", `{"action":"ls","with_simulation":true}`, "with_simulation"},
		{"only invisible characters", `{"action":"\u200b\u200d"}`, "/action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "compass_check", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

// B6: the original matched substrings of lower-cased text, and stakes low,
// medium and high behaved alike.
func TestCompassRegressions(t *testing.T) {
	e, _ := newEngine(t)
	for _, tc := range []struct {
		name, action, stakes, want string
		signal                     string // kind:match-substring that must fire
		notSignal                  string // kind that must not fire
	}{
		{"git push -f pauses", "git push -f origin main", "medium", compass.Pause, "destructive:git push -f", ""},
		{"rm -r -f pauses", "rm -r -f ~/important", "medium", compass.Pause, "destructive:rm -r -f", ""},
		{"zero-width space inside rm -rf", "r\u200bm -\u200brf /var/data", "medium", compass.Pause, "destructive:rm -rf", ""},
		{"fullwidth letters", "ｒｍ －ｒｆ ／ｓｒｖ", "medium", compass.Pause, "destructive:rm -rf", ""},
		{"thread does not contain the word read", "update the thread index", "critical", compass.Pause, "write:update", ""},
		{"abandoned does not contain the word done", "summarize abandoned branches", "medium", compass.Proceed, "", "definitive"},
		{"the model is not a witness signal", "Ship the model weights to prod", "medium", compass.Pause, "externalize:ship", "witness"},
		{"an ethics question is", "Is it ethical to read their private messages?", "low", compass.Witness, "witness:is it ethical", ""},
		{"low stakes: amend proceeds with verifications", "git commit --amend", "low", compass.Proceed, "reversible:amend", ""},
		{"critical stakes: amend pauses", "git commit --amend", "critical", compass.Pause, "reversible:amend", ""},
		{"high stakes: a write pauses", "create the changelog file", "high", compass.Pause, "write:create", ""},
		{"medium stakes: the same write proceeds", "create the changelog file", "medium", compass.Proceed, "write:create", ""},
		{"critical stakes: explicit read proceeds", "git log --oneline", "critical", compass.Proceed, "", "write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustCall(t, e, alice, "compass_check", `{"action":"`+tc.action+`","stakes":"`+tc.stakes+`"}`)
			var got compass.Result
			dataOf(t, res, &got)
			if got.Classification != tc.want || string(got.Stakes) != tc.stakes {
				t.Fatalf("%q at %s: %s (%s); signals %v", tc.action, tc.stakes, got.Classification, got.Rationale, got.Signals)
			}
			if tc.signal != "" {
				kind, match, _ := strings.Cut(tc.signal, ":")
				found := false
				for _, s := range got.Signals {
					found = found || (s.Kind == kind && strings.Contains(s.Match, match))
				}
				if !found {
					t.Errorf("no %s signal matching %q: %v", kind, match, got.Signals)
				}
			}
			for _, s := range got.Signals {
				if s.Kind == tc.notSignal {
					t.Errorf("unexpected %s signal %q", s.Kind, s.Match)
				}
			}
			if !strings.HasPrefix(res.Text, got.Classification) {
				t.Errorf("text %q does not start with the classification", res.Text)
			}
			if got.Classification == compass.Proceed && got.Signals != nil && len(got.Signals) > 0 && len(got.Verifications) == 0 {
				t.Errorf("proceeding despite signals without verifications")
			}
		})
	}
	// The rationale for "update the thread index" never cites "read".
	res := mustCall(t, e, alice, "compass_check", `{"action":"update the thread index","stakes":"critical"}`)
	var got compass.Result
	dataOf(t, res, &got)
	if strings.Contains(got.Rationale, `"read"`) || len(got.ReadOnly) != 0 {
		t.Fatalf("rationale %q, read-only signals %v", got.Rationale, got.ReadOnly)
	}
}
