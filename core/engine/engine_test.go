package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testClock is a settable clock for tests.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// newEngine opens an engine on a fresh data root with a test clock; mods
// change the options first.
func newEngine(t testing.TB, mods ...func(*Options)) (*Engine, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	opts := Options{DataDir: t.TempDir(), Now: clock.now}
	for _, m := range mods {
		m(&opts)
	}
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, clock
}

// alice is the caller of most tests.
var alice = Caller{Session: "session-alice", Principal: "user:alice", Client: "test"}

// call runs a tool as caller with args (JSON text) and returns the result
// or the *Error.
func call(t testing.TB, e *Engine, caller Caller, name, args string) (*Result, *Error) {
	t.Helper()
	res, err := e.Call(context.Background(), name, &Call{Caller: caller, Args: json.RawMessage(args)})
	if err != nil {
		var ee *Error
		if !errors.As(err, &ee) {
			t.Fatalf("%s: error is not an *Error: %v", name, err)
		}
		return nil, ee
	}
	return res, nil
}

// mustCall is call that fails the test on an error.
func mustCall(t testing.TB, e *Engine, caller Caller, name, args string) *Result {
	t.Helper()
	res, err := call(t, e, caller, name, args)
	if err != nil {
		t.Fatalf("%s(%s): %v", name, args, err)
	}
	return res
}

// dataOf re-decodes a result's Data as JSON into v.
func dataOf(t testing.TB, res *Result, v any) {
	t.Helper()
	b, err := json.Marshal(res.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("result data %s: %v", b, err)
	}
}

// wantError checks an error's category and that its text mentions each of
// parts.
func wantError(t testing.TB, err *Error, cat Category, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", cat)
	}
	if err.Category != cat {
		t.Fatalf("error %v: category %s, want %s", err, err.Category, cat)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err.Error(), p)
		}
	}
}

func TestNewRejectsRelativeDataDir(t *testing.T) {
	_, err := New(context.Background(), Options{DataDir: "relative/dir"})
	if !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("err = %v, want ErrInvalidOptions", err)
	}
}

func TestReopenKeepsDataAndSkipsMigrations(t *testing.T) {
	dir := t.TempDir()
	e, err := New(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	e, err = New(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer e.Close()
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Fatalf("schema_migrations rows = %d (%v), want %d", n, err, len(migrations))
	}
	if _, err := filepath.Abs(filepath.Join(dir, Dir, DBFile)); err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	e, err := New(context.Background(), Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(`INSERT INTO schema_migrations VALUES (9999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	_, err = New(context.Background(), Options{DataDir: dir})
	if !errors.Is(err, errNewerSchema) {
		t.Fatalf("err = %v, want errNewerSchema", err)
	}
}

func TestSchemaEnforcedWithFieldNames(t *testing.T) {
	e, _ := newEngine(t)
	cases := []struct {
		name, args, field string
	}{
		{"unknown argument", `{"tierr":"all"}`, "tierr"},
		{"wrong enum", `{"tier":"everything"}`, "/tier"},
		{"wrong type", `{"include_schema":"yes"}`, "/include_schema"},
		{"not an object", `[1,2]`, "object"},
		{"not JSON", `{"tier":`, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "my_toolkit", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	_, err := call(t, e, alice, "no_such_tool", `{}`)
	wantError(t, err, CategoryNotFound, "no_such_tool")
}

func TestMyToolkitComesFromRegistry(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "my_toolkit", `{"tier":"all","include_schema":true}`)
	var got struct {
		Total int            `json:"total"`
		Tools []toolkitEntry `json:"tools"`
	}
	dataOf(t, res, &got)
	if got.Total != len(e.Registry().Tools()) || len(got.Tools) != got.Total {
		t.Fatalf("total %d, listed %d, registry %d", got.Total, len(got.Tools), len(e.Registry().Tools()))
	}
	for _, en := range got.Tools {
		if len(en.Schema) == 0 {
			t.Errorf("%s: no schema with include_schema", en.Name)
		}
	}
	res = mustCall(t, e, alice, "my_toolkit", `{"tier":"advanced","intent":"orient"}`)
	dataOf(t, res, &got)
	for _, en := range got.Tools {
		if en.Tier != TierAdvanced || en.Intent != "orient" {
			t.Errorf("filter leaked %+v", en)
		}
	}
}

func TestCancelledCallIsCancelled(t *testing.T) {
	e, _ := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.Call(ctx, "my_toolkit", &Call{Caller: alice, Args: json.RawMessage(`{}`)})
	var ee *Error
	if !errors.As(err, &ee) || ee.Category != CategoryCancelled {
		t.Fatalf("err = %v, want cancelled", err)
	}
}

func TestInsertInsightDedupAndFTS(t *testing.T) {
	e, clock := newEngine(t)
	ctx := context.Background()
	rec := func(c Caller, content string) insightRecord {
		t.Helper()
		var r insightRecord
		err := inTx(ctx, e.db, func(tx *sql.Tx) error {
			var err error
			r, err = e.insertInsight(ctx, tx, c, insightInput{Domain: "go,testing", Content: content, Layer: LayerHypothesis, Intensity: 0.5})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := rec(alice, "Durable writes need fdatasync")
	b := rec(alice, "Durable writes need fdatasync")
	if !b.Deduplicated || b.ID != a.ID {
		t.Fatalf("second record within the window: %+v, want dedup of %s", b, a.ID)
	}
	clock.advance(time.Millisecond)
	other := rec(Caller{Session: "bob"}, "Durable writes need fdatasync")
	if other.Deduplicated {
		t.Fatal("another session's identical insight was deduplicated")
	}
	clock.advance(dedupWindow + time.Second)
	c := rec(alice, "Durable writes need fdatasync")
	if c.Deduplicated || c.ID == a.ID {
		t.Fatal("after the window the insight was not recorded again")
	}
	var n int
	if err := e.db.QueryRow(`SELECT count(*) FROM insights_fts WHERE insights_fts MATCH 'fdatasync'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("fts matches = %d (%v), want 3", n, err)
	}
}

func TestNormalizeDomain(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Go, Testing", "go,testing"}, {"audit", "audit"}, {"a.b_c-d", "a.b_c-d"},
		{"../etc", ""}, {"a/b", ""}, {"a sentence with spaces", ""}, {"", ""}, {",a", ""},
	} {
		got, err := normalizeDomain("/domain", tc.in)
		if (tc.want == "") != (err != nil) || got != tc.want {
			t.Errorf("normalizeDomain(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMigrationAddedBelowNewestIsApplied(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	one := migration{1, "one", `CREATE TABLE one (x)`}
	two := migration{2, "two", `CREATE TABLE two (x)`}
	three := migration{3, "three", `CREATE TABLE three (x)`}
	db, err := openDB(ctx, path, []migration{one, three})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = openDB(ctx, path, []migration{one, two, three})
	if err != nil {
		t.Fatalf("reopen with a migration below the newest: %v", err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO two VALUES (1)`); err != nil {
		t.Fatalf("migration 2 was not applied: %v", err)
	}
}
