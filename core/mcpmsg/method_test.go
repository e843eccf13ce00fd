package mcpmsg

import "testing"

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method string
		want   Class
	}{
		{"initialize", Plumbing},
		{"ping", Plumbing},
		{"logging/setLevel", Plumbing},
		{"tools/list", List},
		{"resources/templates/list", List},
		{"tools/call", Act},
		{"resources/read", Act},
		{"prompts/get", Act},
		{"resources/subscribe", Subscribe},
		{"completion/complete", Complete},
		{"tasks/list", Unknown},
		{"tools/Call", Unknown},
		{"", Unknown},
		{"notifications/initialized", Unknown}, // notifications are not requests
	}
	for _, tc := range tests {
		if got := Classify(tc.method); got != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.method, got, tc.want)
		}
	}
}
