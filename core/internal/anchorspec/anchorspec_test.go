package anchorspec

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		kind   Kind
		str    string // String(); "" when the entry is an error
		errHas string
	}{
		{"/var/lib/witness", Dir, "/var/lib/witness", ""},
		{"relative/dir", Dir, "relative/dir", ""},
		{"~/witness", Dir, "~/witness", ""},
		{`C:\witness`, Dir, `C:\witness`, ""},
		{"./odd:name", Dir, "./odd:name", ""},
		{"syslog:", LocalSyslog, "syslog:", ""},
		{"syslog://", LocalSyslog, "syslog:", ""},
		{"SYSLOG:", LocalSyslog, "syslog:", ""},
		{"syslog+udp://127.0.0.1:5514", RemoteSyslog, "syslog+udp://127.0.0.1:5514", ""},
		{"syslog+tcp://logs.example", RemoteSyslog, "syslog+tcp://logs.example:514", ""},
		{"syslog+tcp://[::1]:601/", RemoteSyslog, "syslog+tcp://[::1]:601", ""},
		{"http://127.0.0.1:8080/cp", HTTP, "http://127.0.0.1:8080/cp", ""},
		{"https://user:secret@witness.example/v1/cp?token=secret", HTTP, "https://witness.example/v1/cp", ""},
		{"HTTPS://witness.example", HTTP, "https://witness.example", ""},

		{"", 0, "", "empty"},
		{"ftp://witness.example/cp", 0, "", `unknown scheme "ftp:"`},
		{"file:///var/lib/witness", 0, "", `unknown scheme "file:"`},
		{"odd:name", 0, "", `unknown scheme "odd:"`},
		{"syslog:local0", 0, "", "takes nothing after it"},
		{"syslog://logs.example:514", 0, "", "takes nothing after it"},
		{"syslog+udp://", 0, "", "has no host"},
		{"syslog+udp://:514", 0, "", "has no host"},
		{"syslog+tcp:logs.example", 0, "", "has no host"},
		{"syslog+udp://logs.example:0", 0, "", "from 1 to 65535"},
		{"syslog+udp://logs.example:99999", 0, "", "from 1 to 65535"},
		{"syslog+udp://logs.example/path", 0, "", "only a host and a port"},
		{"syslog+udp://user@logs.example", 0, "", "only a host and a port"},
		{"syslog+sctp://logs.example", 0, "", "unknown scheme"},
		{"http://", 0, "", "has no host"},
		{"https:///cp", 0, "", "has no host"},
		{"http:witness.example", 0, "", "has no host"},
		{"http://witness.example:70000/", 0, "", "from 1 to 65535"},
		{"http://wit ness.example/", 0, "", "not a valid URL"},
	} {
		s, err := Parse(tc.in)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Parse(%q) = %+v, %v; want an error with %q", tc.in, s, err, tc.errHas)
			}
			if err != nil && strings.Contains(tc.in, "secret") && strings.Contains(err.Error(), "secret") {
				t.Errorf("Parse(%q): the error repeats the credentials: %v", tc.in, err)
			}
			continue
		}
		if err != nil || s.Kind != tc.kind || s.String() != tc.str {
			t.Errorf("Parse(%q) = kind %d %q, %v; want kind %d %q", tc.in, s.Kind, s.String(), err, tc.kind, tc.str)
		}
	}
}
