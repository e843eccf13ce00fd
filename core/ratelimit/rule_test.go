package ratelimit

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// decode turns a JSON obligation into what the policy engine hands over
// (encoding/json: numbers as float64).
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// decodeNumber decodes with UseNumber, as OPA's results arrive.
func decodeNumber(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

func TestParseRuleAccepts(t *testing.T) {
	cases := []struct {
		name string
		json string
		want Rule
	}{
		{"documented form", `{"type":"rate_limit","key":"fs:delete:alice","limit":10,"window":"1m","burst":3}`,
			Rule{Key: "fs:delete:alice", Limit: 10, Window: time.Minute, Burst: 3}},
		{"burst defaults to limit", `{"type":"rate_limit","key":"k","limit":10,"window":"1m"}`,
			Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 10}},
		{"burst null means absent", `{"type":"rate_limit","key":"k","limit":4,"window":"1m","burst":null}`,
			Rule{Key: "k", Limit: 4, Window: time.Minute, Burst: 4}},
		{"window in seconds", `{"type":"rate_limit","key":"k","limit":10,"window":60}`,
			Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 10}},
		{"window in fractional seconds", `{"type":"rate_limit","key":"k","limit":1,"window":0.25}`,
			Rule{Key: "k", Limit: 1, Window: 250 * time.Millisecond, Burst: 1}},
		{"window compound duration", `{"type":"rate_limit","key":"k","limit":5,"window":"1h30m","burst":1}`,
			Rule{Key: "k", Limit: 5, Window: 90 * time.Minute, Burst: 1}},
		{"window at the 24h bound", `{"type":"rate_limit","key":"k","limit":1,"window":"24h"}`,
			Rule{Key: "k", Limit: 1, Window: 24 * time.Hour, Burst: 1}},
		{"window 86400 seconds", `{"type":"rate_limit","key":"k","limit":1,"window":86400}`,
			Rule{Key: "k", Limit: 1, Window: 24 * time.Hour, Burst: 1}},
		{"per_s instead of window", `{"type":"rate_limit","key":"k","limit":10,"per_s":60,"burst":2}`,
			Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 2}},
		{"type omitted", `{"key":"k","limit":1,"window":"1s"}`,
			Rule{Key: "k", Limit: 1, Window: time.Second, Burst: 1}},
		{"whole float", `{"type":"rate_limit","key":"k","limit":10.0,"window":"1s","burst":2.0}`,
			Rule{Key: "k", Limit: 10, Window: time.Second, Burst: 2}},
		{"burst above limit", `{"type":"rate_limit","key":"k","limit":1,"window":"1s","burst":1000000}`,
			Rule{Key: "k", Limit: 1, Window: time.Second, Burst: 1000000}},
		{"limit at the bound", `{"type":"rate_limit","key":"k","limit":1000000,"window":"1s"}`,
			Rule{Key: "k", Limit: 1000000, Window: time.Second, Burst: 1000000}},
		{"key at 512 bytes", `{"type":"rate_limit","key":"` + strings.Repeat("k", 512) + `","limit":1,"window":"1s"}`,
			Rule{Key: strings.Repeat("k", 512), Limit: 1, Window: time.Second, Burst: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range []map[string]any{decode(t, c.json), decodeNumber(t, c.json)} {
				got, err := ParseRule(m)
				if err != nil {
					t.Fatalf("ParseRule(%s) (%T numbers): %v", c.json, m["limit"], err)
				}
				if got != c.want {
					t.Fatalf("ParseRule(%s) = %+v, want %+v", c.json, got, c.want)
				}
			}
		})
	}
}

func TestParseRuleGoValues(t *testing.T) {
	// Obligations built in Go (e.g. by tests or another engine) with Go ints.
	got, err := ParseRule(map[string]any{"type": "rate_limit", "key": "k", "limit": 3, "window": int64(10), "burst": uint8(2)})
	want := Rule{Key: "k", Limit: 3, Window: 10 * time.Second, Burst: 2}
	if err != nil || got != want {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestParseRuleRejects(t *testing.T) {
	cases := []struct {
		name  string
		json  string // decoded with encoding/json
		field string // FieldError.Field
		msg   string // substring of the error
	}{
		{"missing key", `{"type":"rate_limit","limit":1,"window":"1m"}`, "key", "required"},
		{"empty key", `{"type":"rate_limit","key":"","limit":1,"window":"1m"}`, "key", "non-empty"},
		{"key not a string", `{"type":"rate_limit","key":7,"limit":1,"window":"1m"}`, "key", "must be a string"},
		{"key too long", `{"type":"rate_limit","key":"` + strings.Repeat("k", 513) + `","limit":1,"window":"1m"}`, "key", "at most 512 bytes"},
		{"missing limit", `{"type":"rate_limit","key":"k","window":"1m"}`, "limit", "required"},
		{"limit null", `{"type":"rate_limit","key":"k","limit":null,"window":"1m"}`, "limit", "required"},
		{"limit zero", `{"type":"rate_limit","key":"k","limit":0,"window":"1m"}`, "limit", "at least 1"},
		{"limit negative", `{"type":"rate_limit","key":"k","limit":-5,"window":"1m"}`, "limit", "at least 1"},
		{"limit fractional", `{"type":"rate_limit","key":"k","limit":10.5,"window":"1m"}`, "limit", "whole number (got 10.5)"},
		{"limit string", `{"type":"rate_limit","key":"k","limit":"10","window":"1m"}`, "limit", "whole number (got \"10\")"},
		{"limit too large", `{"type":"rate_limit","key":"k","limit":1e7,"window":"1m"}`, "limit", "at most 1000000"},
		{"limit huge", `{"type":"rate_limit","key":"k","limit":1e300,"window":"1m"}`, "limit", "at most 1000000"},
		{"limit object", `{"type":"rate_limit","key":"k","limit":{},"window":"1m"}`, "limit", "an object"},
		{"missing window", `{"type":"rate_limit","key":"k","limit":1}`, "window", "required"},
		{"window days unsupported", `{"type":"rate_limit","key":"k","limit":1,"window":"1d"}`, "window", "must be a duration"},
		{"window garbage", `{"type":"rate_limit","key":"k","limit":1,"window":"soon"}`, "window", "must be a duration"},
		{"window zero string", `{"type":"rate_limit","key":"k","limit":1,"window":"0s"}`, "window", "greater than zero"},
		{"window negative string", `{"type":"rate_limit","key":"k","limit":1,"window":"-1m"}`, "window", "greater than zero"},
		{"window zero seconds", `{"type":"rate_limit","key":"k","limit":1,"window":0}`, "window", "greater than zero"},
		{"window negative seconds", `{"type":"rate_limit","key":"k","limit":1,"window":-60}`, "window", "greater than zero"},
		{"window too long", `{"type":"rate_limit","key":"k","limit":1,"window":"25h"}`, "window", "at most 24h0m0s"},
		{"window too many seconds", `{"type":"rate_limit","key":"k","limit":1,"window":86401}`, "window", "at most 24h0m0s"},
		{"window below a nanosecond", `{"type":"rate_limit","key":"k","limit":1,"window":1e-12}`, "window", "at least 1ns"},
		{"window bool", `{"type":"rate_limit","key":"k","limit":1,"window":true}`, "window", "must be a duration"},
		{"window and per_s", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","per_s":60}`, "per_s", "together"},
		{"per_s string", `{"type":"rate_limit","key":"k","limit":1,"per_s":"1m"}`, "per_s", "number of seconds"},
		{"per_s zero", `{"type":"rate_limit","key":"k","limit":1,"per_s":0}`, "per_s", "greater than zero"},
		{"burst zero", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","burst":0}`, "burst", "at least 1"},
		{"burst fractional", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","burst":2.5}`, "burst", "whole number"},
		{"burst too large", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","burst":2000000}`, "burst", "at most 1000000"},
		{"burst string", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","burst":"3"}`, "burst", "whole number"},
		{"wrong type", `{"type":"redact","key":"k","limit":1,"window":"1m"}`, "type", `must be "rate_limit"`},
		{"type not a string", `{"type":1,"key":"k","limit":1,"window":"1m"}`, "type", `must be "rate_limit"`},
		{"misspelt field", `{"type":"rate_limit","key":"k","limit":1,"window":"1m","brust":3}`, "brust", "not a rate_limit field"},
		{"empty object", `{}`, "key", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRule(decode(t, c.json))
			if err == nil {
				t.Fatalf("ParseRule(%s) = %+v, want an error", c.json, r)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *FieldError", err, err)
			}
			if fe.Field != c.field {
				t.Errorf("error %q names field %q, want %q", err, fe.Field, c.field)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
			if !strings.Contains(err.Error(), `"`+c.field+`"`) {
				t.Errorf("error %q does not quote the field name %q", err, c.field)
			}
			if r != (Rule{}) {
				t.Errorf("rule on error = %+v, want the zero Rule", r)
			}
		})
	}
}

func TestParseRuleNil(t *testing.T) {
	if _, err := ParseRule(nil); err == nil {
		t.Fatal("ParseRule(nil) succeeded")
	}
}

func TestParseRuleNonFiniteGoFloats(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, field := range []string{"limit", "window", "burst"} {
			m := map[string]any{"key": "k", "limit": 1.0, "window": 1.0}
			m[field] = f
			if r, err := ParseRule(m); err == nil {
				t.Errorf("%s=%v accepted: %+v", field, f, r)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	ok := Rule{Key: "k", Limit: 10, Window: time.Minute, Burst: 3}
	cases := []struct {
		name  string
		edit  func(*Rule)
		field string // "" = valid
	}{
		{"valid", func(*Rule) {}, ""},
		{"burst zero means limit", func(r *Rule) { r.Burst = 0 }, ""},
		{"1ns window", func(r *Rule) { r.Window = 1 }, ""},
		{"24h window", func(r *Rule) { r.Window = 24 * time.Hour }, ""},
		{"empty key", func(r *Rule) { r.Key = "" }, "key"},
		{"long key", func(r *Rule) { r.Key = strings.Repeat("x", 513) }, "key"},
		{"limit 0", func(r *Rule) { r.Limit = 0 }, "limit"},
		{"limit too big", func(r *Rule) { r.Limit = MaxLimit + 1 }, "limit"},
		{"window 0", func(r *Rule) { r.Window = 0 }, "window"},
		{"window negative", func(r *Rule) { r.Window = -time.Second }, "window"},
		{"window > 24h", func(r *Rule) { r.Window = 24*time.Hour + 1 }, "window"},
		{"burst negative", func(r *Rule) { r.Burst = -1 }, "burst"},
		{"burst too big", func(r *Rule) { r.Burst = MaxBurst + 1 }, "burst"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			err := r.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v", r, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Validate(%+v) = %v, want a FieldError for %q", r, err, c.field)
			}
		})
	}
}

func TestRuleString(t *testing.T) {
	got := Rule{Key: "fs:delete:alice", Limit: 10, Window: time.Minute}.String()
	if want := `"fs:delete:alice" 10 per 1m0s, burst 10`; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
