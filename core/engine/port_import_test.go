package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// originalFixture copies testdata/original to a fresh directory and adds
// what git does not hold: a symlink to a file outside the directory, and a
// line longer than the import's line limit (followed by a good line).
func originalFixture(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sovereign")
	if err := os.CopyFS(dir, os.DirFS("testdata/original")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.jsonl")
	line := `{"timestamp": "2026-05-01T00:00:00+00:00", "domain": "escape", "content": "read through a symlink", "layer": "hypothesis"}` + "\n"
	if err := os.WriteFile(outside, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	escape := filepath.Join(dir, "chronicle", "insights", "escape")
	if err := os.MkdirAll(escape, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(escape, "link.jsonl")); err != nil {
		t.Fatal(err)
	}
	big := `{"timestamp": "2026-05-02T00:00:00+00:00", "domain": "big", "content": "` + strings.Repeat("x", importMaxLine) + `"}` + "\n" +
		`{"timestamp": "2026-05-02T00:00:01+00:00", "domain": "big", "content": "the line after an oversized one", "layer": "ground_truth"}` + "\n"
	bigDir := filepath.Join(dir, "chronicle", "insights", "big")
	if err := os.MkdirAll(bigDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bigDir, "spiral_big.jsonl"), []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fixtureZone is the zone the tests read the fixture's naive timestamps in.
var fixtureZone = time.FixedZone("UTC-4", -4*3600)

func importFixture(t testing.TB, e *Engine, dir string, mods ...func(*ImportOptions)) *ImportReport {
	t.Helper()
	opts := ImportOptions{Location: fixtureZone, Principal: "os_user:tony"}
	for _, m := range mods {
		m(&opts)
	}
	rep, err := e.Import(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return rep
}

// treeDigest is a digest of every file's path, mode and bytes under dir.
func treeDigest(t testing.TB, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h.Write([]byte(p + "\x00" + info.Mode().String() + "\x00"))
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Claim ids of the fixture's insights, as the original derived them.
var (
	fixtureA = claimID("2026-05-10T04:26:28.716036+00:00", "architecture,verification-protocol,gating",
		"Every escalation surface is a gate that opens only after claims are distinguished (synthetic fixture text).")
	fixtureB = claimID("2026-05-12T09:00:00.000001+00:00", "architecture,verification-protocol,gating",
		"Refined: distinction is a precondition for agency at code, dialogue and auth level (synthetic).")
	fixtureD = claimID("2026-04-10T08:00:00+00:00", "go,testing", "Table-driven tests need names per case (synthetic).")
	fixtureE = claimID("2026-04-23T01:09:02.505445", "Go, Testing", "A naive local timestamp from the original (synthetic).")
)

// fixtureCounts are the counts of one import of originalFixture into an
// empty engine.
var fixtureCounts = map[string]KindCounts{
	KindInsight:      {Read: 11, Imported: 6, AlreadyPresent: 1, Skipped: 4},
	KindSupersession: {Read: 6, Imported: 1, Skipped: 5},
	KindLearning:     {Read: 5, Imported: 3, Skipped: 2},
	KindArchive:      {Read: 4, Imported: 2, Skipped: 2},
	KindThread:       {Read: 4, Imported: 3, Skipped: 1},
	KindTouch:        {Read: 3, Imported: 2, Skipped: 1},
	KindHandoff:      {Read: 3, Imported: 2, Skipped: 1},
	KindActedOn:      {Read: 2, Imported: 1, Skipped: 1},
	KindUncertainty:  {Read: 2, Imported: 2},
	KindExperiment:   {Read: 2, Imported: 1, Skipped: 1},
	KindReflection:   {Read: 2, Imported: 1, Skipped: 1},
	KindReview:       {Read: 1, Imported: 1},
}

func checkCounts(t *testing.T, rep *ImportReport, want map[string]KindCounts) {
	t.Helper()
	for _, k := range PortKinds {
		if got := *rep.Kinds[k]; got != want[k] {
			t.Errorf("%s: %+v, want %+v", k, got, want[k])
		}
	}
}

func TestImportOriginalFixture(t *testing.T) {
	e, _ := newEngine(t)
	dir := originalFixture(t)
	before := treeDigest(t, dir)
	rep := importFixture(t, e, dir)
	checkCounts(t, rep, fixtureCounts)
	if after := treeDigest(t, dir); after != before {
		t.Error("the import changed the directory it read")
	}
	if rep.Format != "original" || len(rep.Failed) != 0 || rep.Truncated {
		t.Errorf("format %q, failed %v, truncated %v", rep.Format, rep.Failed, rep.Truncated)
	}
	// Every skip, with its file:line and reason.
	skips := []struct{ file, reason string }{
		{"chronicle/insights/escape/link.jsonl", "symlink that leads outside"},
		{"chronicle/insights/big/spiral_big.jsonl:1", "line longer than 1048576 bytes"},
		{"chronicle/insights/go,testing/spiral_20260406_235628.jsonl:3", "not valid JSON"},
		{"chronicle/insights/record_open_thread, record_insight, record_learning — any chronicle write that takes free-text string arguments through the bridge/test-session-hook-777.jsonl:1",
			`domain "record_open_thread, record_insight`},
		{"chronicle/supersessions.jsonl:2", "replaced by the ledger's later revoke"},
		{"chronicle/supersessions.jsonl:3", "a revoke: applied"},
		{"chronicle/supersessions.jsonl:4", "a retire (no successor)"},
		{"chronicle/supersessions.jsonl:5", "no insight has the id"},
		{"chronicle/supersessions.jsonl:6", "not a full claim id"},
		{"chronicle/learnings/compass versioning auto_detection git_rename.jsonl:1", `domain "compass versioning auto_detection git_rename"`},
		{"chronicle/learnings/general.jsonl:3", "not valid JSON"},
		{"chronicle/archives/index.jsonl:3", "not to its archive_id"},
		{"chronicle/archives/index.jsonl:4", "(passwd) is not in chronicle/archives/"},
		{"chronicle/open_threads/alpha,beta,gamma,delta,epsilon,zeta,eta,theta,iota,kappa,lambda,mu,nu,xi,omicron,pi,rho.jsonl:1", "not up to 16 comma-separated tags"},
		{"chronicle/thread_touches.jsonl:3", `thread "thread_20260101_000000_deadbeef" is not stored`},
		{"handoffs/20260601T101010_000001_unknown_general_0badc0.json", "not valid JSON"},
		{"handoffs/acted_on.jsonl:2", `handoff "20260421T220400_claude-code-mac-studio_temple-wars" is not stored`},
		{"consciousness/consciousness_journal.json#reflections[1]", `pattern_type "joy"`},
		{"consciousness/experimentation_log.json#experiments[1]", `status "rejected"`},
	}
	got := map[string]string{}
	for _, s := range rep.Skipped {
		loc := s.File
		if s.Line > 0 {
			loc += ":" + strconv.Itoa(s.Line)
		}
		got[loc] = s.Reason
	}
	for _, s := range skips {
		if r, ok := got[s.file]; !ok || !strings.Contains(r, s.reason) {
			t.Errorf("skip %s: reason %q, want it to contain %q", s.file, r, s.reason)
		}
	}
	if rep.SkippedTotal != len(skips) || len(rep.Skipped) != len(skips) {
		t.Errorf("%d skips (%d listed), want %d: %v", rep.SkippedTotal, len(rep.Skipped), len(skips), rep.Skipped)
	}
	notImported := map[string]string{}
	for _, n := range rep.NotImported {
		notImported[n.Path] = n.Reason
	}
	for path, reason := range map[string]string{
		"spiral_state.json": "spiral state is per session now", "nape/": "replaced by the audit log", "comms/": "not part of the engine",
		"oauth/": "credentials are never imported", "post_fix/": "not ported", "guardian/": "Guardian",
		"chronicle/_quarantine_2026-05-18/": "out of circulation", "chronicle/thread_families.jsonl": "thread families",
		"consciousness/collaborative_memory.json": "no engine equivalent", "README.md": "not part of the original's layout",
	} {
		if !strings.Contains(notImported[path], reason) {
			t.Errorf("not imported %s: %q, want it to contain %q", path, notImported[path], reason)
		}
	}
	// The text form says the same.
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"insight             11         6                1        4", "spiral_state.json: the original's one global spiral state",
		"chronicle/archives/index.jsonl:3: the blob"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, b.String())
		}
	}
}

func TestImportedDataWorksWithTheTools(t *testing.T) {
	e, _ := newEngine(t)
	importFixture(t, e, originalFixture(t))

	// recall_insights finds imported content; the original's supersession
	// of A by B is in the ledger.
	var rec struct {
		Insights []recallEntry `json:"insights"`
	}
	dataOf(t, mustCall(t, e, alice, "recall_insights", `{"query":"escalation surface gate"}`), &rec)
	if len(rec.Insights) != 1 || rec.Insights[0].ID != fixtureA || rec.Insights[0].SupersededBy != fixtureB ||
		rec.Insights[0].Timestamp != "2026-05-10T04:26:28.716036Z" {
		t.Fatalf("recall: %+v", rec.Insights)
	}
	dataOf(t, mustCall(t, e, alice, "recall_insights", `{"query":"symlink"}`), &rec)
	if len(rec.Insights) != 0 {
		t.Errorf("content behind a symlink out of DIR was imported: %+v", rec.Insights)
	}
	// A naive timestamp is local time of the import's zone; the domain
	// "Go, Testing" is normalised trivially; the id stays the original's.
	dataOf(t, mustCall(t, e, alice, "recall_insights", `{"query":"naive local timestamp"}`), &rec)
	if len(rec.Insights) != 1 || rec.Insights[0].ID != fixtureE || rec.Insights[0].Timestamp != "2026-04-23T05:09:02.505445Z" ||
		rec.Insights[0].Domain != "go,testing" || rec.Insights[0].Principal != "" {
		t.Fatalf("naive insight: %+v", rec.Insights)
	}

	// An original claim id, by prefix, still resolves: supersede D.
	mustCall(t, e, alice, "record_insight", `{"domain":"go,testing","content":"Name every case and run it as a subtest.",
		"layer":"ground_truth","supersedes":["`+fixtureD[:12]+`"],"carry_forward_summary":"names per case"}`)
	dataOf(t, mustCall(t, e, alice, "recall_insights", `{"query":"names per case","domain":"go"}`), &rec)
	found := false
	for _, r := range rec.Insights {
		if r.ID == fixtureD && r.SupersededBy != "" {
			found = true
		}
	}
	if !found {
		t.Errorf("the original's claim %s was not superseded through its prefix: %+v", fixtureD[:12], rec.Insights)
	}

	// handoff_acted_on with the original's handoff_path finds the handoff,
	// whose naive local time is stored in UTC.
	const ho = "20260527T173557_282036_opus-4-7-1m-claude-code-HQ_sovereign-stack-sync_8c5825"
	mustCall(t, e, alice, "handoff_acted_on", `{"handoff_path":"/Users/tony_studio/.sovereign/handoffs/`+ho+`.json",
		"consumed_by":"claude-code","what_was_done":"Wired the handlers."}`)
	h, err := handoffByID(context.Background(), e.db, ho)
	if err != nil || h.Timestamp != "2026-05-27T21:35:57.282036Z" || h.ConsumedAt != "" {
		t.Errorf("handoff %+v, %v", h, err)
	}
	consumed, err := handoffByID(context.Background(), e.db, "20260414T183140_claude-code-mac-studio_stack-witness-layer")
	if err != nil || consumed.ConsumedAt != "2026-04-14T22:38:11.047683Z" || consumed.ConsumedByInst != "unknown" {
		t.Errorf("consumed handoff %+v, %v", consumed, err)
	}

	// The archive blob whose bytes were edited is not served; the good one is.
	wantError(t, func() *Error {
		_, err := call(t, e, alice, "recall_exchange", `{"archive_id":"fd4a2d3284ac"}`)
		return err
	}(), CategoryNotFound)
	mustCall(t, e, alice, "recall_exchange", `{"archive_id":"143aa4fdd888"}`)

	// The original's uncertainty ids are kept.
	mustCall(t, e, alice, "resolve_uncertainty", `{"marker_id":"uncertainty_1","resolution":"A second call demoted it."}`)
}

func TestImportTwiceImportsNothingNew(t *testing.T) {
	e, _ := newEngine(t)
	dir := originalFixture(t)
	importFixture(t, e, dir)
	rep := importFixture(t, e, dir)
	want := map[string]KindCounts{}
	for k, c := range fixtureCounts {
		want[k] = KindCounts{Read: c.Read, AlreadyPresent: c.Imported + c.AlreadyPresent, Skipped: c.Skipped}
	}
	// The ledger's records that failed for a missing predecessor still do.
	checkCounts(t, rep, want)
}

func TestImportDryRunWritesNothing(t *testing.T) {
	e, _ := newEngine(t)
	rep := importFixture(t, e, originalFixture(t), func(o *ImportOptions) { o.DryRun = true })
	checkCounts(t, rep, fixtureCounts) // the same report as a real import
	if !rep.DryRun {
		t.Error("the report does not say dry run")
	}
	for _, table := range []string{"insights", "supersessions", "learnings", "archive_blobs", "archive_entries", "open_threads",
		"thread_touches", "handoffs", "handoff_consumptions", "handoff_acted_on", "uncertainties", "experiments", "agent_reflections", "session_reviews"} {
		if n := rowsIn(t, e, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("dry run stored %d rows in %s", n, table)
		}
	}
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !strings.HasPrefix(b.String(), "Dry run (nothing stored)") {
		t.Errorf("text report: %q", b.String()[:40])
	}
}

func TestImportCancelledKeepsWholeFiles(t *testing.T) {
	e, _ := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var files []string
	rep, err := e.Import(ctx, originalFixture(t), ImportOptions{Location: fixtureZone, Progress: func(n int, file string) {
		files = append(files, file)
		if n == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("Import: %v", err)
	}
	// The insight files are read in path order: architecture (2 insights),
	// big (1), escape is a skipped symlink (no transaction), go,testing (3
	// distinct); the cancel came after the third transaction: those files
	// are in, whole, and nothing after them.
	if n := rowsIn(t, e, `SELECT count(*) FROM insights`); n != 6 {
		t.Errorf("%d insights stored after cancelling at %v", n, files)
	}
	if n := rowsIn(t, e, `SELECT count(*) FROM learnings`); n != 0 {
		t.Errorf("%d learnings stored after the cancellation", n)
	}
}

func TestImportSourceChecks(t *testing.T) {
	e, _ := newEngine(t)
	if _, err := e.Import(context.Background(), filepath.Join(t.TempDir(), "missing"), ImportOptions{}); err == nil {
		t.Error("a missing source was imported")
	}
	// An empty directory: nothing read, no error.
	rep, err := e.Import(context.Background(), t.TempDir(), ImportOptions{})
	if err != nil || rep.Totals() != (KindCounts{}) || rep.FilesRead != 0 {
		t.Errorf("empty directory: %+v, %v", rep, err)
	}
}

func TestOriginalTS(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-05-10T04:26:28.716036+00:00", "2026-05-10T04:26:28.716036Z"},
		{"2026-04-24T00:00:00Z", "2026-04-24T00:00:00.000000Z"},
		{"2026-04-23T01:09:02.505445", "2026-04-23T05:09:02.505445Z"}, // naive: UTC-4
		{"2026-04-23 01:09:02", "2026-04-23T05:09:02.000000Z"},
		{"2026-04-23", "2026-04-23T04:00:00.000000Z"},
		{"yesterday", ""},
		{"", ""},
	} {
		got, err := originalTS(tc.in, fixtureZone)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("originalTS(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLineReaderBoundsLines(t *testing.T) {
	in := "short\n" + strings.Repeat("y", 100) + "\nafter\ntail"
	lr := newLineReader(strings.NewReader(in), 10)
	var got []string
	for {
		text, n, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s:%v", n, text, tooLong))
	}
	want := []string{"1:short:false", "2::true", "3:after:false", "4:tail:false"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %v, want %v", got, want)
	}
}
