package config

import (
	"strings"
	"testing"
	"time"
)

func TestMatchTool(t *testing.T) {
	t.Parallel()
	s := Server{Tools: map[string]Tool{
		"run":        {Effect: EffectExec},
		"exec_*":     {Effect: EffectExec},
		"exec_py*":   {Effect: EffectDestructive},
		"*_file":     {Effect: EffectWrite},
		"read_file":  {Effect: EffectRead},
		"get_?":      {Effect: EffectRead},
		"*":          {},
		"b*":         {},
		"a*":         {},
		"db.*.query": {Effect: EffectRead},
	}}
	for _, tc := range []struct {
		name, want string
	}{
		{"run", "run"},
		{"read_file", "read_file"},       // exact beats every glob
		{"write_file", "*_file"},         // the only glob but "*" with more characters
		{"exec_ls", "exec_*"},            // exec_* beats *
		{"exec_python", "exec_py*"},      // more literal characters win
		{"exec_", "exec_*"},              // "*" matches nothing too
		{"get_x", "get_?"},               // "?" is one character
		{"get_xy", "*"},                  // not two
		{"get_é", "get_?"},               // one character, not one byte
		{"ab", "a*"},                     // equally specific: byte order
		{"db.users.query", "db.*.query"}, // "*" spans dots
		{"runner", "*"},
		{"", "*"},
	} {
		got, ok := s.MatchTool(tc.name)
		if !ok || got != tc.want {
			t.Errorf("MatchTool(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	if key, ok := (Server{}).MatchTool("run"); ok || key != "" {
		t.Errorf("no tools: MatchTool = %q, %v", key, ok)
	}
	only := Server{Tools: map[string]Tool{"exec_*": {}, "run": {}}}
	if key, ok := only.MatchTool("list"); ok || key != "" {
		t.Errorf("no match: MatchTool = %q, %v", key, ok)
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"a*", "ba", false},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abcabc", true},
		{"a*b*c", "acb", false},
		{"a**", "a", true},
		{"?", "", false},
		{"?", "é", true},
		{"??", "é", false},
		{"*?", "é", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*.*", "a.b", true},
		{"*x*x*x*x*x*y", strings.Repeat("x", 40), false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestValidateTools(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		tools map[string]Tool
		want  []string // "path: message fragment", in order
	}{
		{"valid", map[string]Tool{
			"run":    {Effect: EffectExec, PathArgs: []string{"workdir", "/options/output", "/a~1b"}, CommandArgs: []string{"script"}, SQLArgs: []string{"q"}},
			"exec_*": {Effect: EffectDestructive},
			"ls":     {Effect: EffectRead},
			"put":    {Effect: EffectWrite},
			"noop":   {},
		}, nil},
		{"every problem, in key order", map[string]Tool{
			"run":  {Effect: "Exec", PathArgs: []string{"ok", "/~"}, SQLArgs: []string{"."}},
			"":     {},
			"a\nb": {},
		}, []string{
			`servers.local.tools."": a tool name must not be empty`,
			`servers.local.tools."a\nb": a tool name must not contain control characters`,
			`servers.local.tools.run.effect: must be one of read, write, destructive, exec, not "Exec"`,
			`servers.local.tools.run.path_args[1]: in a JSON pointer "~" must be followed`,
			`servers.local.tools.run.sql_args[0]: must be an argument name or a JSON pointer`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			cfg.Servers["local"] = Server{Command: "srv", Transport: TransportStdio, Timeout: Duration(time.Minute), Tools: tc.tools}
			ps := problemsOf(t, cfg.Validate())
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d: %v", len(ps), len(tc.want), ps)
			}
			for i, w := range tc.want {
				if !strings.Contains(ps[i].Error(), w) {
					t.Errorf("problem %d = %q, want %q", i, ps[i].Error(), w)
				}
			}
		})
	}
}
