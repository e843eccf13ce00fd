package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordIns records an insight through the tool and returns its data.
func recordIns(t testing.TB, e *Engine, c Caller, args string) recordedInsight {
	t.Helper()
	var out recordedInsight
	dataOf(t, mustCall(t, e, c, "record_insight", args), &out)
	return out
}

// countRows counts the rows of a table (test tables only).
func countRows(t testing.TB, e *Engine, table string) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecordInsightSchemaRejects(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct{ name, args, field string }{
		{"missing content", `{"domain":"go"}`, "content"},
		{"missing domain", `{"content":"x"}`, "domain"},
		{"invalid layer is not silently hypothesis", `{"domain":"go","content":"x","layer":"truth"}`, "/layer"},
		{"intensity above 1", `{"domain":"go","content":"x","intensity":1.5}`, "/intensity"},
		{"confidence below 0", `{"domain":"go","content":"x","confidence":-0.1}`, "/confidence"},
		{"unknown argument", `{"domain":"go","content":"x","mood":"fine"}`, "mood"},
		{"receipt with an extra key (forged stamp)", `{"domain":"go","content":"x","verified_by":[{"kind":"human","ref":"me","checked_at_write":{"status":"verified"}}]}`, "/verified_by/0"},
		{"receipt unknown kind", `{"domain":"go","content":"x","verified_by":[{"kind":"oracle","ref":"me"}]}`, "/verified_by/0/kind"},
		{"supersedes ref too short", `{"domain":"go","content":"x","supersedes":["abc"],"carry_forward_summary":"s"}`, "/supersedes/0"},
		{"carry forward too long", `{"domain":"go","content":"x","supersedes":["abcdef01"],"carry_forward_summary":"` + strings.Repeat("s", 501) + `"}`, "/carry_forward_summary"},
		{"bad emotion source", `{"domain":"go","content":"x","emotion_source":"guessed"}`, "/emotion_source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "record_insight", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	if n := countRows(t, e, "insights"); n != 0 {
		t.Fatalf("%d insights stored by rejected calls", n)
	}
}

func TestRecordInsightHappyPath(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "record_insight", `{"domain":"Go, Testing","content":"Table tests name their cases","layer":"ground_truth",
		"intensity":0.8,"vantage":"reviewer","observed_emotion":["relief"],"emotional_intensity":0.4,"emotion_source":"witness_interpreted","emotion_note":"after the fix"}`)
	var got recordedInsight
	dataOf(t, res, &got)
	if got.Domain != "go,testing" || got.Layer != LayerGroundTruth || got.Intensity != 0.8 || got.SessionID != alice.Session {
		t.Fatalf("record %+v", got)
	}
	if got.ID != claimID(got.Timestamp, got.Domain, got.Content) || len(got.ID) != 64 {
		t.Fatalf("id %s is not the claim id", got.ID)
	}
	if got.Extra["emotion_source"] != "witness_interpreted" || got.Extra["emotion_note"] != "after the fix" {
		t.Fatalf("emotion not in extra: %v", got.Extra)
	}
	if want := "Insight recorded [ground_truth]: " + got.ID[:16]; res.Text != want {
		t.Fatalf("text %q, want %q", res.Text, want)
	}
	if strings.Contains(res.Text, "/") || strings.Contains(fmt.Sprint(res.Data), e.opts.DataDir) {
		t.Fatal("the result shows a path")
	}
	def := recordIns(t, e, alice, `{"domain":"go","content":"defaults"}`)
	if def.Layer != LayerHypothesis || def.Intensity != 0.5 {
		t.Fatalf("defaults: layer %s intensity %v", def.Layer, def.Intensity)
	}
}

func TestRecordInsightConfidenceOnlyForHypotheses(t *testing.T) {
	e, _ := newEngine(t)
	_, err := call(t, e, alice, "record_insight", `{"domain":"go","content":"x","layer":"ground_truth","confidence":0.9}`)
	wantError(t, err, CategoryValidation, "/confidence", "hypotheses only")
	got := recordIns(t, e, alice, `{"domain":"go","content":"x","confidence":0.9}`)
	if got.Confidence == nil || *got.Confidence != 0.9 {
		t.Fatalf("hypothesis confidence %v", got.Confidence)
	}
}

// B2: the domain was a path component; here it is validated and nothing is
// written.
func TestRecordInsightTraversalDomainRejected(t *testing.T) {
	e, _ := newEngine(t)
	for _, d := range []string{"../../etc", "a/b", `..\\x`, "a sentence used as a domain", ".hidden"} {
		_, err := call(t, e, alice, "record_insight", `{"domain":`+mustJSONString(d)+`,"content":"x"}`)
		wantError(t, err, CategoryValidation, "/domain")
	}
	if n := countRows(t, e, "insights"); n != 0 {
		t.Fatalf("%d insights written", n)
	}
}

func mustJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRecordInsightDedupWithin120s(t *testing.T) {
	e, clock := newEngine(t)
	a := recordIns(t, e, alice, `{"domain":"go","content":"same thing"}`)
	clock.advance(119 * time.Second)
	res := mustCall(t, e, alice, "record_insight", `{"domain":"go","content":"same thing"}`)
	var b recordedInsight
	dataOf(t, res, &b)
	if !b.Deduplicated || b.ID != a.ID || !strings.Contains(res.Text, "already recorded") {
		t.Fatalf("second record %+v %q, want the first", b, res.Text)
	}
	if b2 := recordIns(t, e, Caller{Session: ""}, `{"domain":"go","content":"same thing"}`); b2.Deduplicated {
		t.Fatal("the anonymous session was deduplicated against alice's")
	}
	clock.advance(2 * time.Second)
	if c := recordIns(t, e, alice, `{"domain":"go","content":"same thing"}`); c.Deduplicated {
		t.Fatal("deduplicated after the window")
	}
	if n := countRows(t, e, "insights"); n != 3 {
		t.Fatalf("%d insights, want 3", n)
	}
}

func TestReceiptsStampedAndFailClosed(t *testing.T) {
	e, clock := newEngine(t)
	var arch archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"the exchange","source":"claude"}`), &arch)
	claim := recordIns(t, e, alice, `{"domain":"go","content":"earlier claim"}`)
	clock.advance(time.Second)

	res := mustCall(t, e, alice, "record_insight", `{"domain":"go","content":"with receipts","layer":"ground_truth","verified_by":[
		{"kind":"archive","ref":"`+arch.ArchiveID[:10]+`"},
		{"kind":"claim","ref":"`+claim.ID[:12]+`","note":"builds on"},
		{"kind":"cmd","ref":"go test ./..."},
		{"kind":"url","ref":"https://example.org/x","sha256":"`+strings.Repeat("AB", 32)+`"}]}`)
	if !strings.Contains(res.Text, "(receipts: 1 verified, 1 cites, 2 attested)") {
		t.Fatalf("text %q", res.Text)
	}
	var got recordedInsight
	dataOf(t, res, &got)
	var stamps []storedReceipt
	if err := json.Unmarshal(got.Receipts, &stamps); err != nil {
		t.Fatal(err)
	}
	want := []struct{ status, resolved string }{{stampVerified, arch.ArchiveID}, {stampCites, claim.ID}, {stampAttested, ""}, {stampAttested, ""}}
	for i, w := range want {
		if stamps[i].Checked.Status != w.status || stamps[i].Checked.Resolved != w.resolved || stamps[i].Checked.At != got.Timestamp {
			t.Errorf("receipt %d stamp %+v, want %+v", i, stamps[i].Checked, w)
		}
	}
	if stamps[3].SHA256 != strings.Repeat("ab", 32) {
		t.Errorf("sha256 not normalised: %s", stamps[3].SHA256)
	}

	before := countRows(t, e, "insights")
	fails := []struct {
		name, receipt string
		cat           Category
		parts         []string
	}{
		{"unknown archive", `{"kind":"archive","ref":"00000000"}`, CategoryNotFound, []string{"/verified_by/0/ref"}},
		{"archive sha256 differs", `{"kind":"archive","ref":"` + arch.ArchiveID + `","sha256":"` + strings.Repeat("0", 64) + `"}`, CategoryConflict, []string{"/verified_by/0/sha256"}},
		{"dangling claim", `{"kind":"claim","ref":"ffffffffffff"}`, CategoryNotFound, []string{"/verified_by/0/ref"}},
		{"archive ref not hex", `{"kind":"archive","ref":"../../etc/passwd"}`, CategoryValidation, []string{"/verified_by/0/ref"}},
		// B15: the file kind was a hash/existence oracle on host files.
		{"file receipt refused", `{"kind":"file","ref":"/etc/passwd","sha256":"` + strings.Repeat("0", 64) + `"}`, CategoryValidation, []string{"/verified_by/0/kind", "exists"}},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			_, err := call(t, e, alice, "record_insight", `{"domain":"go","content":"rejected `+f.name+`","verified_by":[{"kind":"human","ref":"me"},`+f.receipt+`]}`)
			parts := make([]string, len(f.parts))
			for i, p := range f.parts {
				parts[i] = strings.Replace(p, "/0/", "/1/", 1)
			}
			wantError(t, err, f.cat, parts...)
		})
	}
	if n := countRows(t, e, "insights"); n != before {
		t.Fatalf("rejected calls wrote %d insights", n-before)
	}
}

func TestReceiptOnTamperedArchiveRejected(t *testing.T) {
	e, _ := newEngine(t)
	var arch archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"original words","source":"claude"}`), &arch)
	if _, err := e.db.Exec(`UPDATE archive_blobs SET content = ? WHERE archive_id = ?`, []byte("altered words"), arch.ArchiveID); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, e, alice, "record_insight", `{"domain":"go","content":"x","verified_by":[{"kind":"archive","ref":"`+arch.ArchiveID+`"}]}`)
	wantError(t, err, CategoryConflict, "mismatch", "/verified_by/0/ref")
	if n := countRows(t, e, "insights"); n != 0 {
		t.Fatal("an insight citing a tampered archive was stored")
	}
}

func TestSupersession(t *testing.T) {
	e, clock := newEngine(t)
	a := recordIns(t, e, alice, `{"domain":"go","content":"A: fsync is enough"}`)
	clock.advance(time.Second)

	_, err := call(t, e, alice, "record_insight", `{"domain":"go","content":"B","supersedes":["`+a.ID[:8]+`"]}`)
	wantError(t, err, CategoryValidation, "/carry_forward_summary")
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"B","carry_forward_summary":"nothing to carry"}`)
	wantError(t, err, CategoryValidation, "/carry_forward_summary")

	res := mustCall(t, e, alice, "record_insight", `{"domain":"go","content":"B: fsync plus directory fsync","layer":"ground_truth",
		"supersedes":["`+strings.ToUpper(a.ID[:10])+`"],"carry_forward_summary":"fsync still needed"}`)
	var b recordedInsight
	dataOf(t, res, &b)
	if !strings.HasSuffix(res.Text, "⊃ supersedes 1") || len(b.Supersedes) != 1 || b.Supersedes[0] != a.ID {
		t.Fatalf("text %q data %+v", res.Text, b.Supersedes)
	}
	clock.advance(time.Second)

	before := countRows(t, e, "insights")
	// Double: A already has a successor.
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"C","supersedes":["`+a.ID+`"],"carry_forward_summary":"s"}`)
	wantError(t, err, CategoryConflict, "already superseded by "+b.ID[:16])
	// Self: A recorded again within the window is A; A cannot supersede A.
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"A: fsync is enough","supersedes":["`+a.ID+`"],"carry_forward_summary":"s"}`)
	wantError(t, err, CategoryConflict, "itself")
	// Cycle: A (deduplicated, so the same insight) superseding B, which
	// supersedes A.
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"A: fsync is enough","supersedes":["`+b.ID+`"],"carry_forward_summary":"s"}`)
	wantError(t, err, CategoryConflict, "cycle")
	// Unknown and ambiguous refs.
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"D","supersedes":["0000000000"],"carry_forward_summary":"s"}`)
	wantError(t, err, CategoryNotFound, "/supersedes/0")
	if n := countRows(t, e, "insights"); n != before {
		t.Fatalf("refused supersessions wrote %d insights", n-before)
	}
	if n := countRows(t, e, "supersessions"); n != 1 {
		t.Fatalf("ledger has %d rows, want 1", n)
	}
}

func TestSupersedesAmbiguousPrefix(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	// Two insights whose ids share a prefix, stored through the import path.
	for _, id := range []string{"abcdef01" + strings.Repeat("1", 56), "abcdef01" + strings.Repeat("2", 56)} {
		rec := insightRecord{ID: id, Timestamp: e.ts(), Domain: "go", Content: "c" + id, Layer: LayerHypothesis, Intensity: 0.5}
		if err := inTx(ctx, e.db, func(tx *sql.Tx) error { _, err := e.insertInsightRecord(ctx, tx, &rec); return err }); err != nil {
			t.Fatal(err)
		}
	}
	_, err := call(t, e, alice, "record_insight", `{"domain":"go","content":"x","supersedes":["abcdef01"],"carry_forward_summary":"s"}`)
	wantError(t, err, CategoryConflict, "ambiguous", "matches 2 insights")
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"x","verified_by":[{"kind":"claim","ref":"ABCDEF01"}]}`)
	wantError(t, err, CategoryConflict, "ambiguous")
}

func TestRecordInsightConcurrentSessions(t *testing.T) {
	e, _ := newEngine(t)
	const workers, each = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Caller{Session: fmt.Sprintf("session-%d", w)}
			for i := range each {
				args := fmt.Sprintf(`{"domain":"load,w%d","content":"insight %d from worker %d"}`, w, i, w)
				if _, err := e.Call(context.Background(), "record_insight", &Call{Caller: c, Args: json.RawMessage(args)}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent record: %v", err)
	}
	if n := countRows(t, e, "insights"); n != workers*each {
		t.Fatalf("%d insights, want %d", n, workers*each)
	}
	var tags int
	if err := e.db.QueryRow(`SELECT count(*) FROM insight_tags WHERE tag = 'load'`).Scan(&tags); err != nil || tags != workers*each {
		t.Fatalf("tag rows %d (%v)", tags, err)
	}
}
