package policy_test

import (
	"context"
	"os"
	"testing"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/policies"
)

// typicalInput is a tools/call of a filesystem read with its facts, as the
// gate builds it.
func typicalInput(content string) map[string]any {
	in := map[string]any{
		"v": 1, "phase": "call", "method": "tools/call",
		"principal": map[string]any{"kind": "os_user", "id": "alice", "claims": map[string]any{}},
		"client":    map[string]any{"name": "claude-ai", "version": "1"},
		"session":   map[string]any{"id": "s", "call_count": 3},
		"upstream":  map[string]any{"name": "fs", "transport": "stdio"},
		"tool": map[string]any{"name": "fs__read_text_file", "upstream_name": "read_text_file",
			"annotations": map[string]any{"readOnlyHint": true}, "effect": "read"},
		"args": map[string]any{"path": "/home/alice/projects/notes.md"},
		"facts": map[string]any{
			"home": "/home/alice", "roots": []any{"/home/alice"},
			"paths": []any{map[string]any{"pointer": "/path", "raw": "/home/alice/projects/notes.md",
				"canonical": "/home/alice/projects/notes.md", "within_roots": true, "root": "/home/alice",
				"traversal": false, "encoded": false, "nul": false, "lookalike": false, "windows_form": false,
				"uri": false, "sensitive": false, "is_symlink": false, "exists": true, "writable": true}},
			"strings": []any{map[string]any{"pointer": "/path", "name": "path", "len": 29, "truncated": false,
				"kind": "text", "normalized": "/home/alice/projects/notes.md"}},
			"strings_omitted": 0, "strings_incomplete": false,
		},
	}
	if content != "" {
		tool := in["tool"].(map[string]any)
		tool["name"], tool["upstream_name"], tool["effect"] = "fs__write_file", "write_file", "destructive"
		tool["annotations"] = map[string]any{"readOnlyHint": false, "destructiveHint": true}
		in["args"].(map[string]any)["content"] = content
		facts := in["facts"].(map[string]any)
		facts["strings"] = append(facts["strings"].([]any), map[string]any{"pointer": "/content", "name": "content",
			"len": len(content), "truncated": false, "kind": "text", "normalized": content})
	}
	return in
}

// BenchmarkDecide measures one decision of the default library: a read, and
// a write carrying a 500-byte markdown note.
func BenchmarkDecide(b *testing.B) {
	e, err := policy.New(context.Background(), policy.Options{Builtin: policies.FS})
	if err != nil {
		b.Fatal(err)
	}
	note := "# Notes\n\nRun `make test` before you push; `$(go env GOPATH)` is where modules live. " +
		"The SQL tutorial shows how to SELECT name FROM users WHERE id = 1. Ignore the whitespace in the diff. " +
		"See https://go.dev/doc for more, and keep the changelog short. " +
		"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
	for _, bc := range []struct {
		name  string
		input map[string]any
	}{{"read", typicalInput("")}, {"write-500B", typicalInput(note)}} {
		b.Run(bc.name, func(b *testing.B) {
			if d := e.Decide(context.Background(), bc.input); !d.Allow {
				b.Fatalf("benign call denied: %+v", d.Reasons)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Decide(context.Background(), bc.input)
			}
		})
	}
}

// BenchmarkDecideParts measures each rule package of the default library on
// its own (a read), next to what OPA costs for next to nothing: reading one
// input field, and a one-rule decision with one rate-limit obligation.
// Their difference is what a package costs; the floor is OPA's.
func BenchmarkDecideParts(b *testing.B) {
	floor := b.TempDir() + "/floor.rego"
	if err := os.WriteFile(floor, []byte(`package floor

decision := {"allow": true, "reasons": [], "obligations": [{
	"type": "rate_limit", "limit": 600, "window": "1m", "burst": 120,
	"key": concat(":", ["calls", input.principal.id, input.upstream.name, input.tool.name]),
}]}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	parts := []struct{ name, query string }{
		{"floor-input-field", "input.v"},
		{"floor-one-rule", "data.floor.decision"},
		{"contract", "data.sovereign.rules.contract.deny"},
		{"paths", "data.sovereign.rules.paths.deny"},
		{"permissions", "data.sovereign.rules.permissions.deny | data.sovereign.rules.permissions.obligations"},
		{"injection", "data.sovereign.rules.injection.deny"},
		{"ratelimit", "data.sovereign.rules.ratelimit.obligations"},
		{"whole-decision", policy.DefaultQuery},
	}
	input := typicalInput("")
	for _, p := range parts {
		e, err := policy.New(context.Background(), policy.Options{Builtin: policies.FS, Paths: []string{floor}, Query: p.query})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				e.Decide(context.Background(), input)
			}
		})
	}
}
