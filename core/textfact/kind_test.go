package textfact

import "testing"

func TestKindByName(t *testing.T) {
	a := New(Options{
		CommandArgs: []string{"Program"},
		SQLArgs:     []string{"cypher_text"},
		URLArgs:     []string{"target", "query"}, // a configured name beats a default
	})
	tests := []struct{ key, kind string }{
		{"command", KindCommand}, {"CMD", KindCommand}, {"script", KindCommand}, {"Shell", KindCommand},
		{"exec", KindCommand}, {"args", KindCommand}, {"commandline", KindCommand}, {"command_line", KindCommand},
		{"commandLine", KindCommand}, {"run_command", KindCommand}, {"shellCmd", KindCommand}, {"program", KindCommand},
		{"sql", KindSQL}, {"SQL", KindSQL}, {"statement", KindSQL}, {"stmt", KindSQL}, {"sqlQuery", KindSQL},
		{"sql_text", KindSQL}, {"CypherText", KindSQL}, {"cypher-text", KindSQL},
		{"query", KindURL}, // configured
		{"url", KindURL}, {"URI", KindURL}, {"href", KindURL}, {"endpoint", KindURL}, {"link", KindURL},
		{"webhook", KindURL}, {"urls", KindURL}, {"baseURL", KindURL}, {"webhookUrl", KindURL}, {"redirect_uri", KindURL},
		{"URLPath", KindURL}, {"download-link", KindURL}, {"target", KindURL},
		{"search_query", KindText}, {"bank_statement", KindText}, {"tool_args", KindText},
		{"description", KindText}, {"text", KindText}, {"content", KindText}, {"", KindText},
		{"curl", KindText}, {"executive", KindText}, {"hyperlink", KindText},
	}
	for _, tt := range tests {
		f := one(t, a, tt.key, "x")
		if f.Kind != tt.kind {
			t.Errorf("key %q: kind %q, want %q", tt.key, f.Kind, tt.kind)
		}
	}
}

func TestKindNestedAndInherited(t *testing.T) {
	a := New(Options{})
	args := map[string]any{
		"Options": map[string]any{"Query": "SELECT 1", "limit": 5.0},
		"command": map[string]any{"argv": []any{"sh", "-c", "id"}, "env": map[string]any{"HOME": "/root"}},
		"webhook": map[string]any{"secret": "s3cret", "url": "https://hooks.example.com/x"},
		"items":   []any{map[string]any{"text": "hello"}, "https://example.com/a"},
		"note":    "see https://example.com",
	}
	want := map[string]string{
		"/Options/Query":    KindSQL,
		"/command/argv/0":   KindCommand,
		"/command/argv/2":   KindCommand,
		"/command/env/HOME": KindCommand,
		"/webhook/secret":   KindText,
		"/webhook/url":      KindURL,
		"/items/0/text":     KindText,
		"/items/1":          KindURL, // by value
		"/note":             KindText,
	}
	got := map[string]string{}
	for _, f := range a.Facts(args) {
		got[f.Pointer] = f.Kind
	}
	for p, k := range want {
		if got[p] != k {
			t.Errorf("%s: kind %q, want %q", p, got[p], k)
		}
	}
}

func TestKindURLByValue(t *testing.T) {
	a := New(Options{})
	for _, tt := range []struct {
		in  string
		url bool
	}{
		{"https://example.com/", true},
		{"HTTP://EXAMPLE.COM", true},
		{"  https://example.com/x  ", true},
		{"file:///etc/passwd", true},
		{"file:/etc/passwd", true},
		{"gopher://127.0.0.1:6379/_INFO", true},
		{"dict://localhost:11211/stat", true},
		{"ftp://10.0.0.1/pub", true},
		{"javascript:alert(1)", true},
		{"http:\\\\169.254.169.254\\latest", true},
		{"custom+scheme://host/x", true},
		{"C:\\Windows\\System32", false},
		{"c://foo", false},
		{"Note: remember the milk", false},
		{"TODO:fix", false},
		{"localhost:8080", false},
		{"std::vector<int>", false},
		{"see https://example.com for details", false},
		{"example.com/path", false},
		{"fe80::1", false},
	} {
		f := one(t, a, "value", tt.in)
		if (f.Kind == KindURL) != tt.url || (f.URL != nil) != tt.url {
			t.Errorf("%q: kind %q url %v, want url %v", tt.in, f.Kind, f.URL, tt.url)
		}
	}
	// A URL in a command argument keeps the command kind and gets a URL fact.
	f := one(t, a, "args", "http://169.254.169.254/latest/meta-data/")
	if f.Kind != KindCommand || f.URL == nil || !f.URL.Metadata {
		t.Errorf("command arg URL: kind %q url %+v", f.Kind, f.URL)
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		"webhookURL":  {"webhook", "url"},
		"URLPath":     {"url", "path"},
		"sql_query":   {"sql", "query"},
		"run-command": {"run", "command"},
		"a.b c":       {"a", "b", "c"},
		"__":          {""},
		"ÜberURL":     {"über", "url"},
	} {
		got := splitWords(in)
		if len(got) != len(want) {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
			}
		}
	}
}
