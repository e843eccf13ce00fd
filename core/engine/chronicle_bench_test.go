package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// benchFunctionWords are the most frequent words of the generated text.
var benchFunctionWords = strings.Fields(`the a of to and in is that for it on with as this be by not are from at or an was but if when then
so we it's no all one can has have will would should could must`)

// benchTechWords are the words queries look for.
var benchTechWords = strings.Fields(`
write read fsync durable commit rollback transaction index query planner cache eviction latency throughput
session handoff thread insight hypothesis ground truth learning mistake receipt archive claim supersede
policy gate audit log checkpoint anchor signature key rotation token bucket limit quota retry backoff
timeout deadline cancel context goroutine channel mutex race deadlock lock contention wal journal page
schema migration table column trigger fts rank bm25 tokenizer prefix phrase match domain tag filter
proxy upstream client server stdio sse http header stream frame message request response error result
test benchmark fuzz coverage regression fixture golden case assert flaky parallel isolation
config default validate reload watch file path root traversal symlink permission owner mode umask
memory allocation garbage collector heap stack escape inline pointer slice map string byte rune utf8
model prompt tool call argument annotation effect append mutate destructive idempotent tier intent
network socket dial listen accept close shutdown graceful signal restart crash recover panic
hash sha256 hmac ed25519 verify chain link prev genesis sequence tamper evidence proof append-only
user principal operator approval deny allow obligation redact secret credential leak exposure
design tradeoff simplicity clarity naming package interface struct method function closure generic
release version changelog deploy rollout canary metric alert dashboard trace span sample
`)

// benchVocabulary is the generated text's vocabulary by rank, drawn with
// a Zipf law: function words, then the technical words spread among
// generated identifiers over the first ~1,300 ranks, then a tail of 30,000
// generated words. (Heaps' law puts the vocabulary of 3 million words of
// notes at tens of thousands of distinct words; the query words then match
// roughly 0.5 to 5% of the insights each.)
func benchVocabulary(rng *rand.Rand) []string {
	syll := strings.Fields("ka ro mi tesh van dul or ix pe qua zen lo bri mon stat cor fen gal hub")
	word := func() string {
		var sb strings.Builder
		for range 2 + rng.IntN(3) {
			sb.WriteString(syll[rng.IntN(len(syll))])
		}
		return sb.String()
	}
	vocab := slices.Clone(benchFunctionWords)
	for i, w := range benchTechWords {
		vocab = append(vocab, w)
		for range 1 + i%5 {
			vocab = append(vocab, word())
		}
	}
	for range 30000 {
		vocab = append(vocab, word())
	}
	return vocab
}

// benchDomains are the generated chronicle's tags; an insight gets one to
// three of them.
var benchDomains = strings.Fields(`
go testing sqlite fts audit policy proxy security performance memory concurrency storage
networking config release design api mcp tools chronicle threads handoff spiral governance
reflection surprise ops ci docs review refactor bugs migration schema crypto keys logging
metrics tracing errors cli windows linux macos
`)

const benchInsights = 100_000

// benchBatch is how many generated insights one INSERT statement takes
// (a statement per row makes FTS5 flush a segment per row).
const benchBatch = 250

// buildBenchChronicle fills e with n generated insights in one
// transaction, in multi-row INSERTs (the triggers keep the FTS and tag
// indexes as for any insert). The generator has a fixed seed.
func buildBenchChronicle(b *testing.B, e *Engine, n int) {
	b.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2026, 11))
	ts := time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	vocab := benchVocabulary(rng)
	zipf := rand.NewZipf(rng, 1.07, 2, uint64(len(vocab)-1))
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		row := "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO insights (rowid, id, ts, domain, content, layer, intensity, session_id, principal) VALUES `+
			strings.Repeat(row+",", benchBatch-1)+row)
		if err != nil {
			return err
		}
		defer stmt.Close()
		args := make([]any, 0, 9*benchBatch)
		var sb strings.Builder
		for i := range n {
			ts = ts.Add(time.Duration(1+rng.IntN(1200)) * time.Second)
			sb.Reset()
			words := 8 + rng.IntN(40)
			for w := range words {
				if w > 0 {
					sb.WriteByte(' ')
				}
				sb.WriteString(vocab[zipf.Uint64()])
			}
			fmt.Fprintf(&sb, " (note %d)", i)
			tags := []string{benchDomains[rng.IntN(len(benchDomains))]}
			for range rng.IntN(3) {
				if d := benchDomains[rng.IntN(len(benchDomains))]; !slices.Contains(tags, d) {
					tags = append(tags, d)
				}
			}
			layer := []string{LayerHypothesis, LayerHypothesis, LayerGroundTruth, LayerOpenThread}[rng.IntN(4)]
			domain, content, stamp := strings.Join(tags, ","), sb.String(), formatTS(ts)
			// Generated times are distinct microseconds: the first slot.
			args = append(args, ts.UnixMicro()*rowSlots, claimID(stamp, domain, content), stamp, domain, content, layer,
				float64(rng.IntN(11))/10, fmt.Sprintf("session-%d", i/50), "user:bench")
			if len(args) == cap(args) {
				if _, err := stmt.ExecContext(ctx, args...); err != nil {
					return err
				}
				args = args[:0]
			}
		}
		if len(args) > 0 {
			return fmt.Errorf("n = %d is not a multiple of %d", n, benchBatch)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// benchRecall runs one recall shape b.N times (cycling through argument
// sets) and reports the median latency.
func benchRecall(b *testing.B, e *Engine, argSets []string) {
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	var results int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		args := argSets[i%len(argSets)]
		t0 := time.Now()
		res, err := e.Call(ctx, "recall_insights", &Call{Caller: alice, Args: json.RawMessage(args)})
		durations = append(durations, time.Since(t0))
		if err != nil {
			b.Fatalf("%s: %v", args, err)
		}
		results += res.Data.(map[string]any)["count"].(int)
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(durations[len(durations)*9/10].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(results)/float64(b.N), "results/op")
}

// BenchmarkRecallInsights100k: recall over 100,000 insights (built once,
// about 10 s). Run with
//
//	go test -run '^$' -bench BenchmarkRecallInsights100k -benchtime 200x ./core/engine/
func BenchmarkRecallInsights100k(b *testing.B) {
	e, _ := newEngine(b)
	t0 := time.Now()
	buildBenchChronicle(b, e, benchInsights)
	b.Logf("built %d insights in %s", benchInsights, time.Since(t0).Round(time.Millisecond))
	benchRecallShapes(b, e)
}

// benchRecallShapes measures the typical recall calls on e.
func benchRecallShapes(b *testing.B, e *Engine) {
	queries := []string{"fsync durable", "audit chain verify", "goroutine deadlock mutex", "tokenizer prefix rank", "release canary rollout",
		"sqlite wal checkpoint", "policy approval deny", "flaky parallel test", "symlink traversal root", "hmac key rotation"}
	shape := func(format string, extra ...string) []string {
		var out []string
		for i, q := range queries {
			args := []any{q}
			if len(extra) > 0 {
				args = append(args, extra[i%len(extra)])
			}
			out = append(out, fmt.Sprintf(format, args...))
		}
		return out
	}
	b.Run("query+relevance", func(b *testing.B) { benchRecall(b, e, shape(`{"query":%q,"order":"relevance"}`)) })
	// The worst case: the most frequent technical words (each in about 5%
	// of the insights); BM25 scores every match.
	common := []string{`{"query":"write read fsync","order":"relevance"}`, `{"query":"durable commit rollback","order":"relevance"}`}
	b.Run("common-words+relevance", func(b *testing.B) { benchRecall(b, e, common) })
	b.Run("query+newest", func(b *testing.B) { benchRecall(b, e, shape(`{"query":%q,"order":"newest"}`)) })
	b.Run("query+domain+relevance", func(b *testing.B) {
		benchRecall(b, e, shape(`{"query":%q,"domain":%q,"order":"relevance"}`, benchDomains...))
	})
	domains := make([]string, len(benchDomains))
	for i, d := range benchDomains {
		domains[i] = fmt.Sprintf(`{"domain":%q}`, d)
	}
	b.Run("domain", func(b *testing.B) { benchRecall(b, e, domains) })
	var months []string
	for m := range 12 {
		from := time.Date(2025, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
		months = append(months, fmt.Sprintf(`{"start_date":%q,"end_date":%q}`, from.Format(time.DateOnly), from.AddDate(0, 1, -1).Format(time.DateOnly)))
	}
	b.Run("date-range", func(b *testing.B) { benchRecall(b, e, months) })
	b.Run("since-last-reflection+exclude-superseded", func(b *testing.B) {
		benchRecall(b, e, []string{`{"since_last_reflection":true,"exclude_superseded":true,"limit":20}`})
	})
}

// BenchmarkRecordInsight: record_insight throughput through the registry
// (schema, dedup check, insert, FTS and tag triggers, commit).
func BenchmarkRecordInsight(b *testing.B) {
	e, clock := newEngine(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clock.advance(time.Millisecond)
		args := fmt.Sprintf(`{"domain":"bench,go","content":"insight number %d about fsync and durable writes","layer":"hypothesis","confidence":0.6}`, i)
		if _, err := e.Call(ctx, "record_insight", &Call{Caller: alice, Args: json.RawMessage(args)}); err != nil {
			b.Fatal(err)
		}
	}
}
