package textfact

import (
	"testing"
)

type urlWant struct {
	ip                                                  string
	loopback, private, linkLocal, metadata, unspecified bool
}

func checkURL(t *testing.T, in string, u *URLFact, w urlWant) {
	t.Helper()
	if u == nil {
		t.Errorf("%q: no URL fact", in)
		return
	}
	got := urlWant{u.IP, u.Loopback, u.Private, u.LinkLocal, u.Metadata, u.Unspecified}
	if got != w {
		t.Errorf("%q: got %+v (host %q, error %q), want %+v", in, got, u.Host, u.Error, w)
	}
	if u.Error != "" {
		t.Errorf("%q: error %q", in, u.Error)
	}
}

// Every notation of 127.0.0.1 that some parser or resolver accepts.
func TestURLLoopbackNotations(t *testing.T) {
	a := New(Options{})
	lo := urlWant{ip: "127.0.0.1", loopback: true}
	for _, in := range []string{
		"http://127.0.0.1/",
		"http://2130706433/",
		"http://0177.0.0.1/",
		"http://0177.0000.0000.0001/",
		"http://0x7f.1/",
		"http://0x7f000001/",
		"http://0X7F.0X0.0X0.0X1/",
		"http://127.1/",
		"http://127.0.1/",
		"http://0177.1/",
		"http://017700000001/",
		"http://127.000.000.001/",
		"http://127.0.0.1./",
		"http://%31%32%37.0.0.1/",
		"http://１２７.０.０.１/",
		"http://127。0。0。1/",
		"http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/",
		"http://[0:0:0:0:0:ffff:127.0.0.1]:8080/",
		"https://user:pw@127.0.0.1:443/x",
		"http:\\\\127.0.0.1\\x",
		"http:/127.0.0.1/",
		"ws://127.0.0.1:9222/devtools",
		"gopher://127.0.0.1:6379/_FLUSHALL",
		"http://127.0.0.1\t/", // tabs and line breaks are removed
	} {
		f := one(t, a, "url", in)
		checkURL(t, in, f.URL, lo)
	}
	for _, in := range []string{"http://[::1]/", "http://[0:0:0:0:0:0:0:1]:80/"} {
		checkURL(t, in, one(t, a, "url", in).URL, urlWant{ip: "::1", loopback: true})
	}
	for _, in := range []string{"http://localhost/", "http://LOCALHOST.:80/", "http://app.localhost/", "http://localhost.localdomain/", "http://ip6-localhost/"} {
		checkURL(t, in, one(t, a, "url", in).URL, urlWant{loopback: true})
	}
	// IPv4-compatible and NAT64 forms embed the address.
	checkURL(t, "[::127.0.0.1]", one(t, a, "url", "http://[::127.0.0.1]/").URL, urlWant{ip: "::7f00:1", loopback: true})
}

// Every notation of 169.254.169.254, and the other metadata endpoints.
func TestURLMetadataNotations(t *testing.T) {
	a := New(Options{})
	md := urlWant{ip: "169.254.169.254", linkLocal: true, metadata: true}
	for _, in := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://2852039166/",
		"http://0xA9FEA9FE/",
		"http://0xa9fea9fe/",
		"http://0251.0376.0251.0376/",
		"http://0xa9.0xfe.0xa9.0xfe/",
		"http://0251.0xfe.43518/",
		"http://169.254.43518/",
		"http://169.16689662/",
		"http://[::ffff:169.254.169.254]/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://%31%36%39.254.169.254/",
		"http://169.254.169.254.:80/",
		"http://good.com@169.254.169.254/",
		"169.254.169.254/latest/meta-data", // no scheme: bound by name
		"169.254.169.254:80",
	} {
		checkURL(t, in, one(t, a, "url", in).URL, md)
	}
	checkURL(t, "nat64", one(t, a, "url", "http://[64:ff9b::a9fe:a9fe]/").URL,
		urlWant{ip: "64:ff9b::a9fe:a9fe", linkLocal: true, metadata: true})
	checkURL(t, "6to4", one(t, a, "url", "http://[2002:a9fe:a9fe::1]/").URL,
		urlWant{ip: "2002:a9fe:a9fe::1", linkLocal: true, metadata: true})
	checkURL(t, "aws v6", one(t, a, "url", "http://[fd00:ec2::254]/").URL,
		urlWant{ip: "fd00:ec2::254", private: true, metadata: true})
	checkURL(t, "alibaba", one(t, a, "url", "http://100.100.100.200/").URL,
		urlWant{ip: "100.100.100.200", private: true, metadata: true})
	checkURL(t, "ecs", one(t, a, "url", "http://169.254.170.2/v2/credentials").URL,
		urlWant{ip: "169.254.170.2", linkLocal: true, metadata: true})
	for _, in := range []string{"http://metadata.google.internal/computeMetadata/v1/", "http://metadata/", "http://METADATA.google.internal./"} {
		checkURL(t, in, one(t, a, "url", in).URL, urlWant{metadata: true})
	}
}

func TestURLClasses(t *testing.T) {
	a := New(Options{})
	for _, tt := range []struct {
		in   string
		want urlWant
	}{
		{"http://10.1.2.3/", urlWant{ip: "10.1.2.3", private: true}},
		{"http://172.16.0.1/", urlWant{ip: "172.16.0.1", private: true}},
		{"http://172.31.255.255/", urlWant{ip: "172.31.255.255", private: true}},
		{"http://172.32.0.1/", urlWant{ip: "172.32.0.1"}},
		{"http://192.168.1.1/", urlWant{ip: "192.168.1.1", private: true}},
		{"http://0xc0a80101/", urlWant{ip: "192.168.1.1", private: true}},
		{"http://100.64.0.1/", urlWant{ip: "100.64.0.1", private: true}},
		{"http://100.128.0.1/", urlWant{ip: "100.128.0.1"}},
		{"http://[fc00::1]/", urlWant{ip: "fc00::1", private: true}},
		{"http://[fd12:3456::1]/", urlWant{ip: "fd12:3456::1", private: true}},
		{"http://169.254.1.1/", urlWant{ip: "169.254.1.1", linkLocal: true}},
		{"http://[fe80::1%25eth0]/", urlWant{ip: "fe80::1%eth0", linkLocal: true}},
		{"http://[FE80::1%eth0]:8080/", urlWant{ip: "fe80::1%eth0", linkLocal: true}},
		{"http://[::ffff:10.0.0.1]/", urlWant{ip: "10.0.0.1", private: true}},
		{"http://0.0.0.0:8080/", urlWant{ip: "0.0.0.0", unspecified: true}},
		{"http://0/", urlWant{ip: "0.0.0.0", unspecified: true}},
		{"http://[::]/", urlWant{ip: "::", unspecified: true}},
		{"http://8.8.8.8/", urlWant{ip: "8.8.8.8"}},
		{"http://[2001:db8::1]/", urlWant{ip: "2001:db8::1"}},
		{"https://example.com/", urlWant{}},
		{"https://localhost.example.com/", urlWant{}},
		{"https://127.0.0.1.nip.io/", urlWant{}}, // names are never resolved
		{"::1", urlWant{ip: "::1", loopback: true}},
		{"fe80::1%eth0", urlWant{ip: "fe80::1%eth0", linkLocal: true}},
	} {
		checkURL(t, tt.in, one(t, a, "url", tt.in).URL, tt.want)
	}
}

func TestURLFields(t *testing.T) {
	a := New(Options{})
	for _, tt := range []struct {
		in                 string
		scheme, host, port string
		userinfo           bool
		err                string
	}{
		{"http://good.com@evil.com/", "http", "evil.com", "", true, ""},
		{"http://user:pass@example.com:8080/x", "http", "example.com", "8080", true, ""},
		{"http://a@b@c.com/", "http", "c.com", "", true, ""},
		{"http://evil.com\\@good.com/", "http", "evil.com", "", true, ""},
		{"http://evil.com#@good.com/", "http", "evil.com", "", false, ""},
		{"http://evil.com?@good.com/", "http", "evil.com", "", false, ""},
		{"https://good.com%40evil.com/", "https", "good.com@evil.com", "", false, "host: invalid host"},
		{"HTTPS://Example.COM:0443/", "https", "example.com", "443", false, ""},
		{"file:///etc/passwd", "file", "", "", false, ""},
		{"file:/etc/passwd", "file", "", "", false, ""},
		{"file://fileserver/share/x", "file", "fileserver", "", false, ""},
		{"gopher://127.0.0.1:70/_x", "gopher", "127.0.0.1", "70", false, ""},
		{"dict://localhost:11211/stat", "dict", "localhost", "11211", false, ""},
		{"ftp://anonymous@10.0.0.1/", "ftp", "10.0.0.1", "", true, ""},
		{"ldap://127.0.0.1:389/", "ldap", "127.0.0.1", "389", false, ""},
		{"javascript:alert(1)", "javascript", "", "", false, ""},
		{"data:text/html,<script>x</script>", "data", "", "", false, ""},
		{"example.com/path", "", "example.com", "", false, ""},
		{"//evil.com/x", "", "evil.com", "", false, ""},
		{"localhost:8080", "", "localhost", "8080", false, ""},
		{"http://999.1.1.1/", "http", "999.1.1.1", "", false, "host: invalid IPv4 address"},
		{"http://1.2.3.4.5/", "http", "1.2.3.4.5", "", false, "host: invalid IPv4 address"},
		{"http://08.0.0.1/", "http", "08.0.0.1", "", false, "host: invalid IPv4 address"},
		{"http://4294967296/", "http", "4294967296", "", false, "host: invalid IPv4 address"},
		{"http://example.com:99999/", "http", "example.com", "", false, "port: invalid port"},
		{"http://example.com:8o/", "http", "example.com", "", false, "port: invalid port"},
		{"http://[::1/", "http", "[::1", "", false, "host: invalid IPv6 address"},
		{"http://[127.0.0.1]/", "http", "127.0.0.1", "", false, "host: invalid IPv6 address"},
		{"http:///x", "http", "x", "", false, ""},
		{"http://", "http", "", "", false, "host: empty host"},
		{"", "", "", "", false, "empty value"},
		{"not a url at all", "", "not a url at all", "", false, "host: invalid host"},
	} {
		f := one(t, a, "url", tt.in)
		u := f.URL
		if u == nil {
			t.Errorf("%q: no URL fact", tt.in)
			continue
		}
		if u.Scheme != tt.scheme || u.Host != tt.host || u.Port != tt.port || u.UserInfo != tt.userinfo || u.Error != tt.err {
			t.Errorf("%q: got scheme %q host %q port %q userinfo %v error %q; want %q %q %q %v %q",
				tt.in, u.Scheme, u.Host, u.Port, u.UserInfo, u.Error, tt.scheme, tt.host, tt.port, tt.userinfo, tt.err)
		}
	}
}

// A URL whose host is written across lines is read as one.
func TestURLLineBreaks(t *testing.T) {
	a := New(Options{})
	f := one(t, a, "url", "http://169.254.\n169.254/latest")
	checkURL(t, "split", f.URL, urlWant{ip: "169.254.169.254", linkLocal: true, metadata: true})
	f = one(t, a, "note", "http://169.254.\n169.254/latest")
	if f.Kind != KindURL || f.URL == nil || !f.URL.Metadata {
		t.Errorf("by value: kind %q url %+v", f.Kind, f.URL)
	}
}

func TestIPv4Parse(t *testing.T) {
	for in, want := range map[string]string{
		"0":          "0.0.0.0",
		"0x":         "0.0.0.0",
		"1.2.3.4":    "1.2.3.4",
		"1.2.3":      "1.2.0.3",
		"1.65535":    "1.0.255.255",
		"4294967295": "255.255.255.255",
		"0xffffffff": "255.255.255.255",
		"00":         "0.0.0.0",
	} {
		a, ok := parseIPv4(in)
		if !ok || a.String() != want {
			t.Errorf("parseIPv4(%q) = %v %v, want %s", in, a, ok, want)
		}
	}
	for _, in := range []string{"", ".", "1..2", "1.2.3.256", "256.1.1.1", "1.16777216", "09", "0x1g", "1.2.3.4.5", "4294967296"} {
		if a, ok := parseIPv4(in); ok {
			t.Errorf("parseIPv4(%q) = %v, want failure", in, a)
		}
	}
}
