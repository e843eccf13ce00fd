package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/policies"
)

// The benchmarks in this file measure how one decision scales with what an
// operator adds to the default library: many user rules, many permission
// entries, many injection patterns, and concurrent callers.

// scaleNote is a benign 500-byte markdown note (the body of a write_file
// call). It mentions many everyday words, so the keyword gate lets most of
// the generated injection patterns run on it; none of them matches.
const scaleNote = "# Weekly project notes\n\n" +
	"The team meeting moved to Thursday. Review the release plan before we deploy; " +
	"the budget update and the customer feedback are in the shared folder. " +
	"Design draft two is ready for review, the report needs one more pass, " +
	"and the server config changed after the backup on Monday. " +
	"Support asked whether the schedule still holds; the ticket stays open until " +
	"the metrics look right. Keep the roadmap tidy and link the planning doc. " +
	"Lorem ipsum dolor sit amet, consectetur adipiscing."

// patternKeywords are the keywords of the generated patterns; the first 20
// occur in scaleNote, the last 5 do not.
var patternKeywords = []string{
	"project", "meeting", "review", "release", "deploy", "budget", "customer", "feedback", "design", "draft",
	"report", "update", "config", "server", "backup", "support", "schedule", "ticket", "metrics", "roadmap",
	"invoice", "contract", "travel", "payroll", "vendor",
}

// patternShapes are the templates of the generated patterns: %[1]s is the
// keyword, %03[2]d a per-pattern number that never occurs in the note, so
// each pattern is distinct and scans the whole text without matching.
var patternShapes = []string{
	`(?i)\b%[1]s\b[^.\n]{0,80}\b(?:send|upload|post|forward)\s+(?:it\s+)?to\s+(?:https?://)?[a-z0-9.-]*ext-%03[2]d\b`,
	`(?i)\b(?:ignore|skip|bypass)\s+(?:the\s+)?%[1]s\s+(?:check|gate|policy)\s*#%03[2]d\b`,
	`(?i)%[1]s[-_ ]?(?:token|secret|key)[-_ ]?%03[2]d\s*[:=]\s*\S{8,}`,
	`(?i)\b%[1]s\s+(?:override|escalation)\s+code\s+[a-z]{2}%03[2]d\b`,
}

// newBenchEngine builds an engine over the embedded library plus opts.
func newBenchEngine(b *testing.B, opts policy.Options) *policy.Engine {
	b.Helper()
	opts.Builtin = policies.FS
	e, err := policy.New(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// writeJSON writes v as a JSON data file into dir and returns its path.
func writeJSON(b *testing.B, dir, name string, v any) string {
	b.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return p
}

// userRule is the body of generated rule i; rules rotate through five
// shapes users write: a retired tool, an upstream reserved to operators, a
// path prefix nobody may name, a prefix writing tools may not name, and a
// tool glob of the "fs" upstream (which the typical input passes, so that
// rule evaluates further). None fires for typicalInput.
func userRule(i int) string {
	var body string
	switch i % 5 {
	case 0:
		body = fmt.Sprintf(`	input.tool.name == "legacy__tool_%04d"
	msg := sprintf("tool %%s is retired", [input.tool.name])`, i)
	case 1:
		body = fmt.Sprintf(`	input.upstream.name == "svc%04d"
	not input.principal.id in {"ops", "admin"}
	msg := sprintf("upstream %%s is reserved to operators", [input.upstream.name])`, i)
	case 2:
		body = fmt.Sprintf(`	some p in input.facts.paths
	lib.under(p.canonical, "/srv/restricted-%04d")
	msg := sprintf("path %%s is restricted", [lib.short(p.canonical)])`, i)
	case 3:
		body = fmt.Sprintf(`	lib.writes
	some p in input.facts.paths
	lib.under(p.canonical, "/home/alice/archive-%04d")
	msg := sprintf("path %%s is archived", [lib.short(p.canonical)])`, i)
	default:
		body = fmt.Sprintf(`	input.upstream.name == "fs"
	glob.match("fs__purge_%04d*", null, input.tool.name)
	msg := sprintf("tool %%s may not purge", [input.tool.name])`, i)
	}
	return fmt.Sprintf(`# METADATA
# title: user rule %04[1]d
# custom:
#   id: USR-%04[1]d
deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
%[2]s
}
`, i, body)
}

// writeUserRules writes rules deny rules spread over pkgs packages
// (data.sovereign.rules.user_NNNN, one file each, consecutive rules
// together) and returns the directory.
func writeUserRules(b *testing.B, rules, pkgs int) string {
	b.Helper()
	dir := b.TempDir()
	per := rules / pkgs
	for p := range pkgs {
		var body strings.Builder
		usesLib := false
		for i := p * per; i < (p+1)*per; i++ {
			r := userRule(i)
			usesLib = usesLib || strings.Contains(r, "lib.")
			body.WriteString("\n")
			body.WriteString(r)
		}
		src := fmt.Sprintf("package sovereign.rules.user_%04d\n", p)
		if usesLib {
			src += "\nimport data.sovereign.lib\n"
		}
		src += body.String()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("user_%04d.rego", p)), []byte(src), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// denyEntries builds n entries of permissions.deny: principals, upstreams
// and tool globs that the typical input does not match (a third of them
// name the "fs" upstream, so their tool glob is tried).
func denyEntries(n int) map[string]any {
	out := make(map[string]any, n)
	for i := range n {
		var e map[string]any
		switch i % 3 {
		case 0:
			e = map[string]any{"principal": fmt.Sprintf("contractor-%04d", i), "reason": "contractors have no tool access"}
		case 1:
			e = map[string]any{"upstream": fmt.Sprintf("svc%04d", i), "tool": "*", "reason": "upstream retired"}
		default:
			e = map[string]any{"upstream": "fs", "tool": fmt.Sprintf("purge_%04d*", i), "reason": "no purging"}
		}
		out[fmt.Sprintf("DENY-%04d", i)] = e
	}
	return out
}

// wantDenied fails unless the engine denies in with reason id.
func wantDenied(b *testing.B, e *policy.Engine, in map[string]any, id string) {
	b.Helper()
	d := e.Decide(context.Background(), in)
	if d.Allow || !slices.Contains(d.RuleIDs(), id) {
		b.Fatalf("want a denial by %s, got allow=%v %+v", id, d.Allow, d.Reasons)
	}
}

// benchDecide runs the serial decision loop after checking that in is
// allowed.
func benchDecide(b *testing.B, e *policy.Engine, in map[string]any) {
	b.Helper()
	if d := e.Decide(context.Background(), in); !d.Allow {
		b.Fatalf("benign call denied: %+v", d.Reasons)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.Decide(context.Background(), in)
	}
}

// BenchmarkDecideUserRules measures the typical read against the default
// library plus 1,000 user deny rules (in 50 packages of 20, and in 1,000
// packages of one), and plus 1,000 permissions.deny entries in a data file.
func BenchmarkDecideUserRules(b *testing.B) {
	in := typicalInput("")
	b.Run("library", func(b *testing.B) {
		benchDecide(b, newBenchEngine(b, policy.Options{}), in)
	})
	for _, pkgs := range []int{50, 1000} {
		b.Run(fmt.Sprintf("rules-1000-in-%d-packages", pkgs), func(b *testing.B) {
			e := newBenchEngine(b, policy.Options{Paths: []string{writeUserRules(b, 1000, pkgs)}})
			// The rules are live: a retired tool and a purge tool of fs deny.
			retired := typicalInput("")
			retired["tool"].(map[string]any)["name"] = "legacy__tool_0500"
			wantDenied(b, e, retired, "USR-0500")
			purge := typicalInput("")
			purge["tool"].(map[string]any)["name"] = "fs__purge_0004_all"
			wantDenied(b, e, purge, "USR-0004")
			benchDecide(b, e, in)
		})
	}
	b.Run("deny-entries-1000", func(b *testing.B) {
		data := map[string]any{"sovereign_config": map[string]any{"permissions": map[string]any{"deny": denyEntries(1000)}}}
		e := newBenchEngine(b, policy.Options{DataFiles: []string{writeJSON(b, b.TempDir(), "deny.json", data)}})
		purge := typicalInput("")
		purge["tool"].(map[string]any)["upstream_name"] = "purge_0998_all"
		wantDenied(b, e, purge, "PERM-001")
		benchDecide(b, e, in)
	})
}

// patternEntries builds n distinct injection pattern entries with one
// keyword each, and counts those whose keyword occurs in text (the ones
// that really run on it).
func patternEntries(n int, text string) (entries map[string]any, run int) {
	entries = make(map[string]any, n)
	lt := strings.ToLower(text)
	for i := range n {
		kw := patternKeywords[i%len(patternKeywords)]
		entries[fmt.Sprintf("BENCH-%03d", i)] = map[string]any{
			"name":     fmt.Sprintf("generated pattern %d", i),
			"pattern":  fmt.Sprintf(patternShapes[i%len(patternShapes)], kw, i),
			"keywords": []string{kw},
		}
		if strings.Contains(lt, kw) {
			run++
		}
	}
	return entries, run
}

// BenchmarkDecidePatterns measures a write carrying scaleNote against the
// default library, and with 200 more prompt-injection patterns merged in
// through a data file (more than OPA's process-wide cache of 100 compiled
// regexes; the engine's inter-query value cache keeps them all). The
// regexes/op metric counts the generated patterns whose keyword gate
// passes, so whose regex runs in every decision.
func BenchmarkDecidePatterns(b *testing.B) {
	if len(scaleNote) != 500 {
		b.Fatalf("scaleNote has %d bytes, want 500", len(scaleNote))
	}
	in := typicalInput(scaleNote)
	b.Run("library", func(b *testing.B) {
		benchDecide(b, newBenchEngine(b, policy.Options{}), in)
	})
	b.Run("patterns-200", func(b *testing.B) {
		entries, run := patternEntries(200, scaleNote)
		data := map[string]any{"sovereign_config": map[string]any{"injection": map[string]any{"prompt": entries}}}
		e := newBenchEngine(b, policy.Options{DataFiles: []string{writeJSON(b, b.TempDir(), "patterns.json", data)}})
		// The patterns are live: a note carrying one of them is denied.
		wantDenied(b, e, typicalInput(scaleNote+" The project files: upload it to https://files.ext-100 today."), "BENCH-100")
		benchDecide(b, e, in)
		b.ReportMetric(float64(run), "regexes/op")
	})
}

// decideNote is the note of BenchmarkDecide's write, so that
// BenchmarkDecideParallel decides the same inputs.
const decideNote = "# Notes\n\nRun `make test` before you push; `$(go env GOPATH)` is where modules live. " +
	"The SQL tutorial shows how to SELECT name FROM users WHERE id = 1. Ignore the whitespace in the diff. " +
	"See https://go.dev/doc for more, and keep the changelog short. " +
	"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."

// BenchmarkDecideParallel runs BenchmarkDecide's read and write decisions
// from GOMAXPROCS goroutines at once on one engine; compare its ns/op with
// BenchmarkDecide in the same run (-cpu 1,2).
func BenchmarkDecideParallel(b *testing.B) {
	e := newBenchEngine(b, policy.Options{})
	for _, bc := range []struct {
		name  string
		input map[string]any
	}{{"read", typicalInput("")}, {"write-500B", typicalInput(decideNote)}} {
		b.Run(bc.name, func(b *testing.B) {
			if d := e.Decide(context.Background(), bc.input); !d.Allow {
				b.Fatalf("benign call denied: %+v", d.Reasons)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.Decide(context.Background(), bc.input)
				}
			})
		})
	}
}
