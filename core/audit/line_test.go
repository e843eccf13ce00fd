package audit

import (
	"testing"
	"time"
)

func TestParseRecordLine(t *testing.T) {
	line, err := EncodeRecord(nil, "sovereign/h/main/0123456789abcdef", 42, LeafHash([]byte("x")), Entry{
		Kind: KindSegmentSealed, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Body: map[string]any{"segment": "a\"b", "next": "0000000000000043.jsonl", "records": 7, "size": "not a number"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseRecordLine(line)
	if err != nil {
		t.Fatal(err)
	}
	want := recordHead{v: 1, seq: 42, ts: "2026-01-02T03:04:05.000006Z", kind: KindSegmentSealed, log: "sovereign/h/main/0123456789abcdef",
		prev: LeafHash([]byte("x")).String(), segment: `a"b`, next: "0000000000000043.jsonl",
		have: hasCommon | hasSegment | hasNext}
	if h != want {
		t.Fatalf("got  %+v\nwant %+v", h, want)
	}
	for _, bad := range []string{
		`{"kind":"x","log":"l","prev":"p","seq":1,"ts":"t"}`,         // no v
		`{"kind":"x","log":"l","prev":"p","seq":"1","ts":"t","v":1}`, // seq of the wrong type
		`{"kind":1,"log":"l","prev":"p","seq":1,"ts":"t","v":1}`,     // kind of the wrong type
		`["kind"]`, ``, `{"kind":"x","log":"l","prev":"p","seq":1,"ts":"t","v":1} `,
	} {
		if _, err := parseRecordLine([]byte(bad)); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func BenchmarkParseRecordLine(b *testing.B) {
	line, err := EncodeRecord(nil, "sovereign/host/main/0123456789abcdef", 123456, LeafHash(nil), decision(7))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := parseRecordLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidTime(t *testing.T) {
	for ts, want := range map[string]bool{
		"2026-11-27T09:30:00.123456Z":  true,
		"2026-11-27T09:30:00.12345Z":   false,
		"2026-11-27T09:30:00.1234567Z": false,
		"2026-11-27 09:30:00.123456Z":  false,
		"2026-11-27T09:30:00.123456+":  false,
		"2026-1a-27T09:30:00.123456Z":  false,
		"":                             false,
	} {
		if got := validTime(ts); got != want {
			t.Errorf("validTime(%q) = %v", ts, got)
		}
	}
	if ts := time.Now().UTC().Format(TimeFormat); !validTime(ts) {
		t.Errorf("validTime(%q) = false", ts)
	}
}
