package audit

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gowebpki/jcs"
)

func TestAppendCanonical(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"scalars", []any{nil, true, false, 0, int64(-12), uint64(9007199254740991), "x"}, `[null,true,false,0,-12,9007199254740991,"x"]`},
		{"sorted keys", map[string]any{"b": 1, "a": map[string]any{"d": []string{"x"}, "c": []any{}}}, `{"a":{"c":[],"d":["x"]},"b":1}`},
		{"escapes only what JCS escapes", "q\"b\\n\n\t\u0001</script>&é€😀\u2028", `"q\"b\\n\n\t\u0001</script>&é€😀` + "\u2028" + `"`},
		{"keys by UTF-16 code units", map[string]any{"\U0001F600": 1, "\uFB01": 2, "a": 3}, `{"a":3,"😀":1,"ﬁ":2}`},
		{"empty object", map[string]any{}, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendCanonical(nil, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			oracle, err := jcs.Transform(got)
			if err != nil || string(oracle) != string(got) {
				t.Fatalf("not canonical by gowebpki/jcs: %s (%v)", oracle, err)
			}
		})
	}
	for _, bad := range []any{1.5, json.Number("1"), "\xff", map[string]any{"k": struct{}{}}, uint64(1 << 53), int64(-1 << 60)} {
		if _, err := AppendCanonical(nil, bad); !errors.Is(err, ErrNotCanonical) {
			t.Errorf("%#v: err = %v, want ErrNotCanonical", bad, err)
		}
	}
}

// FuzzAppendCanonical: whatever strings go into a record, the line is what
// an independent RFC 8785 implementation produces, and it decodes back to
// the same strings.
func FuzzAppendCanonical(f *testing.F) {
	f.Add("key", "value")
	f.Add("\u2028", "\x00\x1f\"\\")
	f.Add("😀", "ﬁ")
	f.Fuzz(func(t *testing.T, k, v string) {
		in := map[string]any{k: v, "k2": []any{v, int64(len(v))}}
		line, err := AppendCanonical(nil, in)
		if err != nil {
			if errors.Is(err, ErrNotCanonical) {
				return // invalid UTF-8 is refused, not mangled
			}
			t.Fatal(err)
		}
		oracle, err := jcs.Transform(line)
		if err != nil || string(oracle) != string(line) {
			t.Fatalf("line %q is not canonical: %q (%v)", line, oracle, err)
		}
		var back map[string]any
		if err := json.Unmarshal(line, &back); err != nil || back[k] != v {
			t.Fatalf("round trip of %q: %v %v", line, back, err)
		}
	})
}
