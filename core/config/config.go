package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Transports a Server can use. After Load every Server's Transport is one of
// these.
const (
	// TransportStdio runs the server as a child process and speaks MCP over
	// its standard input and output.
	TransportStdio = "stdio"
	// TransportStreamableHTTP speaks MCP's Streamable HTTP transport to a URL.
	TransportStreamableHTTP = "streamable-http"
	// TransportSSE speaks MCP's older HTTP+SSE transport to a URL.
	TransportSSE = "sse"
)

// Defaults and limits of the configuration file.
const (
	// DefaultLogLevel is log_level when the file does not set it.
	DefaultLogLevel = "info"
	// DefaultMaxMessageBytes is limits.max_message_bytes when the file does
	// not set it: 4 MiB.
	DefaultMaxMessageBytes int64 = 4 << 20
	// MinMaxMessageBytes and MaxMaxMessageBytes bound
	// limits.max_message_bytes: 1 KiB to 256 MiB inclusive.
	MinMaxMessageBytes int64 = 1 << 10
	MaxMaxMessageBytes int64 = 256 << 20
	// DefaultTimeout is a server's timeout when the file does not set it.
	DefaultTimeout = 60 * time.Second
	// MaxTimeout is the longest timeout a server may have.
	MaxTimeout = time.Hour
	// RootEnv names the environment variable that, when set and not empty,
	// is the default data_dir.
	RootEnv = "SOVEREIGN_ROOT"
	// defaultDataDir is the default data_dir when RootEnv is not set.
	defaultDataDir = "~/.sovereign"
)

// Config is a whole configuration file.
//
// Unknown keys are errors anywhere in the file. A key whose value is null
// (or which is absent) keeps its default. An empty file, or one holding only
// comments, is a valid configuration with no servers.
type Config struct {
	// DataDir is key "data_dir": the directory where Sovereign keeps its
	// state. Default: $SOVEREIGN_ROOT when that is set and not empty, else
	// "~/.sovereign". A leading "~" or "~/" is expanded to the user's home
	// directory and a relative path is made absolute against the current
	// working directory, so after Load it is always absolute.
	DataDir string `json:"data_dir" yaml:"data_dir"`

	// LogLevel is key "log_level": one of "trace", "debug", "info", "warn"
	// or "error" (lower case). Default: "info".
	LogLevel string `json:"log_level" yaml:"log_level"`

	// Limits is key "limits": size limits on what the proxy accepts.
	Limits Limits `json:"limits" yaml:"limits"`

	// Listen is key "listen": the optional HTTP front through which clients
	// reach the proxy. Without it, clients reach the proxy over stdio only.
	Listen Listen `json:"listen" yaml:"listen"`

	// Roots is key "roots": the directories tool calls may touch; a path
	// argument outside them is denied by the default policy. "~" is expanded
	// and relative paths are made absolute. Default (empty): the user's home
	// directory and the data directory.
	Roots []string `json:"roots" yaml:"roots"`

	// Policy is key "policy": which Rego policies decide, and how.
	Policy Policy `json:"policy" yaml:"policy"`

	// Audit is key "audit": the tamper-evident log of every decision.
	Audit Audit `json:"audit" yaml:"audit"`
	// Engine is key "engine": the built-in sovereign tools.
	Engine Engine `json:"engine" yaml:"engine"`
	// Servers is key "servers": the upstream MCP servers, by name. Each name
	// must match ^[a-zA-Z0-9_-]{1,64}$. No servers is valid. After Load the
	// map is never nil.
	Servers map[string]Server `json:"servers" yaml:"servers"`
}

// Policy is the "policy" section.
type Policy struct {
	// Paths is key "policy.paths": extra policy files or directories
	// (*.rego; *_test.rego are tests, not loaded). "~" is expanded.
	Paths []string `json:"paths" yaml:"paths"`
	// Data is key "policy.data": JSON or YAML files merged over the
	// library's default data, in order.
	Data []string `json:"data" yaml:"data"`
	// Mode is key "policy.mode": "enforce" (default) or "shadow" (decisions
	// are computed and logged, calls go through).
	Mode string `json:"mode" yaml:"mode"`
	// Builtin is key "policy.builtin": load the embedded library. Default
	// true; false replaces it with Paths alone.
	Builtin bool `json:"builtin" yaml:"builtin"`
	// Timeout is key "policy.timeout": the longest one evaluation may take
	// before the call is denied. Default 1s (an evaluation takes tens of
	// microseconds; the bound is for runaway policies); at most 10s.
	Timeout Duration `json:"timeout" yaml:"timeout"`
}

// EngineServer is the upstream name of the built-in tool engine; no
// configured server may take it while the engine is enabled.
const EngineServer = "sovereign"

// Engine is the "engine" section: the built-in tool engine, served as the
// upstream "sovereign" with unprefixed tool names.
type Engine struct {
	// Enabled is key "engine.enabled". Default true.
	Enabled bool `json:"enabled" yaml:"enabled"`
}

// Audit is the "audit" section (docs/audit-format.md).
type Audit struct {
	// Enabled is key "audit.enabled". Default true; false runs without an
	// audit log (a loud warning says so).
	Enabled bool `json:"enabled" yaml:"enabled"`
	// Dir is key "audit.dir": where the log folders live. "~" is expanded.
	// Empty means <data_dir>/audit (Config.AuditDir).
	Dir string `json:"dir" yaml:"dir"`
	// KeysDir is key "audit.keys_dir": the signing and HMAC keys, created on
	// first start; it must lie outside the audit directory. Empty means
	// <data_dir>/keys (Config.AuditKeysDir).
	KeysDir string `json:"keys_dir" yaml:"keys_dir"`
	// MaxSegmentBytes is key "audit.max_segment_bytes": a segment is sealed
	// past this size. Default 67108864 (64 MiB); at least 65536.
	MaxSegmentBytes int64 `json:"max_segment_bytes" yaml:"max_segment_bytes"`
	// MaxSegmentAge is key "audit.max_segment_age": a segment is sealed
	// when older. Default 24h; at least 1m.
	MaxSegmentAge Duration `json:"max_segment_age" yaml:"max_segment_age"`
	// CheckpointEvery is key "audit.checkpoint_every": a signed checkpoint
	// after this many records. Default 1000; 1 to 1000000.
	CheckpointEvery int64 `json:"checkpoint_every" yaml:"checkpoint_every"`
	// CheckpointInterval is key "audit.checkpoint_interval": a checkpoint at
	// least this often while records are written. Default 1s; 10ms to 1h.
	CheckpointInterval Duration `json:"checkpoint_interval" yaml:"checkpoint_interval"`
	// Retention is key "audit.retention": whole sealed segments whose last
	// record is older are deleted, at rotation and at start; what is left
	// still verifies (docs/audit-format.md, "Retention"). Default 0: keep
	// every segment; otherwise at least 1h.
	Retention Duration `json:"retention" yaml:"retention"`
	// Anchors is key "audit.anchors": where every new checkpoint is also
	// published, ideally places the proxy's user cannot rewrite later; what
	// verify --checkpoint takes to detect a cut-off log. Each entry is a
	// directory (the note is written there as <origin>.checkpoint; "~" is
	// expanded), "syslog:" (the local syslog, facility auth),
	// "syslog+udp://host[:port]" or "syslog+tcp://host[:port]" (a syslog
	// server, port 514 by default), or an "http://" or "https://" URL the
	// note is POSTed to (docs/audit-format.md, "Anchors"). Any other scheme
	// is an error.
	Anchors []string `json:"anchors" yaml:"anchors"`
}

// AuditDir is where the audit log folders live.
func (c Config) AuditDir() string {
	if c.Audit.Dir != "" {
		return c.Audit.Dir
	}
	return filepath.Join(c.DataDir, "audit")
}

// AuditKeysDir is where the audit signing and HMAC keys live.
func (c Config) AuditKeysDir() string {
	if c.Audit.KeysDir != "" {
		return c.Audit.KeysDir
	}
	return filepath.Join(c.DataDir, "keys")
}

// Audit defaults.
const (
	DefaultAuditSegmentBytes   = 64 << 20
	DefaultAuditSegmentAge     = 24 * time.Hour
	DefaultAuditCheckpoint     = 1000
	DefaultAuditCheckpointTime = time.Second
)

// Policy modes.
const (
	PolicyEnforce = "enforce"
	PolicyShadow  = "shadow"
)

// DefaultPolicyTimeout bounds one policy evaluation.
const DefaultPolicyTimeout = time.Second

// Limits is the "limits" section.
type Limits struct {
	// MaxMessageBytes is key "limits.max_message_bytes": the largest single
	// JSON-RPC message, in bytes, the proxy accepts from either side. An
	// integer from 1024 to 268435456 (256 MiB) inclusive. Default: 4194304
	// (4 MiB).
	MaxMessageBytes int64 `json:"max_message_bytes" yaml:"max_message_bytes"`
}

// Listen is the "listen" section.
type Listen struct {
	// HTTP is key "listen.http": the address the HTTP front listens on, as
	// host:port, e.g. "127.0.0.1:8080" or "[::1]:8080". The port is a number
	// from 0 to 65535 (0 picks a free port). Empty (the default) means no
	// HTTP front. The host must be a loopback address (127.0.0.0/8, ::1, or
	// "localhost") unless InsecureAllowRemote is true; an empty host, as in
	// ":8080", means every interface and is not loopback.
	HTTP string `json:"http,omitempty" yaml:"http,omitempty"`

	// AllowedHosts is key "listen.allowed_hosts": Host header values the HTTP
	// front accepts besides the loopback names, as protection against DNS
	// rebinding. Each is a host name or address, optionally with ":port",
	// exactly as a client sends it in the Host header (no scheme, no path, no
	// wildcards). Default: none.
	AllowedHosts []string `json:"allowed_hosts,omitempty" yaml:"allowed_hosts,omitempty"`

	// AllowedOrigins is key "listen.allowed_origins": Origin header values the
	// HTTP front accepts besides loopback origins. Each is compared exactly,
	// so it must be a bare origin: scheme://host[:port], e.g.
	// "https://app.example", with no path, not even a trailing "/".
	// Default: none.
	AllowedOrigins []string `json:"allowed_origins,omitempty" yaml:"allowed_origins,omitempty"`

	// InsecureAllowRemote is key "listen.insecure_allow_remote": it must be
	// true for HTTP to bind anything but a loopback address, because
	// Sovereign has no authentication yet. Default: false.
	InsecureAllowRemote bool `json:"insecure_allow_remote,omitempty" yaml:"insecure_allow_remote,omitempty"`
}

// Server is one entry under "servers": an upstream MCP server. It is either
// a stdio server (Command set) or an HTTP server (URL set), never both.
//
// Secrets are kept out of the file by reference: in URL, each of Args, and
// the values of Env and Headers, "${env:NAME}" is replaced by the value of
// the environment variable NAME (an error if it is not set), and
// "${file:/absolute/path}" by the content of that file with trailing line
// breaks removed (an error if it cannot be read; "~/" is allowed; at most
// 1 MiB). "$$" stands for a single "$"; a "$" followed by anything else is
// kept as it is; any other "${...}" is an error. Other keys are taken
// literally. Disabled servers are resolved and checked like the others.
type Server struct {
	// Command is key "command": the program to run for a stdio server,
	// looked up in PATH if it has no slash. Taken literally.
	Command string `json:"command,omitempty" yaml:"command,omitempty"`
	// Args is key "args": arguments passed to Command. Stdio servers only.
	Args []string `json:"args,omitempty" yaml:"args,omitempty"`
	// Env is key "env": environment variables set for Command, on top of
	// Sovereign's own environment. Names must not be empty or contain "=".
	// Stdio servers only.
	Env map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	// Cwd is key "cwd": the working directory for Command. A leading "~" is
	// expanded and a relative path is made absolute against Sovereign's
	// working directory. Empty (the default) means Sovereign's working
	// directory. Stdio servers only.
	Cwd string `json:"cwd,omitempty" yaml:"cwd,omitempty"`

	// URL is key "url": the endpoint of an HTTP server; it must be an
	// absolute http or https URL.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Headers is key "headers": HTTP headers sent with every request to URL,
	// e.g. {Authorization: "Bearer ${env:TOKEN}"}. Names must be valid HTTP
	// header names and values must not contain line breaks or other control
	// characters. HTTP servers only.
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`

	// Transport is key "transport": "stdio", "streamable-http" or "sse".
	// When absent it is inferred: "stdio" when command is set; when url is
	// set, "sse" if the URL's path ends in "/sse" (or "/sse/"), else
	// "streamable-http". For compatibility with Claude's configuration
	// files, key "type" is accepted as an alias, with the values "stdio",
	// "http" (meaning "streamable-http"), "streamable-http" and "sse"; if
	// both keys are given they must agree. After Load it is always one of
	// the Transport constants and agrees with Command/URL.
	Transport string `json:"transport" yaml:"transport"`

	// Prefix is key "prefix": what the proxy puts, followed by "__", in front
	// of this server's tool names. Absent or null (nil) means derived from
	// the server's name (see EffectivePrefix); "" means no prefix; otherwise
	// it must match ^[a-zA-Z0-9-]{1,32}$ (no "_", because "__" separates the
	// prefix from the tool name). Several servers may share a prefix or have
	// none; the proxy resolves collisions.
	Prefix *string `json:"prefix,omitempty" yaml:"prefix,omitempty"`

	// Timeout is key "timeout": how long the proxy waits for this server to
	// answer one request, as a duration string such as "30s" or "1m30s", or
	// an integer number of seconds. Must be more than 0 and at most 1h.
	// Default: 60s.
	Timeout Duration `json:"timeout" yaml:"timeout"`

	// Disabled is key "disabled": when true the proxy does not start or
	// contact this server. It is still checked. Default: false.
	Disabled bool `json:"disabled,omitempty" yaml:"disabled,omitempty"`

	// Tools is key "tools": what the operator says about this server's
	// tools, overriding or adding to what the server says about them, keyed
	// by the tool's name as the server knows it (not the prefixed name) or
	// by a glob of such names ("exec_*"; see Tool and MatchTool). Default:
	// none.
	Tools map[string]Tool `json:"tools,omitempty" yaml:"tools,omitempty"`
}

// Default returns the configuration of an empty file: log level "info", 4 MiB
// messages, no HTTP front and no servers. DataDir is read from the
// environment at call time: $SOVEREIGN_ROOT when set and not empty, else
// "~/.sovereign", expanded and made absolute by ExpandPath. Should that fail
// (no home directory), DataDir keeps the unexpanded value and Parse reports
// the problem.
func Default() Config {
	return defaults(osEnv())
}

// defaults is Default with the process environment passed in.
func defaults(e env) Config {
	dir := defaultDataDir
	if root, ok := e.lookupEnv(RootEnv); ok && root != "" {
		dir = root
	}
	if abs, err := expandPath(dir, e); err == nil {
		dir = abs
	}
	return Config{
		DataDir:  dir,
		LogLevel: DefaultLogLevel,
		Limits:   Limits{MaxMessageBytes: DefaultMaxMessageBytes},
		Servers:  map[string]Server{},
		Policy:   Policy{Mode: PolicyEnforce, Builtin: true, Timeout: Duration(DefaultPolicyTimeout)},
		Engine:   Engine{Enabled: true},
		Audit: Audit{Enabled: true, MaxSegmentBytes: DefaultAuditSegmentBytes, MaxSegmentAge: Duration(DefaultAuditSegmentAge),
			CheckpointEvery: DefaultAuditCheckpoint, CheckpointInterval: Duration(DefaultAuditCheckpointTime)},
	}
}

// EffectivePrefix returns the prefix the proxy puts in front of the tool
// names of the server called name: *s.Prefix when set (possibly "", meaning
// no prefix), else one derived from name. The derived prefix is name with
// every "_" replaced by "-", cut to 32 characters, so that every valid server
// name yields a valid prefix; e.g. "brave_search" gives "brave-search".
func (s Server) EffectivePrefix(name string) string {
	if s.Prefix != nil {
		return *s.Prefix
	}
	p := strings.ReplaceAll(name, "_", "-")
	if len(p) > maxPrefixLen {
		// Server names are ASCII once valid; for invalid ones avoid cutting
		// a UTF-8 sequence in half.
		n := 0
		for i := range p {
			if i > maxPrefixLen {
				break
			}
			n = i
		}
		p = p[:n]
	}
	return p
}

// env is what the package takes from the operating system, passed in so
// that tests do not depend on the real environment.
type env struct {
	// lookupEnv is os.LookupEnv.
	lookupEnv func(name string) (string, bool)
	// homeDir is os.UserHomeDir.
	homeDir func() (string, error)
	// abs is filepath.Abs.
	abs func(path string) (string, error)
	// readFile reads a file named by a ${file:...} reference.
	readFile func(path string) ([]byte, error)
}

// osEnv is the real operating system.
func osEnv() env {
	return env{
		lookupEnv: os.LookupEnv,
		homeDir:   os.UserHomeDir,
		abs:       absPath,
		readFile:  readSecretFile,
	}
}
