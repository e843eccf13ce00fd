package audit

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestRecordValue(t *testing.T) {
	in := map[string]any{"n": 3.0, "f": 0.5, "big": 1e300, "num": json.Number("12"), "huge": json.Number("123456789012345678901"),
		"s": "ok\xff", "l": []any{true, nil, 2.0}, "ss": []string{"a"}}
	got := RecordValue(in)
	want := map[string]any{"n": int64(3), "f": "0.5", "big": "1e+300", "num": int64(12), "huge": "123456789012345678901",
		"s": "ok\uFFFD", "l": []any{true, nil, int64(2)}, "ss": []any{"a"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("RecordValue = %#v", got)
	}
	if _, err := AppendCanonical(nil, got); err != nil {
		t.Fatalf("not recordable: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	key := []byte("k")
	got := Redacted(key, map[string]any{"path": "/home/a", "n": json.Number("7"), "ok": true, "list": []any{"x", nil}})
	b, err := AppendCanonical(nil, got)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"/home/a", `"x"`} {
		if strings.Contains(string(b), leak) {
			t.Fatalf("redacted copy shows %s: %s", leak, b)
		}
	}
	m := got.(map[string]any)
	if m["path"] != HashValue(key, "/home/a") || m["n"] != HashValue(key, "7") || m["ok"] != HashValue(key, "true") ||
		m["list"].([]any)[1] != nil {
		t.Fatalf("Redacted = %#v", got)
	}
}
