package engine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestArchiveExchangeSchemaRejects(t *testing.T) {
	e, _ := newEngine(t)
	for _, tc := range []struct {
		name, tool, args, field string
	}{
		{"archive without source", "archive_exchange", `{"content":"x"}`, "source"},
		{"archive empty content", "archive_exchange", `{"content":"","source":"s"}`, "/content"},
		{"archive too many tags", "archive_exchange", `{"content":"x","source":"s","tags":[` + strings.Repeat(`"t",`, 32) + `"t"]}`, "/tags"},
		{"recall empty id never matches everything", "recall_exchange", `{"archive_id":""}`, "/archive_id"},
		{"recall short prefix", "recall_exchange", `{"archive_id":"abc"}`, "/archive_id"},
		{"recall not hex", "recall_exchange", `{"archive_id":"../../etc/passwd"}`, "/archive_id"},
		{"list limit", "list_exchanges", `{"limit":500}`, "/limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, tc.tool, tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
	big := strings.Repeat("ü", maxArchiveBytes/2+1) // fits the schema's characters, not the byte bound
	_, err := call(t, e, alice, "archive_exchange", `{"content":"`+big+`","source":"s"}`)
	wantError(t, err, CategoryLimit, "/content")
}

func TestArchiveContentAddressed(t *testing.T) {
	e, clock := newEngine(t)
	res := mustCall(t, e, alice, "archive_exchange", `{"content":"Q: why?\nA: because.","source":"claude","descriptor":"why","vector_id":"v1","tags":["Design"," design ","why"]}`)
	var first archiveRecord
	dataOf(t, res, &first)
	if first.ArchiveID != archiveHash([]byte("Q: why?\nA: because.")) || !first.NewBlob || !first.NewEntry || first.ByteLen != 19 {
		t.Fatalf("first %+v", first)
	}
	if strings.Join(first.Tags, ",") != "design,why" || strings.Contains(fmt.Sprint(res.Data), e.opts.DataDir) {
		t.Fatalf("tags %v or a path in %v", first.Tags, res.Data)
	}
	clock.advance(time.Minute)
	var again archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"Q: why?\nA: because.","source":"claude","descriptor":"why","vector_id":"v1","tags":["why","design"]}`), &again)
	if again.NewBlob || again.NewEntry || again.Seq != first.Seq || again.Timestamp != first.Timestamp {
		t.Fatalf("identical archive again stored something: %+v", again)
	}
	var other archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"Q: why?\nA: because.","source":"gpt","conversation_id":"c2"}`), &other)
	if other.NewBlob || !other.NewEntry || other.FirstArchivedAt != first.Timestamp {
		t.Fatalf("same bytes, new metadata: %+v", other)
	}
	if n := countRows(t, e, "archive_blobs"); n != 1 {
		t.Fatalf("%d blobs", n)
	}

	rres := mustCall(t, e, alice, "recall_exchange", `{"archive_id":"`+strings.ToUpper(first.ArchiveID[:8])+`"}`)
	var got recalledExchange
	dataOf(t, rres, &got)
	if got.Integrity != "verified" || got.Content != "Q: why?\nA: because." || len(got.Entries) != 2 || got.RecomputedSHA256 != first.ArchiveID {
		t.Fatalf("recall %+v", got)
	}
	if !strings.HasSuffix(rres.Text, "Q: why?\nA: because.") {
		t.Fatalf("text %q", rres.Text)
	}
	_, err := call(t, e, alice, "recall_exchange", `{"archive_id":"00000000"}`)
	wantError(t, err, CategoryNotFound, "00000000")
}

func TestRecallExchangeDetectsTamperedBlob(t *testing.T) {
	e, _ := newEngine(t)
	var rec archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"the true words","source":"claude"}`), &rec)
	if _, err := e.db.Exec(`UPDATE archive_blobs SET content = ? WHERE archive_id = ?`, []byte("forged words"), rec.ArchiveID); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, e, alice, "recall_exchange", `{"archive_id":"`+rec.ArchiveID+`"}`)
	wantError(t, err, CategoryConflict, "mismatch", rec.ArchiveID[:16], archiveHash([]byte("forged words")))
	if strings.Contains(err.Error(), "forged words") {
		t.Fatal("the tampered content was served")
	}
	// Archiving the genuine bytes again repairs the blob.
	var again archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"the true words","source":"claude"}`), &again)
	if !again.Repaired {
		t.Fatal("not repaired")
	}
	mustCall(t, e, alice, "recall_exchange", `{"archive_id":"`+rec.ArchiveID+`"}`)
}

func TestRecallExchangeAmbiguousPrefix(t *testing.T) {
	e, _ := newEngine(t)
	// Find two contents whose ids share the first 8 hex digits? Too slow;
	// share 2 and check that an 8-digit prefix stays unambiguous, then
	// insert a colliding id directly.
	var rec archiveRecord
	dataOf(t, mustCall(t, e, alice, "archive_exchange", `{"content":"one","source":"s"}`), &rec)
	fake := rec.ArchiveID[:8] + strings.Repeat("0", 56)
	if _, err := e.db.Exec(`INSERT INTO archive_blobs VALUES (?, ?, 1, ?)`, fake, []byte("x"), e.ts()); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, e, alice, "recall_exchange", `{"archive_id":"`+rec.ArchiveID[:8]+`"}`)
	wantError(t, err, CategoryConflict, "ambiguous", "2 archives")
	_, err = call(t, e, alice, "record_insight", `{"domain":"go","content":"x","verified_by":[{"kind":"archive","ref":"`+rec.ArchiveID[:8]+`"}]}`)
	wantError(t, err, CategoryConflict, "ambiguous")
}

func TestListExchanges(t *testing.T) {
	e, clock := newEngine(t)
	for i := range 7 {
		vec := "alpha"
		if i%2 == 1 {
			vec = "beta"
		}
		mustCall(t, e, alice, "archive_exchange", fmt.Sprintf(`{"content":"exchange %d","source":"src%d","vector_id":%q,"conversation_id":"c%d","tags":["t%d","all"]}`, i, i%3, vec, i%2, i))
		clock.advance(time.Minute)
	}
	type listData struct {
		Exchanges []archiveEntry `json:"exchanges"`
		HasMore   bool           `json:"has_more"`
	}
	list := func(args string) listData {
		var d listData
		res := mustCall(t, e, alice, "list_exchanges", args)
		dataOf(t, res, &d)
		if strings.Contains(res.Text, "exchange 0") {
			t.Fatalf("list shows content: %q", res.Text)
		}
		return d
	}
	all := list(`{}`)
	if len(all.Exchanges) != 7 || all.Exchanges[0].ArchiveID != archiveHash([]byte("exchange 6")) || all.HasMore {
		t.Fatalf("all: %+v", all)
	}
	for _, tc := range []struct {
		args string
		n    int
	}{
		{`{"vector_id":"beta"}`, 3}, {`{"source":"src0"}`, 3}, {`{"tag":"T3"}`, 1}, {`{"tag":"all","conversation_id":"c0"}`, 4},
		{`{"vector_id":"gamma"}`, 0}, {`{"limit":3,"offset":6}`, 1},
	} {
		if got := list(tc.args); len(got.Exchanges) != tc.n {
			t.Errorf("%s: %d entries, want %d", tc.args, len(got.Exchanges), tc.n)
		}
	}
	if p := list(`{"limit":3}`); !p.HasMore || len(p.Exchanges) != 3 {
		t.Fatalf("page: %+v", p)
	}
}
