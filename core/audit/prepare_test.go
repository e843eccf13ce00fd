package audit

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// TestAppendPreparedIsEncodeRecord: the writer's splice gives the bytes of
// EncodeRecord, whatever the keys (before, between and after the common
// fields, beyond the BMP).
func TestAppendPreparedIsEncodeRecord(t *testing.T) {
	ts := time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		name string
		e    Entry
	}{
		{"no body", Entry{Kind: KindLogClosed, Time: ts}},
		{"decision", decision(3)},
		{"bench decision", benchDecision()},
		{"keys around the common ones", Entry{Kind: "k\"x", Time: ts, Body: map[string]any{
			"": 0, "a": 1, "kind0": 2, "kinc": 3, "l": 4, "logs": 5, "pre": 6, "prev_": 7, "sep": 8, "seq0": 9, "ts0": 10, "u": 11, "v0": 12, "w": 13, "~": 14,
		}}},
		{"keys beyond the BMP", Entry{Kind: "x", Time: ts, Body: map[string]any{"\U0001F600": 1, "\uFB01": 2, "é": []any{"\u2028", nil}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.e.Time.IsZero() {
				tc.e.Time = ts
			}
			want, err := EncodeRecord(nil, "sovereign/h/main/0123456789abcdef", 77, LeafHash([]byte("p")), tc.e)
			if err != nil {
				t.Fatal(err)
			}
			var p preparedEntry
			if err := p.prepare(tc.e); err != nil {
				t.Fatal(err)
			}
			got := appendPrepared([]byte("prefix"), "sovereign/h/main/0123456789abcdef", 77, LeafHash([]byte("p")), tc.e.Time, &p)
			if !bytes.Equal(got[len("prefix"):], want) {
				t.Fatalf("got  %s\nwant %s", got[len("prefix"):], want)
			}
		})
	}
}

func TestPrepareRefuses(t *testing.T) {
	for _, e := range []Entry{
		{},
		{Kind: "\xff"},
		{Kind: KindDecision, Body: map[string]any{"ts": "x"}},
		{Kind: KindDecision, Body: map[string]any{"x": 0.5}},
		{Kind: KindDecision, Body: map[string]any{"x": map[string]any{"y": struct{}{}}}},
	} {
		var p preparedEntry
		if err := p.prepare(e); !errors.Is(err, ErrInvalidEntry) {
			t.Errorf("%+v: err = %v", e, err)
		}
	}
}

// FuzzAppendPrepared: for any keys and values, the splice equals
// EncodeRecord (or both refuse the entry).
func FuzzAppendPrepared(f *testing.F) {
	f.Add("kind", "a", "x", "y", int64(1))
	f.Add("ka", "lz", "prev0", "\U0001F600", int64(-5))
	f.Fuzz(func(t *testing.T, kind, k1, k2, v string, n int64) {
		e := Entry{Kind: kind, Time: time.Unix(n, n).UTC(), Body: map[string]any{k1: v, k2: []any{n % (1 << 50), v}}}
		want, werr := EncodeRecord(nil, "o", uint64(n&0xffff), LeafHash([]byte(v)), e)
		var p preparedEntry
		perr := p.prepare(e)
		if (werr == nil) != (perr == nil) {
			t.Fatalf("EncodeRecord: %v, prepare: %v", werr, perr)
		}
		if werr != nil {
			return
		}
		if got := appendPrepared(nil, "o", uint64(n&0xffff), LeafHash([]byte(v)), e.Time, &p); !bytes.Equal(got, want) {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	})
}

func BenchmarkSplicePrepared(b *testing.B) {
	var p preparedEntry
	if err := p.prepare(benchDecision()); err != nil {
		b.Fatal(err)
	}
	ts := time.Now()
	var buf []byte
	for b.Loop() {
		buf = appendPrepared(buf[:0], "sovereign/bench/main/0123456789abcdef", 12345, Hash{}, ts, &p)
	}
}

func TestCompareKeysUTF16(t *testing.T) {
	keys := []string{"", "a", "ab", "b", "\u007f", "é", "\uD7FF", "\uE000", "\uFB01", "\uFFFF", "\U00010000", "\U0001F600", "\U0001F601", "\U0010FFFF", "a\U0001F600", "a\uFFFF", "\xff", "\xff\xfe"}
	for _, a := range keys {
		for _, b := range keys {
			if got, want := sign(compareKeysUTF16(a, b)), sign(compareUTF16(a, b)); got != want {
				t.Errorf("compare(%q, %q) = %d, compareUTF16 says %d", a, b, got, want)
			}
		}
	}
}

func FuzzCompareKeysUTF16(f *testing.F) {
	f.Add("a", "b")
	f.Add("\U0001F600", "\uFB01")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := sign(compareKeysUTF16(a, b)), sign(compareUTF16(a, b)); got != want {
			t.Fatalf("compare(%q, %q) = %d, compareUTF16 says %d", a, b, got, want)
		}
	})
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// compareUTF16 is the obvious definition compareKeysUTF16 must agree with:
// compare the UTF-16 encodings.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return slices.Compare(utf16.Encode([]rune{ra}), utf16.Encode([]rune{rb}))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}
