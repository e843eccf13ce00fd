package proxy

import (
	"context"
	"regexp"
	"testing"
)

func TestAllowKnown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		allow  bool
	}{
		{"initialize", true},
		{"ping", true},
		{"tools/list", true},
		{"tools/call", true},
		{"resources/read", true},
		{"prompts/get", true},
		{"completion/complete", true},
		{"resources/subscribe", true},
		{"logging/setLevel", true},
		{"tasks/list", false},
		{"sampling/createMessage", false}, // a server→client method sent by a client
		{"", false},
	}
	ids := map[string]bool{}
	for _, tc := range tests {
		d := AllowKnown{}.Decide(context.Background(), &Request{Phase: PhaseCall, Method: tc.method})
		if d.Allow != tc.allow {
			t.Errorf("%q: allow = %v, want %v (%s)", tc.method, d.Allow, tc.allow, d.Reason)
		}
		if !tc.allow && d.Reason == "" {
			t.Errorf("%q: a denial without a reason", tc.method)
		}
		if ids[d.ID] || !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(d.ID) {
			t.Errorf("%q: decision id %q is not a fresh UUID", tc.method, d.ID)
		}
		ids[d.ID] = true
	}
}

func TestDenialResult(t *testing.T) {
	t.Parallel()
	res := denial(Decision{ID: "d-9", Reason: "writes outside the roots"})
	if !res.IsError || len(res.Content) != 1 {
		t.Fatalf("denial = %+v", res)
	}
	meta, ok := res.Meta.AdditionalFields[DecisionMetaKey].(map[string]any)
	if !ok || meta["id"] != "d-9" || meta["reason"] != "writes outside the roots" || meta["allow"] != false {
		t.Fatalf("denial _meta = %+v", res.Meta.AdditionalFields)
	}
	if empty := denial(Decision{ID: "d-10"}); empty.Meta.AdditionalFields[DecisionMetaKey].(map[string]any)["reason"] == "" {
		t.Fatal("a denial without a reason must still say something")
	}
}
