package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)

func packet(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRouteDefaultSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, packet, want, outcome string
		wantErr                     error
	}{
		{"the original's example", `{"outcome":"success","tool_family":"search","episode_group":"10-19","step":5}`, "outcome=success/search/10-19/5.json", Routed, nil},
		{"default placeholder", `{"outcome":"failure","episode_group":"0-9","step":1}`, "outcome=failure/unknown/0-9/1.json", Routed, nil},
		{"confidence_path before the file", `{"outcome":"needs_input","episode_group":"0-9","step":2,"confidence_path":"/high_conf"}`, "outcome=needs_input/0-9/high-conf/2.json", Routed, nil},
		{"traversal in a value is one segment", `{"outcome":"success","tool_family":"../../../../etc","episode_group":"x","step":"passwd"}`, "outcome=success/etc/x/passwd.json", Routed, nil},
		{"slashes and backslashes in a value", `{"outcome":"success","tool_family":"a/b\\c","episode_group":"x","step":"y"}`, "outcome=success/a-b-c/x/y.json", Routed, nil},
		{"upper case and spaces", `{"outcome":"success","tool_family":"Web Search","episode_group":"x","step":"y"}`, "outcome=success/web-search/x/y.json", Routed, nil},
		{"missing key", `{"id":"ep-7"}`, "_intake/missing_metadata/ep-7_20261128t100000.000000z", MissingMetadata, nil},
		{"missing template value", `{"outcome":"success","tool_family":"search","step":1}`, "_intake/missing_metadata/unknown_20261128t100000.000000z", MissingMetadata, nil},
		{"no match", `{"outcome":"exploded","tool_family":"unknown-family","confidence":"high"}`, "", NoMatch, nil},
		{"empty value", `{"outcome":"success","tool_family":"..","episode_group":"x","step":"y"}`, "", "", ErrPacket},
		{"NUL value", `{"outcome":"success","tool_family":"\u0000","episode_group":"x","step":"y"}`, "", "", ErrPacket},
		{"object value", `{"outcome":"success","tool_family":{"a":1},"episode_group":"x","step":"y"}`, "", "", ErrPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Default().Route(packet(t, tc.packet), now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.outcome || (tc.want != "" && r.Path != tc.want) {
				t.Fatalf("route = %+v, want %s %s", r, tc.outcome, tc.want)
			}
			if strings.Contains(r.Path, "..") || strings.HasPrefix(r.Path, "/") {
				t.Fatalf("route %q escapes", r.Path)
			}
		})
	}
}

func TestPredicatesAndOrder(t *testing.T) {
	t.Parallel()
	s, err := Parse(json.RawMessage(`{"_skip":{"x":"never"},"size":{"==-1":"neg/{n}",">100":"big/{n}","10-100":"mid/{n}","<10":"small/{n}"},"kind":{"a|b":"ab/{n}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		`{"size":500,"n":1}`:            "size=gt_100/big/1",
		`{"size":10,"n":1}`:             "size=10-100/mid/1",
		`{"size":9.5,"n":1}`:            "size=lt_10/small/1",
		`{"size":-1,"n":1}`:             "size=eq_-1/neg/1",
		`{"size":"x","kind":"b","n":1}`: "kind=b/ab/1",
	} {
		r, err := s.Route(packet(t, p), now)
		if err != nil || r.Path != want {
			t.Errorf("%s: %+v %v, want %s", p, r, err, want)
		}
	}
	// Pipe lists match whole alternatives, never substrings.
	r, _ := s.Route(packet(t, `{"size":"x","kind":"abc","n":1}`), now)
	if r.Outcome != NoMatch {
		t.Errorf("substring matched a pipe list: %+v", r)
	}
}

func TestTemplateAndSchemaErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ schema, want string }{
		{`{"k":{"v":"{a.b}"}}`, "attribute access"},
		{`{"k":{"v":"{a[0]}"}}`, "attribute access"},
		{`{"k":{"v":"{a!r}"}}`, "attribute access"},
		{`{"k":{"v":"{a:>10}"}}`, "attribute access"},
		{`{"k":{"v":"{a"}}`, "without its '}'"},
		{`{"k":{"v":"a}"}}`, "without its '{'"},
		{`{"k":"flat"}`, "object of branches"},
		{`{"k":{"v":7}}`, "must be an object"},
		{`[]`, "expected"},
	} {
		_, err := Parse(json.RawMessage(tc.schema))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want %q", tc.schema, err, tc.want)
		}
	}
	// A template's own text cannot leave the root either.
	s, err := Parse(json.RawMessage(`{"k":{"v":"../../{n}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Route(map[string]any{"k": "v", "n": "x"}, now); !errors.Is(err, ErrEscape) {
		t.Fatalf("err = %v, want ErrEscape", err)
	}
}

func TestSegment(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"search": "search", "../../etc": "etc", "a/b": "a-b", `a\b`: "a-b", "A B": "a-b",
		"..": "", "/": "", "": "", "\x00": "", "-x": "x", "x.json": "x.json", strings.Repeat("a", 300): strings.Repeat("a", 128),
	} {
		got, ok := Segment(in)
		if got != want || ok != (want != "") {
			t.Errorf("Segment(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
