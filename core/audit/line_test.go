package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// referenceCanonical is the slow, obvious definition parseRecordLine's
// one-pass check must agree with: decode with encoding/json (numbers as
// json.Number, which must be int64), encode with AppendCanonical, compare
// the bytes.
func referenceCanonical(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.InputOffset() != int64(len(b)) {
		return false
	}
	v, ok := intsOnly(v)
	if !ok {
		return false
	}
	out, err := AppendCanonical(nil, v)
	return err == nil && bytes.Equal(out, b)
}

func intsOnly(v any) (any, bool) {
	switch x := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case []any:
		for i := range x {
			var ok bool
			if x[i], ok = intsOnly(x[i]); !ok {
				return nil, false
			}
		}
	case map[string]any:
		for k := range x {
			var ok bool
			if x[k], ok = intsOnly(x[k]); !ok {
				return nil, false
			}
		}
	}
	return v, true
}

var canonicalCases = []struct {
	in   string
	want bool
}{
	{`{}`, true},
	{`{"a":1,"b":[true,false,null,"x",-5,0,{}]}`, true},
	{`{"b":1,"a":2}`, false},
	{`{"a":1,"a":1}`, false},
	{`{"a":1 }`, false},
	{` {"a":1}`, false},
	{`{"a":01}`, false},
	{`{"a":-0}`, false},
	{`{"a":1.0}`, false},
	{`{"a":1e3}`, false},
	{`{"a":9007199254740991}`, true},
	{`{"a":9007199254740992}`, false},
	{`{"a":-9007199254740991}`, true},
	{`{"a":"\u0041"}`, false},
	{`{"a":"\/"}`, false},
	{`{"a":"\u001f\u0000\b\f\n\r\t\"\\"}`, true},
	{`{"a":"\u001F"}`, false},
	{`{"a":"\u0008"}`, false},
	{`{"a":"` + "\x01" + `"}`, false},
	{`{"a":"é€😀` + "\u2028\x7f" + `"}`, true},
	{`{"a":"\ud83d\ude00"}`, false},
	{`{"a":"` + "\xff" + `"}`, false},
	{`{"😀":1,"ﬁ":2}`, true}, // UTF-16 order: the surrogate 0xD83D sorts before 0xFB01
	{`{"ﬁ":2,"😀":1}`, false},
	{`{"a\"":1,"a\\":2}`, true},
	{`{"a":tru}`, false},
	{`{"a":[1,]}`, false},
	{`{"a":1}x`, false},
	{`{"a":"x`, false},
	{strings.Repeat(`[`, 10_000) + strings.Repeat(`]`, 10_000), true},
	{strings.Repeat(`[`, maxLineDepth+1) + strings.Repeat(`]`, maxLineDepth+1), false}, // too deep
}

func TestCheckCanonical(t *testing.T) {
	for _, tc := range canonicalCases {
		got := checkCanonical([]byte(tc.in)) == nil
		if got != tc.want {
			t.Errorf("%q: canonical %v, want %v (%v)", tc.in, got, tc.want, checkCanonical([]byte(tc.in)))
		}
		if got != referenceCanonical([]byte(tc.in)) && len(tc.in) < 1000 {
			t.Errorf("%q: the reference disagrees", tc.in)
		}
	}
}

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

// FuzzCheckCanonical: the one-pass check agrees with decoding and
// re-encoding, on any bytes.
func FuzzCheckCanonical(f *testing.F) {
	for _, tc := range canonicalCases {
		f.Add([]byte(tc.in))
	}
	line, _ := EncodeRecord(nil, "o", 1, Hash{}, decision(1))
	f.Add(line)
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkCanonical(b)
		if err != nil && strings.Contains(err.Error(), "nested deeper") {
			return // the reference has no such bound
		}
		if want := referenceCanonical(b); (err == nil) != want {
			t.Fatalf("%q: canonical %v, reference %v (%v)", b, err == nil, want, err)
		}
	})
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
