package textfact

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// URLs are read the way the most lenient common parser would read them (the
// WHATWG URL standard used by browsers and Node, and inet_aton used by
// resolvers), so that a notation one client accepts cannot hide an address
// from the policy:
//
//   - tabs and line breaks anywhere are removed, leading and trailing spaces
//     trimmed, the text normalised (NFKC: full-width digits and dots count);
//   - for http, https, ws, wss and ftp any run of "/" and "\" after the
//     scheme starts the authority, and "\" ends it ("http:\\evil.com\x");
//   - the host is percent-decoded, NFKC-normalised (with the ideographic
//     full stops U+3002 and U+FF61 read as "."), lower-cased;
//   - a host whose last label is a number is an IPv4 address in the
//     inet_aton notations: 1 to 4 parts, each decimal, octal (leading 0) or
//     hex (0x), the last part filling the remaining bytes (2130706433,
//     0177.0.0.1, 0x7f.1, 127.1);
//   - a bracketed host is IPv6, possibly with a zone ("%25eth0"); an
//     IPv4-mapped address is given (IP) and classified as IPv4; the IPv4
//     address embedded in NAT64 (64:ff9b::/96), IPv4-compatible (::/96) and
//     6to4 (2002::/16) addresses is classified too;
//   - UserInfo is set when an "@" appears before the first "/", "?" or "#"
//     (so also "http://evil.com\@good.com", which some parsers read as
//     userinfo); the host is what follows the last "@".
//
// A value bound to a URL argument by name may lack a scheme ("example.com",
// "169.254.169.254/latest", "[::1]:8080", a bare IPv6 address): it is read as
// an authority, as a client that adds "http://" would. Scheme is then "".
//
// Host names are never resolved: only the names localhost, *.localhost,
// localhost.localdomain, ip6-localhost and ip6-loopback (loopback) and
// metadata, metadata.google.internal, instance-data and
// instance-data.ec2.internal (metadata) are classified.

// urlError is an error about the shape of a URL; its text never holds the
// value.
type urlError string

func (e urlError) Error() string { return string(e) }

const (
	errEmpty       urlError = "empty value"
	errNotURL      urlError = "not a URL"
	errEmptyHost   urlError = "empty host"
	errInvalidHost urlError = "invalid host"
	errInvalidIPv4 urlError = "invalid IPv4 address"
	errInvalidIPv6 urlError = "invalid IPv6 address"
	errInvalidPort urlError = "invalid port"
)

// urlText returns the text a URL is read from: raw with tabs and line
// breaks removed, normalised and trimmed. n is the normal form of raw.
func (a *Analyzer) urlText(raw, n string) string {
	if strings.ContainsAny(raw, "\t\n\r") {
		b := make([]byte, 0, len(raw))
		for i := 0; i < len(raw); i++ {
			if c := raw[i]; c != '\t' && c != '\n' && c != '\r' {
				b = append(b, c)
			}
		}
		n, _, _ = normalize(string(b), a.maxLen)
	}
	return strings.TrimSpace(n)
}

// couldBeURL is a cheap test on a normal form: whether it may read as an
// absolute URL once line breaks are removed.
func couldBeURL(n string) bool {
	n = strings.TrimSpace(n)
	if _, _, ok := splitScheme(n); !ok {
		return false
	}
	return strings.IndexByte(n, ' ') < 0
}

// looksLikeURL reports whether a URL text is an absolute URL: a scheme of at
// least two characters followed by "//" (or, for http-like schemes, by "/"
// or "\"), or one of the schemes used without an authority (file,
// javascript, vbscript, data, mailto, jar); and no spaces.
func looksLikeURL(u string) bool {
	scheme, rest, ok := splitScheme(u)
	if !ok || strings.ContainsAny(u, " \n") {
		return false
	}
	if strings.HasPrefix(rest, "//") || knownOpaque(scheme) {
		return true
	}
	return isSpecial(scheme) && rest != "" && (rest[0] == '/' || rest[0] == '\\')
}

// splitScheme splits "scheme:rest", the scheme lower-cased; it requires a
// scheme of 2 to 32 characters ([A-Za-z][A-Za-z0-9+.-]*), so that Windows
// drive letters are not schemes.
func splitScheme(u string) (scheme, rest string, ok bool) {
	for i := 0; i < len(u) && i <= 32; i++ {
		c := u[i]
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '.' || c == '-'):
		case c == ':' && i >= 2:
			return strings.ToLower(u[:i]), u[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

func isSpecial(scheme string) bool {
	switch scheme {
	case "http", "https", "ws", "wss", "ftp":
		return true
	}
	return false
}

func knownOpaque(scheme string) bool {
	switch scheme {
	case "file", "javascript", "vbscript", "data", "mailto", "jar":
		return true
	}
	return false
}

// parseURLFact reads a URL text; byName says the string is bound to a URL
// argument by its name, so that a value without a scheme is read as an
// authority.
func parseURLFact(u string, byName bool) URLFact {
	f, err := parseURL(u, byName)
	if err != nil {
		f.Error = err.Error()
	}
	return f
}

func parseURL(u string, byName bool) (URLFact, error) {
	var f URLFact
	if u == "" {
		return f, errEmpty
	}
	if byName {
		if a, err := netip.ParseAddr(u); err == nil && a.Is6() {
			f.Host = strings.ToLower(u)
			classifyIP(&f, a)
			return f, nil
		}
	}
	scheme, rest, ok := splitScheme(u)
	special := true // "\" ends the authority
	switch {
	case ok && isSpecial(scheme):
		f.Scheme = scheme
		rest = strings.TrimLeft(rest, "/\\")
	case ok && scheme == "file":
		f.Scheme = scheme
		if len(rest) < 2 || !isSlash(rest[0]) || !isSlash(rest[1]) {
			return f, nil // file:/path has no host
		}
		rest = rest[2:]
	case ok && strings.HasPrefix(rest, "//"):
		f.Scheme = scheme
		rest = rest[2:]
		special = false
	case ok && (knownOpaque(scheme) || !byName):
		f.Scheme = scheme
		return f, nil // mailto:, javascript:, data: have no host
	case byName:
		rest = strings.TrimLeft(u, "/\\")
	default:
		return f, errNotURL
	}

	end := len(rest)
	if special {
		if k := strings.IndexAny(rest, "/?#\\"); k >= 0 {
			end = k
		}
	} else if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		end = k
	}
	auth := rest[:end]
	lenient := rest
	if k := strings.IndexAny(rest, "/?#"); k >= 0 {
		lenient = rest[:k]
	}
	if strings.IndexByte(lenient, '@') >= 0 {
		f.UserInfo = true
	}
	if k := strings.LastIndexByte(auth, '@'); k >= 0 {
		auth = auth[k+1:]
	}

	host, port, err := splitHostPort(auth)
	if err != nil {
		f.Host = strings.ToLower(auth)
		return f, fmt.Errorf("host: %w", err)
	}
	if port != "" {
		p, err := parsePort(port)
		if err != nil {
			f.Host = strings.ToLower(host)
			return f, fmt.Errorf("port: %w", err)
		}
		f.Port = p
	}
	if err := readHost(&f, host); err != nil {
		return f, fmt.Errorf("host: %w", err)
	}
	if f.Host == "" && f.Scheme != "file" && !(f.Scheme != "" && !isSpecial(f.Scheme)) {
		return f, fmt.Errorf("host: %w", errEmptyHost)
	}
	return f, nil
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

// splitHostPort splits an authority without userinfo into host and port.
func splitHostPort(auth string) (host, port string, err error) {
	if strings.HasPrefix(auth, "[") {
		k := strings.IndexByte(auth, ']')
		if k < 0 {
			return "", "", errInvalidIPv6
		}
		host, after := auth[:k+1], auth[k+1:]
		switch {
		case after == "":
			return host, "", nil
		case after[0] == ':':
			return host, after[1:], nil
		}
		return "", "", errInvalidHost
	}
	if k := strings.LastIndexByte(auth, ':'); k >= 0 {
		return auth[:k], auth[k+1:], nil
	}
	return auth, "", nil
}

// parsePort returns a port in canonical decimal form.
func parsePort(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return "", errInvalidPort
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return "", errInvalidPort
		}
	}
	return strconv.Itoa(n), nil
}

// readHost decodes, normalises and classifies a host; it sets f.Host.
func readHost(f *URLFact, host string) error {
	if strings.HasPrefix(host, "[") {
		inner := host[1 : len(host)-1]
		if strings.IndexByte(inner, '%') >= 0 {
			if dec, ok := percentDecode(inner); ok {
				inner = dec
			}
		}
		f.Host = strings.ToLower(inner)
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() {
			return errInvalidIPv6
		}
		classifyIP(f, a)
		return nil
	}
	h := host
	if strings.IndexByte(h, '%') >= 0 {
		if dec, ok := percentDecode(h); ok {
			h = dec
		}
	}
	if !isASCII(h) {
		if !utf8.ValidString(h) {
			f.Host = strings.ToValidUTF8(strings.ToLower(h), "\uFFFD")
			return errInvalidHost
		}
		h = norm.NFKC.String(h)
		h = strings.NewReplacer("\u3002", ".", "\uFF61", ".").Replace(h)
	}
	h = strings.ToLower(h)
	f.Host = h
	if h == "" {
		return nil
	}
	for i := 0; i < len(h); i++ {
		switch c := h[i]; c {
		case ' ', '#', '%', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|':
			return errInvalidHost
		default:
			if c < 0x20 || c == 0x7f {
				return errInvalidHost
			}
		}
	}
	if endsInNumber(h) {
		a, ok := parseIPv4(h)
		if !ok {
			return errInvalidIPv4
		}
		classifyIP(f, a)
		return nil
	}
	classifyName(f, strings.TrimSuffix(h, "."))
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lastLabel returns the last dot-separated label of h, ignoring one
// trailing dot.
func lastLabel(h string) string {
	if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	return h[strings.LastIndexByte(h, '.')+1:]
}

// endsInNumber reports whether the last label of a host is a number, which
// makes the host an IPv4 address (WHATWG "ends in a number").
func endsInNumber(h string) bool {
	last := lastLabel(h)
	if last == "" {
		return false
	}
	digits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			digits = false
			break
		}
	}
	if digits {
		return true
	}
	_, ok := ipv4Number(last)
	return ok
}

// ipv4Number parses one part of an IPv4 address: decimal, octal with a
// leading 0, or hex with 0x.
func ipv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var v uint64
	for i := 0; i < len(p); i++ {
		var d uint64
		c := p[i]
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 0xFFFFFFFF {
			return 0, false
		}
	}
	return v, true
}

// parseIPv4 parses an IPv4 address in any inet_aton notation.
func parseIPv4(h string) (netip.Addr, bool) {
	if len(h) > 1 && h[len(h)-1] == '.' {
		h = h[:len(h)-1]
	}
	var nums [4]uint64
	n := 0
	for {
		k := strings.IndexByte(h, '.')
		part := h
		if k >= 0 {
			part = h[:k]
		}
		if n == 4 {
			return netip.Addr{}, false
		}
		v, ok := ipv4Number(part)
		if !ok {
			return netip.Addr{}, false
		}
		nums[n] = v
		n++
		if k < 0 {
			break
		}
		h = h[k+1:]
	}
	for i := 0; i < n-1; i++ {
		if nums[i] > 255 {
			return netip.Addr{}, false
		}
	}
	if nums[n-1] >= uint64(1)<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	ip := nums[n-1]
	for i := 0; i < n-1; i++ {
		ip += nums[i] << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

// classifyIP sets the IP and the classes of an address.
func classifyIP(f *URLFact, a netip.Addr) {
	a = a.Unmap()
	f.IP = a.String()
	a = a.WithZone("")
	markIP(f, a)
	if a.Is6() {
		b := a.As16()
		var v4 [4]byte
		embedded := false
		switch {
		case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && allZero(b[4:12]):
			copy(v4[:], b[12:]) // NAT64 64:ff9b::/96
			embedded = true
		case allZero(b[:12]) && !allZero(b[12:15]):
			copy(v4[:], b[12:]) // IPv4-compatible ::a.b.c.d (not :: or ::1)
			embedded = true
		case b[0] == 0x20 && b[1] == 0x02:
			copy(v4[:], b[2:6]) // 6to4 2002:aabb:ccdd::/48
			embedded = true
		}
		if embedded {
			markIP(f, netip.AddrFrom4(v4))
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func markIP(f *URLFact, a netip.Addr) {
	f.Loopback = f.Loopback || a.IsLoopback()
	f.Unspecified = f.Unspecified || a.IsUnspecified()
	f.LinkLocal = f.LinkLocal || a.IsLinkLocalUnicast()
	cgnat := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, 0, 0}), 10)
	f.Private = f.Private || a.IsPrivate() || cgnat.Contains(a)
	f.Metadata = f.Metadata || isMetadataIP(a)
}

// isMetadataIP reports the addresses of cloud metadata services: AWS, GCP,
// Azure, Oracle and others (169.254.169.254, and fd00:ec2::254 on AWS),
// the AWS ECS credentials endpoint (169.254.170.2) and Alibaba Cloud
// (100.100.100.200).
func isMetadataIP(a netip.Addr) bool {
	if a.Is4() {
		switch a.As4() {
		case [4]byte{169, 254, 169, 254}, [4]byte{169, 254, 170, 2}, [4]byte{100, 100, 100, 200}:
			return true
		}
		return false
	}
	return a.As16() == [16]byte{0xfd, 0x00, 0x0e, 0xc2, 14: 0x02, 15: 0x54}
}

// classifyName classifies the well-known host names, without resolving.
func classifyName(f *URLFact, name string) {
	switch name {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback":
		f.Loopback = true
	case "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal":
		f.Metadata = true
	default:
		if strings.HasSuffix(name, ".localhost") {
			f.Loopback = true
		}
	}
}
