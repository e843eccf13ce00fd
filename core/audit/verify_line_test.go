package audit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gowebpki/jcs"
)

func TestScanLine(t *testing.T) {
	rec, err := EncodeRecord(nil, "sovereign/h/main/01", 7, LeafHash([]byte("x")), Entry{Kind: KindCheckpoint, Time: time.Unix(1, 0),
		Body: map[string]any{"size": 7, "root": "AAAA", "note": "o\n7\nr\n\n— k sig\n", "segment": "0000000000000000.jsonl", "a\"b": []any{int64(-3), nil, true, map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	var lf lineFields
	if err := scanLine(rec, &lf); err != nil {
		t.Fatalf("%s: %v", rec, err)
	}
	if v, ok := lf.uint(rec, fSeq); !ok || v != 7 {
		t.Errorf("seq = %d %v", v, ok)
	}
	if v, ok := lf.str(rec, fNote); !ok || v != "o\n7\nr\n\n— k sig\n" {
		t.Errorf("note = %q %v", v, ok)
	}
	if v, ok := lf.str(rec, fSegment); !ok || v != "0000000000000000.jsonl" {
		t.Errorf("segment = %q %v", v, ok)
	}
	for _, bad := range []string{
		``, `[]`, `{} `, ` {}`, `{"a":1,"a":2}`, `{"b":1,"a":2}`, `{"a":01}`, `{"a":-0}`, `{"a":1.0}`, `{"a":1e3}`,
		`{"a":9007199254740992}`, `{"a":"\/"}`, `{"a":"\u0041"}`, `{"a":"\u000a"}`, `{"a":"\u001F"}`, "{\"a\":\"\x01\"}",
		"{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":tru}`, `{"a":[1,]}`, `{"a" :1}`, `{"a":1}x`, `{"a":"x`, `{"a":[` + strings.Repeat("[", 20000),
	} {
		if err := scanLine([]byte(bad), &lf); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{`{}`, `{"a":"\u001f\b\t\n\f\r\"\\"}`, `{"":0,"a":-9007199254740991}`, "{\"\U0001F600\":1,\"\uFB01\":2}", "{\"a\":\"\u2028\x7f\"}"} {
		if err := scanLine([]byte(good), &lf); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

// FuzzScanLine checks the scanner against an independent RFC 8785
// implementation: a line it accepts is its own JCS form, and a line that is
// its own JCS form is accepted unless it holds a number outside the record
// domain (fractions, exponents, beyond 2^53).
func FuzzScanLine(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":null}],"c":"\u0001"}`, "{\"\U0001F600\":1,\"\uFB01\":2}", `{"a":1.5}`, `{"a":"\u00e9"}`, `{"a":1,"a":1}`} {
		f.Add([]byte(s))
	}
	rec, _ := EncodeRecord(nil, "o", 1, Hash{}, Entry{Kind: KindDecision, Body: map[string]any{"x": "y\n\"z", "n": []any{int64(1), int64(-2)}}})
	f.Add(rec)
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.Count(line, []byte("[")) > 1000 || bytes.Count(line, []byte("{")) > 1000 {
			return // gowebpki/jcs recurses; its depth limit is not ours
		}
		var lf lineFields
		err := scanLine(line, &lf)
		canon, jerr := jcs.Transform(line)
		isCanon := jerr == nil && bytes.Equal(canon, line)
		if err == nil && !isCanon {
			t.Fatalf("accepted %q, JCS form %q (%v)", line, canon, jerr)
		}
		var ce *canonError
		if err != nil && isCanon && len(line) > 0 && line[0] == '{' && !(errors.As(err, &ce) && ce.number) {
			t.Fatalf("refused canonical %q: %v", line, err)
		}
	})
}
