package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{`"60s"`, 60 * time.Second, ""},
		{`"1m30s"`, 90 * time.Second, ""},
		{`"500ms"`, 500 * time.Millisecond, ""},
		{`"1h"`, time.Hour, ""},
		{`"-5s"`, -5 * time.Second, ""},
		{`60`, 60 * time.Second, ""},
		{` 0 `, 0, ""},
		{`-3`, -3 * time.Second, ""},
		{`"60"`, 0, "whole number of seconds"},
		{`"soon"`, 0, "whole number of seconds"},
		{`1.5`, 0, "whole number of seconds"},
		{`1e3`, 0, "whole number of seconds"},
		{`true`, 0, "whole number of seconds"},
		{`null`, 0, ""}, // left alone, as encoding/json does
		{`9223372036854775807`, 0, "out of range"},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
		case err != nil || d.D() != tc.want:
			t.Errorf("%s: got %v, %v; want %v", tc.in, d, err, tc.want)
		}
	}
}

func TestDurationYAML(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`t: 60s`, 60 * time.Second, false},
		{`t: "1m30s"`, 90 * time.Second, false},
		{`t: 45`, 45 * time.Second, false},
		{`t: -1`, -time.Second, false},
		{`t: 1.5`, 0, true},
		{`t: soon`, 0, true},
		{`t: "60"`, 0, true},
		{`t: [1]`, 0, true},
		{`t: 18446744073709551615`, 0, true},
	} {
		var v struct {
			T Duration `yaml:"t"`
		}
		err := yaml.Unmarshal([]byte(tc.in), &v)
		if tc.err {
			if err == nil {
				t.Errorf("%s: no error, got %v", tc.in, v.T)
			}
			continue
		}
		if err != nil || v.T.D() != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.in, v.T, err, tc.want)
		}
	}
}

func TestDurationMarshal(t *testing.T) {
	v := struct {
		T Duration `json:"t" yaml:"t"`
	}{Duration(90 * time.Second)}
	js, err := json.Marshal(v)
	if err != nil || string(js) != `{"t":"1m30s"}` {
		t.Errorf("JSON: %s, %v", js, err)
	}
	y, err := yaml.Marshal(v)
	if err != nil || strings.TrimSpace(string(y)) != "t: 1m30s" {
		t.Errorf("YAML: %q, %v", y, err)
	}
	var back Duration
	if err := json.Unmarshal([]byte(`"1m30s"`), &back); err != nil || back != v.T {
		t.Errorf("JSON round trip: %v, %v", back, err)
	}
	if s := Duration(1500 * time.Millisecond).String(); s != "1.5s" {
		t.Errorf("String = %q", s)
	}
	if b, _ := Duration(time.Minute).MarshalText(); string(b) != "1m0s" {
		t.Errorf("MarshalText = %q", b)
	}
}

func TestDurationInConfig(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", DefaultTimeout},
		{"timeout: null", DefaultTimeout},
		{"timeout: 30s", 30 * time.Second},
		{"timeout: \"2m\"", 2 * time.Minute},
		{"timeout: 1h", time.Hour},
		{"timeout: 3600", time.Hour},
		{"timeout: 1", time.Second},
		{"timeout: 1ns", time.Nanosecond},
		{"timeout: 0x10", 16 * time.Second},
	} {
		cfg, err := parse([]byte("servers:\n  a:\n    command: x\n    "+tc.in+"\n"), "", stdEnv())
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := cfg.Servers["a"].Timeout.D(); got != tc.want {
			t.Errorf("%q: timeout %v, want %v", tc.in, got, tc.want)
		}
	}
}
