package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzLoad feeds arbitrary bytes to the parser. It must never panic, must
// be deterministic, must return only *Problem errors, and whatever it
// accepts must pass Validate.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"# comment\n",
		"{}",
		"[]",
		"null",
		"servers: {a: {command: x}}",
		"servers: {a: {url: \"http://h/sse\", type: http, transport: sse}}",
		"servers: {a: {url: \"${env:TOKEN}\", headers: {A: \"${file:/run/secrets/api_key}\"}}}",
		"servers: {a: {command: x, args: [\"$$\", \"${\", \"${env:\"]}}",
		"a: &x [*x]",
		"servers: {a: &s {command: x}, b: *s, c: {<<: [*s, *s], prefix: p}}",
		"servers: {a: {command: !!str 1, timeout: !!int 5, prefix: !custom x}}",
		"listen: {http: \"[::1]:8080\", allowed_origins: [\"https://a\"]}",
		"log_level: info\n---\nlog_level: debug\n",
		"%YAML 1.2\n---\n{}",
		"servers:\n  a:\n    command: |\n      x\n",
		"? [a]\n: b\n",
		"\xef\xbb\xbfservers: {}",
		"\xff\xfe",
		"servers: {a: {timeout: 9223372036854775807, disabled: yes}}",
		"limits: {max_message_bytes: -0x10}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// A hang is a failure too: crash the worker so that the fuzzer
		// records the input.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("parse has not returned after 10s on %q", data))
			}
		}()
		cfg, err := parse(data, "fuzz.yaml", stdEnv())
		cfg2, err2 := parse(data, "fuzz.yaml", stdEnv())
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) || !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("two parses differ:\n%v\n%v", err, err2)
		}
		if err != nil {
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("error with a non-zero Config: %+v", cfg)
			}
			for _, p := range problemsOf(t, err) {
				if p.Message == "" || p.Source != "fuzz.yaml" {
					t.Errorf("bad problem %#v", p)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("Parse accepted a Config that Validate rejects: %v", err)
		}
		if cfg.Servers == nil {
			t.Error("nil Servers")
		}
		for name, s := range cfg.Servers {
			if p := s.EffectivePrefix(name); p != "" && !prefixPattern.MatchString(p) {
				t.Errorf("server %q has invalid effective prefix %q", name, p)
			}
		}
	})
}
