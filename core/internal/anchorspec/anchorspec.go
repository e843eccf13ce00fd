// Package anchorspec parses the entries of audit.anchors, the places every
// new audit checkpoint is also published to. core/config checks the entries
// and core/audit builds its anchors from them: the grammar lives here once.
package anchorspec

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Kind is what an anchor entry names.
type Kind int

// The kinds of anchors.
const (
	// Dir is a plain path: a directory the checkpoint is written to.
	Dir Kind = iota + 1
	// LocalSyslog is "syslog:" or "syslog://": the local syslog daemon.
	LocalSyslog
	// RemoteSyslog is "syslog+udp://host[:port]" or "syslog+tcp://host[:port]".
	RemoteSyslog
	// HTTP is "http://…" or "https://…": the note is POSTed there.
	HTTP
)

// DefaultSyslogPort is the port of a remote syslog entry that names none.
const DefaultSyslogPort = "514"

// Spec is one parsed entry.
type Spec struct {
	Kind Kind
	// Path is the directory of a Dir entry, as written.
	Path string
	// Network ("udp" or "tcp") and Addr (host:port) of a RemoteSyslog entry.
	Network, Addr string
	// URL of an HTTP entry.
	URL *url.URL
}

// Forms lists the accepted forms, for error messages.
const Forms = `a directory path, "syslog:", "syslog+udp://host:port", "syslog+tcp://host:port", "http://…" or "https://…"`

// Parse parses one audit.anchors entry. An entry that starts with a URL
// scheme of two or more characters followed by ":" is a URL and its scheme
// must be one of the forms above (so "C:\dir" is a path, and a relative
// directory whose name has a ":" is written "./name:…"); anything else is a
// directory. The errors do not repeat the entry (an HTTP URL may carry
// credentials).
func Parse(s string) (Spec, error) {
	if s == "" {
		return Spec{}, errors.New("is empty")
	}
	scheme, rest, ok := splitScheme(s)
	if !ok {
		return Spec{Kind: Dir, Path: s}, nil
	}
	switch scheme {
	case "syslog":
		if rest != "" && rest != "//" {
			return Spec{}, errors.New(`"syslog:" is the local syslog and takes nothing after it; a remote server is "syslog+udp://host:port" or "syslog+tcp://host:port"`)
		}
		return Spec{Kind: LocalSyslog}, nil
	case "syslog+udp", "syslog+tcp":
		return parseRemoteSyslog(s, strings.TrimPrefix(scheme, "syslog+"))
	case "http", "https":
		return parseHTTP(s)
	}
	return Spec{}, fmt.Errorf("has an unknown scheme %q: an anchor is %s (write a relative directory whose name has a \":\" as \"./…\")", scheme+":", Forms)
}

// splitScheme splits "scheme:rest" when s starts with a URL scheme of at
// least two characters (RFC 3986: a letter, then letters, digits, "+", "-",
// "."); the scheme is lower-cased.
func splitScheme(s string) (scheme, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 2 {
		return "", "", false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", "", false
		}
	}
	return strings.ToLower(s[:i]), s[i+1:], true
}

func parseRemoteSyslog(s, network string) (Spec, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Spec{}, fmt.Errorf("is not a valid syslog+%s URL: %w", network, unwrapURLError(err))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return Spec{}, fmt.Errorf(`has no host: write "syslog+%s://host:port"`, network)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Spec{}, fmt.Errorf(`takes only a host and a port: "syslog+%s://host:port"`, network)
	}
	port := u.Port()
	if port == "" {
		port = DefaultSyslogPort
	} else if err := checkPort(port); err != nil {
		return Spec{}, err
	}
	return Spec{Kind: RemoteSyslog, Network: network, Addr: net.JoinHostPort(u.Hostname(), port)}, nil
}

func parseHTTP(s string) (Spec, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Spec{}, fmt.Errorf("is not a valid URL: %w", unwrapURLError(err))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Opaque != "" || u.Hostname() == "" {
		return Spec{}, fmt.Errorf(`has no host: write "%s://host[:port]/path"`, u.Scheme)
	}
	if p := u.Port(); p != "" {
		if err := checkPort(p); err != nil {
			return Spec{}, err
		}
	}
	return Spec{Kind: HTTP, URL: u}, nil
}

func checkPort(p string) error {
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has port %q: must be from 1 to 65535", p)
	}
	return nil
}

// unwrapURLError drops url.Error's quoting of the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// String is the entry as it is safe to log: a URL without its user
// information and query (where credentials go).
func (s Spec) String() string {
	switch s.Kind {
	case Dir:
		return s.Path
	case LocalSyslog:
		return "syslog:"
	case RemoteSyslog:
		return "syslog+" + s.Network + "://" + s.Addr
	case HTTP:
		u := *s.URL
		u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
		return u.String()
	}
	return "?"
}
