package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
)

// The import path keeps timestamps, sessions and ids, checks what it
// stores, and the export iterators give everything back in time order.
func TestChronicleImportExportFunctions(t *testing.T) {
	e, _ := newEngine(t)
	ctx := context.Background()
	origID := strings.Repeat("ab", 32)
	ts1, ts2 := "2026-02-05T14:23:11.123456Z", "2026-03-01T08:00:00.000000Z"
	var arch archiveRecord
	err := inTx(ctx, e.db, func(tx *sql.Tx) error {
		later := insightRecord{Timestamp: ts2, Domain: "Go", Content: "later", Layer: LayerGroundTruth, Intensity: 0.9, SessionID: "old-session",
			Receipts: json.RawMessage(`[{"kind":"file","ref":"x","checked_at_write":{"status":"verified"}}]`)}
		if ok, err := e.insertInsightRecord(ctx, tx, &later); err != nil || !ok || later.ID != claimID(ts2, "go", "later") {
			t.Fatalf("insert later: %v %v %s", ok, err, later.ID)
		}
		first := insightRecord{ID: origID, Timestamp: ts1, Domain: "go", Content: "first", Layer: LayerHypothesis, Intensity: 0.5, SessionID: "old-session", Principal: "user:old"}
		if ok, err := e.insertInsightRecord(ctx, tx, &first); err != nil || !ok {
			t.Fatalf("insert first: %v %v", ok, err)
		}
		if ok, err := e.insertInsightRecord(ctx, tx, &first); err != nil || ok {
			t.Fatalf("second import of the same id: %v %v", ok, err)
		}
		if err := e.insertSupersessionRecord(ctx, tx, supersessionRecord{Predecessor: origID, Successor: later.ID, Timestamp: ts2, Summary: "kept"}); err != nil {
			t.Fatal(err)
		}
		if err := e.insertSupersessionRecord(ctx, tx, supersessionRecord{Predecessor: later.ID, Successor: origID, Timestamp: ts2, Summary: "loop"}); err == nil {
			t.Fatal("an imported cycle was accepted")
		}
		if _, err := e.insertLearningRecord(ctx, tx, learningRecord{Timestamp: ts1, WhatHappened: "h", WhatLearned: "l", AppliesTo: "general"}); err != nil {
			t.Fatal(err)
		}
		var err error
		arch, err = e.insertArchiveRecord(ctx, tx, []byte("blob"), archiveEntry{ArchiveID: archiveHash([]byte("blob")), Timestamp: ts1, Source: "old"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.insertArchiveRecord(ctx, tx, []byte("blob"), archiveEntry{ArchiveID: strings.Repeat("0", 64), Timestamp: ts1, Source: "old"}); err == nil {
			t.Fatal("an archive whose id does not match its bytes was accepted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []insightRecord{
		{Timestamp: "2026-02-05 14:23", Domain: "go", Content: "x", Layer: LayerHypothesis},
		{Timestamp: ts1, Domain: "../x", Content: "x", Layer: LayerHypothesis},
		{Timestamp: ts1, Domain: "go", Content: "x", Layer: "truth"},
		{ID: "ABC", Timestamp: ts1, Domain: "go", Content: "x", Layer: LayerHypothesis},
	} {
		err := inTx(ctx, e.db, func(tx *sql.Tx) error { _, err := e.insertInsightRecord(ctx, tx, &bad); return err })
		wantError(t, AsError(err), CategoryValidation)
	}

	var ins []insightRecord
	if err := e.eachInsight(ctx, func(r insightRecord) error { ins = append(ins, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].ID != origID || ins[0].Principal != "user:old" || ins[1].Timestamp != ts2 || ins[1].Domain != "go" {
		t.Fatalf("insights %+v", ins)
	}
	var sup []supersessionRecord
	_ = e.eachSupersession(ctx, func(s supersessionRecord) error { sup = append(sup, s); return nil })
	var learn []learningRecord
	_ = e.eachLearning(ctx, func(l learningRecord) error { learn = append(learn, l); return nil })
	var blobs, entries int
	_ = e.eachArchiveBlob(ctx, func(id string, b []byte) error {
		if id != arch.ArchiveID || string(b) != "blob" {
			t.Errorf("blob %s %q", id, b)
		}
		blobs++
		return nil
	})
	_ = e.eachArchiveEntry(ctx, func(a archiveEntry) error { entries++; return nil })
	if len(sup) != 1 || sup[0].Summary != "kept" || len(learn) != 1 || learn[0].Timestamp != ts1 || blobs != 1 || entries != 1 {
		t.Fatalf("supersessions %+v learnings %+v blobs %d entries %d", sup, learn, blobs, entries)
	}
	// The imported insights are found by recall with their own dates.
	if got := recall(t, e, `{"end_date":"2026-02-05"}`); got.Count != 1 || got.Insights[0].SupersededBy == "" {
		t.Fatalf("recall of imported: %+v", got)
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		dateOnly bool
	}{
		{"2026-02-05", "2026-02-05T00:00:00.000000Z", true},
		{"2026-02-05T14:23:11.123456", "2026-02-05T14:23:11.123456Z", false},
		{"2026-02-05T14:23:11+02:00", "2026-02-05T12:23:11.000000Z", false},
		{"2026-02-05 14:23:11", "2026-02-05T14:23:11.000000Z", false},
		{"2026-02-05T14:23", "2026-02-05T14:23:00.000000Z", false},
	} {
		got, dateOnly, err := parseTimestamp(tc.in)
		if err != nil || formatTS(got) != tc.want || dateOnly != tc.dateOnly {
			t.Errorf("parseTimestamp(%q) = %s %v %v, want %s", tc.in, formatTS(got), dateOnly, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-02-30", "05/02/2026", "1738761600"} {
		if _, _, err := parseTimestamp(bad); err == nil {
			t.Errorf("parseTimestamp(%q) accepted", bad)
		}
	}
}
