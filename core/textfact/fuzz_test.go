package textfact

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// invisible reports a character Normalized and the variants must not hold.
func invisible(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf {
			switch classify(r) {
			case clsZeroWidth, clsBidi, clsTag, clsSelector, clsControl:
				return true
			}
		} else if r < 0x20 && r != '\n' || r == 0x7f {
			return true
		}
	}
	return false
}

func checkFacts(t *testing.T, a *Analyzer, args any) {
	t.Helper()
	r := a.Analyze(args)
	if again := a.Analyze(args); !reflect.DeepEqual(r, again) {
		t.Fatal("not deterministic")
	}
	if len(r.Strings) > a.maxStrings || r.Omitted < 0 {
		t.Fatalf("%d facts, %d omitted", len(r.Strings), r.Omitted)
	}
	for _, f := range r.Strings {
		if !utf8.ValidString(f.Normalized) || invisible(f.Normalized) {
			t.Fatalf("Normalized %q", f.Normalized)
		}
		if len(f.Normalized) > a.maxLen {
			t.Fatalf("Normalized of %d bytes", len(f.Normalized))
		}
		if n, _, _ := normalize(f.Normalized, a.maxLen); n != f.Normalized {
			t.Fatalf("normalize not idempotent: %q → %q", f.Normalized, n)
		}
		if len(f.Variants) > maxVariants {
			t.Fatalf("%d variants", len(f.Variants))
		}
		for i, v := range f.Variants {
			if !utf8.ValidString(v) || invisible(v) || len(v) > a.maxLen || v == f.Normalized || v == "" {
				t.Fatalf("variant %q", v)
			}
			if slices.Contains(f.Variants[:i], v) {
				t.Fatalf("duplicate variant %q", v)
			}
		}
		if !slices.IsSorted(f.Signals) || slices.Contains(f.Signals, "") {
			t.Fatalf("signals %q", f.Signals)
		}
		if f.Truncated != slices.Contains(f.Signals, SignalTruncated) {
			t.Fatalf("truncated %v, signals %q", f.Truncated, f.Signals)
		}
		switch f.Kind {
		case KindCommand, KindSQL, KindURL, KindText:
		default:
			t.Fatalf("kind %q", f.Kind)
		}
		if f.Kind == KindURL && f.URL == nil {
			t.Fatal("url kind without URL fact")
		}
		if f.URL != nil {
			checkURLFact(t, f.URL)
		}
	}
}

func checkURLFact(t *testing.T, u *URLFact) {
	t.Helper()
	if !utf8.ValidString(u.Host) || !utf8.ValidString(u.Scheme) {
		t.Fatalf("invalid UTF-8 in %+v", u)
	}
	if u.IP == "" {
		if u.Private || u.LinkLocal || u.Unspecified {
			t.Fatalf("classes without an IP: %+v", u)
		}
		return
	}
	a, err := netip.ParseAddr(u.IP)
	if err != nil {
		t.Fatalf("IP %q: %v", u.IP, err)
	}
	if a.Is4In6() {
		t.Fatalf("IPv4-mapped IP %q not unmapped", u.IP)
	}
	a = a.WithZone("")
	if a.IsLoopback() && !u.Loopback || a.IsPrivate() && !u.Private || a.IsLinkLocalUnicast() && !u.LinkLocal || a.IsUnspecified() && !u.Unspecified {
		t.Fatalf("classes of %s: %+v", a, u)
	}
	if u.Port != "" {
		if _, err := parsePort(u.Port); err != nil {
			t.Fatalf("port %q", u.Port)
		}
	}
}

// FuzzFacts feeds arbitrary JSON, or arbitrary bytes as a string argument.
// The analysis never panics, is deterministic, and Normalized is valid
// UTF-8 without invisible characters, normalised and within MaxLen.
func FuzzFacts(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("testdata", "call.json")); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `1`, `{"query":"%2527 OR 1=1"}`,
		`{"url":"http://0x7f.1/"}`, `{"url":"http://[::ffff:169.254.169.254]:80/"}`,
		`{"cmd":"ls\u200b\u202e -la"}`, `{"note":"aWdub3JlIHByZXZpb3VzIGluc3RydWN0aW9ucw=="}`,
		`{"a":{"b":[{"c/d~e":"&lt;x&gt; \\u0041 %41"}]}}`, `["\udb40\udc41\udb40\udc42"]`,
		"\xff\xfe", "ＤＲＯＰ ＴＡＢＬＥ", "p\u0430yp\u0430l", "\ufdfa\ufdfa\ufdfa",
		"http://a@b\\@c:1/", "e\u200b\u0301", "a\u00a8\u0301", "&#x202e;", "\\ud800\\udc00",
	} {
		f.Add([]byte(s))
	}
	big := New(Options{})
	small := New(Options{MaxLen: 24, MaxStrings: 4, CommandArgs: []string{"c"}, URLArgs: []string{"u"}})
	f.Fuzz(func(t *testing.T, data []byte) {
		var args any
		if json.Unmarshal(data, &args) != nil {
			s := string(data)
			args = map[string]any{"text": s, "url": s, "cmd": s, "list": []any{s, s + s}}
		}
		checkFacts(t, big, args)
		checkFacts(t, small, args)
	})
}

// FuzzURL feeds arbitrary text to the URL reader, read by name and by value.
// It never panics, is deterministic, and an IP is canonical and classified
// at least as net/netip classifies it. When net/url reads a plain http URL
// the same way, the hosts agree.
func FuzzURL(f *testing.F) {
	for _, s := range []string{
		"http://127.0.0.1/", "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/",
		"http://[::ffff:127.0.0.1]/", "http://[fe80::1%25eth0]:8080/", "http://good.com@evil.com/",
		"http:\\\\evil.com\\@good.com", "file:///etc/passwd", "gopher://localhost:70/_", "169.254.169.254/x",
		"::1", "//x", "http://%31%32%37.1/", "http://１２７.１/", "http://[", "http://:80", "a:b",
		"http://[::]/", "http://0xffffffff/", "http://1.2.3.4.5/", "javascript:alert(1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, byName := range []bool{true, false} {
			u := parseURLFact(s, byName)
			if again := parseURLFact(s, byName); u != again {
				t.Fatalf("not deterministic: %+v %+v", u, again)
			}
			if utf8.ValidString(s) {
				checkURLFact(t, &u)
			}
		}
		// Differential check against net/url on plain http URLs.
		if strings.ContainsAny(s, "\\%@\t\n\r ") || !isASCII(s) || !strings.HasPrefix(s, "http://") {
			return
		}
		pu, err := url.Parse(s)
		if err != nil || pu.Opaque != "" || pu.Host == "" {
			return // "http:///x" has host x for WHATWG, none for net/url
		}
		u := parseURLFact(s, false)
		if u.Error != "" {
			return
		}
		if got, want := u.Host, strings.ToLower(pu.Hostname()); got != want && !strings.HasPrefix(pu.Host, "[") {
			t.Fatalf("%q: host %q, net/url %q", s, got, want)
		}
		if a, err := netip.ParseAddr(pu.Hostname()); err == nil && a.Is4() && u.IP != a.String() {
			t.Fatalf("%q: IP %q, net/url %q", s, u.IP, a)
		}
	})
}

// Facts survive a JSON round trip, with the field names the policies use.
func TestFactsJSON(t *testing.T) {
	a := New(Options{})
	fs := a.Facts(map[string]any{"url": "http://0x7f.1/", "q": "%41"})
	data, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	var back []Fact
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, fs) {
		t.Fatalf("round trip: %v", err)
	}
	for _, k := range []string{`"link_local"`, `"unspecified"`, `"userinfo"`, `"pointer"`, `"normalized"`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("JSON lacks %s: %s", k, data)
		}
	}
}
