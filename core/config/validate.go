package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/core/internal/anchorspec"
)

// Rules for names.
var (
	// serverName matches the names of servers.
	serverName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// prefixPattern matches explicit non-empty prefixes.
	prefixPattern = regexp.MustCompile(`^[a-zA-Z0-9-]{1,32}$`)
)

// maxPrefixLen is the longest prefix prefixPattern allows.
const maxPrefixLen = 32

// logLevels are the values log_level may take.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// Validate checks everything Load guarantees about a Config (except that
// references have been resolved) and returns every problem found, joined by
// errors.Join, each a *Problem naming its key path; nil when there are none.
// It does not change c. A Config built in code must therefore have its
// defaults filled in (start from Default()), DataDir absolute, and each
// server's Transport set.
func (c Config) Validate() error {
	ps := &problems{}
	c.validate(ps, func(string) bool { return false })
	return ps.err()
}

// validate adds c's problems to ps, in a stable order. broken reports the
// key paths that were written in the file but could not be decoded; such a
// command or url counts as present.
func (c Config) validate(ps *problems, broken func(path string) bool) {
	if c.DataDir == "" || !filepath.IsAbs(c.DataDir) {
		ps.add("data_dir", pos{}, "must be an absolute path")
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		ps.add("log_level", pos{}, "must be one of %s, not %q", strings.Join(logLevels, ", "), c.LogLevel)
	}
	if n := c.Limits.MaxMessageBytes; n < MinMaxMessageBytes || n > MaxMaxMessageBytes {
		ps.add("limits.max_message_bytes", pos{}, "must be from %d (1 KiB) to %d (256 MiB), not %d",
			MinMaxMessageBytes, MaxMaxMessageBytes, n)
	}
	c.Listen.validate(ps)
	for i, r := range c.Roots {
		if !filepath.IsAbs(r) {
			ps.add(indexPath("roots", i), pos{}, "must be an absolute path")
		}
	}
	c.Policy.validate(ps)
	c.Audit.validate(ps)
	if dir, keys := c.AuditDir(), c.AuditKeysDir(); c.Audit.Enabled && c.DataDir != "" &&
		(keys == dir || strings.HasPrefix(keys, dir+string(filepath.Separator))) {
		ps.add("audit.keys_dir", pos{}, "must be outside the audit directory (%s): the signing key must not sit inside the log it vouches for", dir)
	}
	names := make([]string, 0, len(c.Servers))
	for name := range c.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c.Servers[name].validate(ps, keyPath("servers", name), name, broken)
		if name == EngineServer && c.Engine.Enabled {
			ps.add(keyPath("servers", name), pos{}, "the name %q is the built-in tool engine's; rename this server or set engine.enabled: false", name)
		}
	}
}

// validate adds the problems of the policy section.
func (p Policy) validate(ps *problems) {
	if p.Mode != PolicyEnforce && p.Mode != PolicyShadow {
		ps.add("policy.mode", pos{}, "must be %q or %q, not %q", PolicyEnforce, PolicyShadow, p.Mode)
	}
	if t := p.Timeout.D(); t <= 0 || t > 10*time.Second {
		ps.add("policy.timeout", pos{}, "must be more than 0 and at most 10s, not %s", t)
	}
	if !p.Builtin && len(p.Paths) == 0 {
		ps.add("policy.builtin", pos{}, "is false but policy.paths is empty: there would be no policy at all")
	}
}

// validate adds the problems of the audit section.
func (a Audit) validate(ps *problems) {
	if a.MaxSegmentBytes < 64<<10 {
		ps.add("audit.max_segment_bytes", pos{}, "must be at least 65536, not %d", a.MaxSegmentBytes)
	}
	if a.MaxSegmentAge.D() < time.Minute {
		ps.add("audit.max_segment_age", pos{}, "must be at least 1m, not %s", a.MaxSegmentAge.D())
	}
	if a.CheckpointEvery < 1 || a.CheckpointEvery > 1_000_000 {
		ps.add("audit.checkpoint_every", pos{}, "must be from 1 to 1000000, not %d", a.CheckpointEvery)
	}
	if t := a.CheckpointInterval.D(); t < 10*time.Millisecond || t > time.Hour {
		ps.add("audit.checkpoint_interval", pos{}, "must be from 10ms to 1h, not %s", t)
	}
	if r := a.Retention.D(); r != 0 && r < time.Hour {
		ps.add("audit.retention", pos{}, "must be 0 (keep every segment) or at least 1h, not %s", r)
	}
	for i, entry := range a.Anchors {
		spec, err := anchorspec.Parse(entry)
		switch {
		case err != nil:
			ps.add(indexPath("audit.anchors", i), pos{}, "%v", err)
		case spec.Kind == anchorspec.Dir && !filepath.IsAbs(spec.Path):
			ps.add(indexPath("audit.anchors", i), pos{}, "must be an absolute directory path or a URL (%s)", anchorspec.Forms)
		}
	}
}

// validate adds the problems of the listen section.
func (l Listen) validate(ps *problems) {
	if l.HTTP != "" {
		if msg := checkListenAddr(l.HTTP, l.InsecureAllowRemote); msg != "" {
			ps.add("listen.http", pos{}, "%s", msg)
		}
	}
	for i, h := range l.AllowedHosts {
		if msg := checkHostHeader(h); msg != "" {
			ps.add(indexPath("listen.allowed_hosts", i), pos{}, "%s", msg)
		}
	}
	for i, o := range l.AllowedOrigins {
		if !isOrigin(o) {
			ps.add(indexPath("listen.allowed_origins", i), pos{}, "must be an origin such as \"https://app.example\": scheme://host[:port] with nothing after it, not %q", o)
		}
	}
}

// checkListenAddr checks listen.http and returns what is wrong, or "".
func checkListenAddr(addr string, allowRemote bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("must be host:port, such as \"127.0.0.1:8080\" or \"[::1]:8080\", not %q", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("the port must be a number from 0 to 65535, not %q", port)
	}
	if strings.ContainsAny(host, " \t\r\n/") {
		return fmt.Sprintf("%q is not a host name or IP address", host)
	}
	if !allowRemote && !isLoopbackHost(host) {
		what := fmt.Sprintf("host %q is not a loopback address", host)
		if host == "" {
			what = "an empty host listens on every interface"
		}
		return what + "; listening beyond loopback needs listen.insecure_allow_remote: true, " +
			"because Sovereign has no authentication yet and anyone who can reach the port could use every upstream server"
	}
	return ""
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// address (127.0.0.0/8, ::1).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}

// checkHostHeader checks an entry of listen.allowed_hosts and returns what is
// wrong, or "".
func checkHostHeader(h string) string {
	switch {
	case h == "":
		return "must not be empty"
	case strings.Contains(h, "*"):
		return fmt.Sprintf("wildcards are not supported; list each host, not %q", h)
	case strings.Contains(h, "://") || strings.ContainsAny(h, "/?#@ \t\r\n"):
		return fmt.Sprintf("must be a host, optionally with :port, as sent in the Host header (no scheme, path or spaces), not %q", h)
	}
	return ""
}

// isOrigin reports whether o is a bare origin: scheme://host[:port].
func isOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
		return false
	}
	return o == u.Scheme+"://"+u.Host
}

// validate adds the problems of the server called name, at path sp.
func (s Server) validate(ps *problems, sp, name string, broken func(string) bool) {
	if !serverName.MatchString(name) {
		ps.add(sp, pos{}, "a server name must be 1 to 64 letters, digits, \"_\" or \"-\"")
	}
	cmdBroken, urlBroken := broken(sp+".command"), broken(sp+".url")
	hasCmd, hasURL := s.Command != "" || cmdBroken, s.URL != "" || urlBroken
	tp := sp + ".transport"
	known := s.Transport == TransportStdio || s.Transport == TransportStreamableHTTP || s.Transport == TransportSSE
	if s.Transport != "" && !known {
		hint := ""
		if s.Transport == "http" {
			hint = ` (for "http" write "streamable-http", or use the key "type")`
		}
		ps.add(tp, pos{}, "must be one of stdio, streamable-http or sse, not %q%s", s.Transport, hint)
	}
	switch {
	case hasCmd && hasURL:
		ps.add(sp, pos{}, "command and url cannot both be set: use command for a stdio server, url for an HTTP server")
	case !hasCmd && !hasURL:
		ps.add(sp, pos{}, "either command (for a stdio server) or url (for an HTTP server) must be set")
	case s.Transport == "":
		if !cmdBroken && !urlBroken {
			ps.add(tp, pos{}, "must be set to stdio, streamable-http or sse")
		}
	case s.Transport == TransportStdio && hasURL:
		ps.add(tp, pos{}, "is stdio, which needs command, but this server has url")
	case (s.Transport == TransportStreamableHTTP || s.Transport == TransportSSE) && hasCmd:
		ps.add(tp, pos{}, "is %s, which needs url, but this server has command", s.Transport)
	}
	if hasURL && !hasCmd {
		for _, k := range []struct {
			key string
			set bool
		}{{"args", len(s.Args) > 0}, {"env", len(s.Env) > 0}, {"cwd", s.Cwd != ""}} {
			if k.set {
				ps.add(sp+"."+k.key, pos{}, "applies to stdio servers (with command) only, but this server has url")
			}
		}
	}
	if hasCmd && !hasURL && len(s.Headers) > 0 {
		ps.add(sp+".headers", pos{}, "applies to HTTP servers (with url) only, but this server has command")
	}

	if strings.ContainsRune(s.Command, 0) {
		ps.add(sp+".command", pos{}, "must not contain a NUL character")
	}
	for i, a := range s.Args {
		if strings.ContainsRune(a, 0) {
			ps.add(indexPath(sp+".args", i), pos{}, "must not contain a NUL character")
		}
	}
	for _, k := range sortedKeys(s.Env) {
		p := keyPath(sp+".env", k)
		if k == "" || strings.ContainsAny(k, "=\x00") {
			ps.add(p, pos{}, "an environment variable name must not be empty or contain \"=\" or NUL")
		}
		if strings.ContainsRune(s.Env[k], 0) {
			ps.add(p, pos{}, "must not contain a NUL character")
		}
	}
	if s.Cwd != "" && !filepath.IsAbs(s.Cwd) {
		ps.add(sp+".cwd", pos{}, "must be an absolute path")
	}

	if s.URL != "" && !isHTTPURL(s.URL) {
		ps.add(sp+".url", pos{}, "must be an absolute http or https URL")
	}
	for _, k := range sortedKeys(s.Headers) {
		p := keyPath(sp+".headers", k)
		if !isHeaderName(k) {
			ps.add(p, pos{}, "is not a valid HTTP header name")
		}
		if hasControl(s.Headers[k]) {
			ps.add(p, pos{}, "must not contain line breaks or other control characters")
		}
	}

	if s.Prefix != nil && *s.Prefix != "" && !prefixPattern.MatchString(*s.Prefix) {
		ps.add(sp+".prefix", pos{}, "must be empty (no prefix) or 1 to 32 letters, digits or \"-\" (no \"_\": \"__\" separates prefix and tool name), not %q", *s.Prefix)
	}
	if t := time.Duration(s.Timeout); t <= 0 || t > MaxTimeout {
		ps.add(sp+".timeout", pos{}, "must be more than 0s and at most 1h, not %s", t)
	}
	keys := make([]string, 0, len(s.Tools))
	for k := range s.Tools {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.Tools[k].validate(ps, keyPath(sp+".tools", k), k)
	}
}

// isHTTPURL reports whether u is an absolute http or https URL with a host.
func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// isHeaderName reports whether k is an HTTP field name (RFC 9110 token).
func isHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// hasControl reports whether v holds a control character other than tab,
// which HTTP field values cannot carry.
func hasControl(v string) bool {
	for _, r := range v {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return true
		}
	}
	return false
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
