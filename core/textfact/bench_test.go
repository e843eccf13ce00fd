package textfact

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// markdownNote returns a realistic markdown note of about n bytes: headings,
// prose, lists, links, inline code with $(…) and fenced code blocks.
func markdownNote(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "## Section %d\n\n", i)
		b.WriteString("Today we reviewed the deployment plan with the team. The rollout starts on Monday, ")
		b.WriteString("and the database migration runs first; see [the runbook](https://wiki.example.com/ops/runbook#migrations) ")
		b.WriteString("for the details. Use `$(git rev-parse --short HEAD)` to tag the build, and keep an eye on the ")
		b.WriteString("error rate (it should stay under 0.1% during the canary).\n\n")
		b.WriteString("- check the dashboards at https://grafana.example.com/d/abc123\n")
		b.WriteString("- run `make test && make lint` before merging\n")
		b.WriteString("- ask Alice about the `/srv/data/exports` permissions\n\n")
		b.WriteString("```sh\nfor f in $(ls *.csv); do\n  wc -l \"$f\"\ndone\n```\n\n")
		b.WriteString("> Note: the old endpoint is deprecated; SELECT statements against it will fail after June.\n\n")
	}
	return b.String()[:n]
}

func BenchmarkFactsTypical(b *testing.B) {
	a := New(Options{})
	args := typicalArgs()
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Facts(args)
	}
}

func BenchmarkFactsTypicalEncoded(b *testing.B) {
	a := New(Options{})
	args := map[string]any{
		"query": "SELECT * FROM t WHERE name = '%2527 OR 1=1--'",
		"url":   "http://0xA9FEA9FE/latest/meta-data/",
		"note":  "please " + base64.StdEncoding.EncodeToString([]byte(injection)),
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Facts(args)
	}
}

func BenchmarkFactsMarkdown64K(b *testing.B) {
	a := New(Options{})
	args := map[string]any{"path": "/home/alice/notes/plan.md", "content": markdownNote(64 << 10)}
	b.ReportAllocs()
	b.SetBytes(64 << 10)
	for b.Loop() {
		_ = a.Facts(args)
	}
}

func BenchmarkFacts1MB(b *testing.B) {
	a := New(Options{})
	args := map[string]any{"content": markdownNote(1 << 20)}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Facts(args)
	}
}

// The worst case for one string: 64 KiB dense with every encoding.
func BenchmarkFactsAdversarial64K(b *testing.B) {
	a := New(Options{})
	unit := "%2541&amp;lt;\\u0041 " + base64.StdEncoding.EncodeToString([]byte(injection)) + " p\u0430yp\u0430l\u200b "
	args := map[string]any{"content": strings.Repeat(unit, (64<<10)/len(unit)+1)}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Facts(args)
	}
}

// The worst case for one call: 512 such strings share the variant budget.
func BenchmarkFactsAdversarialCall(b *testing.B) {
	a := New(Options{})
	unit := "%2541&amp;lt;\\u0041 " + base64.StdEncoding.EncodeToString([]byte(injection)) + " p\u0430yp\u0430l\u200b "
	s := strings.Repeat(unit, (64<<10)/len(unit)+1)
	items := make([]any, 512)
	for i := range items {
		items[i] = s
	}
	args := map[string]any{"items": items}
	b.ReportAllocs()
	for b.Loop() {
		_ = a.Facts(args)
	}
}

// A 64 KiB note in French, Russian and Greek: the Unicode path.
func BenchmarkFactsUnicode64K(b *testing.B) {
	a := New(Options{})
	unit := "Le café du coin ferme à 18 h — n’oubliez pas. Встреча в пятницу в 10:00. Η συνάντηση είναι την Παρασκευή.\n"
	args := map[string]any{"content": strings.Repeat(unit, (64<<10)/len(unit))}
	b.ReportAllocs()
	b.SetBytes(64 << 10)
	for b.Loop() {
		_ = a.Facts(args)
	}
}
