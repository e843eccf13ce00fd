package config

import (
	"encoding/json"
	"errors"
	"github.com/sovereign-stack/sovereign/core/internal/golden"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseGolden(t *testing.T) {
	for _, tc := range []struct {
		file, golden string
	}{
		{"full.yaml", "full.golden.json"},
		// The JSON spelling of full.yaml must load to exactly the same Config.
		{"full.json", "full.golden.json"},
		{"claude_style.json", "claude_style.golden.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := parse(data, tc.file, stdEnv())
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("a loaded Config does not pass Validate: %v", err)
			}
			got, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tc.golden, append(got, '\n'))
		})
	}
}

func TestParseFullValues(t *testing.T) {
	// Spot checks of full.yaml, independent of the golden file.
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(data, "full.yaml", stdEnv())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/home/tester/sovereign-data" {
		t.Errorf("DataDir = %q", cfg.DataDir)
	}
	ev := cfg.Servers["everything"]
	if got := ev.Env["API_KEY"]; got != "file-secret" {
		t.Errorf("env API_KEY = %q, want the file content without its newline", got)
	}
	if got := ev.Env["DEBUG"]; got != "1" {
		t.Errorf("env DEBUG = %q, want the integer as written", got)
	}
	if got := ev.Args[2]; got != "--price=$5" {
		t.Errorf("args[2] = %q, want $$ turned into $", got)
	}
	if ev.Cwd != "/home/tester/work" || ev.Transport != TransportStdio || ev.Timeout.D() != time.Minute {
		t.Errorf("everything = %+v", ev)
	}
	rm := cfg.Servers["remote"]
	if rm.Headers["Authorization"] != "Bearer s3cret" || rm.Timeout.D() != 90*time.Second || rm.EffectivePrefix("remote") != "rem" {
		t.Errorf("remote = %+v", rm)
	}
	if cs := cfg.Servers["claude_style"]; cs.Transport != TransportStreamableHTTP || cs.Timeout.D() != 2*time.Minute {
		t.Errorf("claude_style = %+v", cs)
	}
	if q := cfg.Servers["quiet"]; !q.Disabled || q.Prefix == nil || *q.Prefix != "" || q.EffectivePrefix("quiet") != "" {
		t.Errorf("quiet = %+v", q)
	}
	sh := cfg.Servers["shell"]
	if run := sh.Tools["run"]; run.Effect != EffectExec || !reflect.DeepEqual(run.PathArgs, []string{"workdir", "/options/output"}) ||
		!reflect.DeepEqual(run.CommandArgs, []string{"script"}) || !reflect.DeepEqual(run.SQLArgs, []string{"q"}) {
		t.Errorf("shell.tools.run = %+v", run)
	}
	if noop, ok := sh.Tools["noop"]; !ok || !reflect.DeepEqual(noop, Tool{}) {
		t.Errorf("shell.tools.noop = %+v, %v; want an empty entry", noop, ok)
	}
	if key, ok := sh.MatchTool("exec_python"); !ok || key != "exec_*" || sh.Tools[key].Effect != EffectDestructive {
		t.Errorf(`MatchTool("exec_python") = %q, %v`, key, ok)
	}
}

func TestParseEmpty(t *testing.T) {
	want := defaults(stdEnv())
	want.DataDir = "/home/tester/.sovereign"
	for _, in := range []string{
		"",
		"\n\n  \n",
		"# only a comment\n# and another\n",
		"---\n",
		"---\n...\n",
		"{}",
		"{}\n",
		"%YAML 1.2\n---\n# nothing\n",
		"\xef\xbb\xbf# a byte order mark and a comment\n",
		"servers:\nlisten:\nlimits:\n",
		"servers: {}\nlisten: {}\nlimits: {}\n",
		"data_dir: null\nlog_level: ~\n",
	} {
		cfg, err := parse([]byte(in), "empty.yaml", stdEnv())
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("%q: got %+v, want the defaults %+v", in, cfg, want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	cfg, err := parse(nil, "", stdEnv())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LogLevel != "info" || cfg.Limits.MaxMessageBytes != 4<<20 || cfg.Listen.HTTP != "" ||
		cfg.Servers == nil || len(cfg.Servers) != 0 || cfg.DataDir != "/home/tester/.sovereign" {
		t.Errorf("defaults = %+v", cfg)
	}
	root := testEnv(map[string]string{"SOVEREIGN_ROOT": "state"}, nil)
	if cfg, err := parse(nil, "", root); err != nil || cfg.DataDir != "/srv/cwd/state" {
		t.Errorf("with SOVEREIGN_ROOT=state: DataDir = %q, %v", cfg.DataDir, err)
	}
	if cfg, err := parse([]byte("data_dir: /var/lib/sov\n"), "", root); err != nil || cfg.DataDir != "/var/lib/sov" {
		t.Errorf("data_dir in the file must win over SOVEREIGN_ROOT: %q, %v", cfg.DataDir, err)
	}
	if cfg, err := parse(nil, "", testEnv(map[string]string{"SOVEREIGN_ROOT": ""}, nil)); err != nil || cfg.DataDir != "/home/tester/.sovereign" {
		t.Errorf("an empty SOVEREIGN_ROOT must count as unset: %q, %v", cfg.DataDir, err)
	}
	noHome := stdEnv()
	noHome.homeDir = func() (string, error) { return "", errors.New("$HOME is not defined") }
	_, err = parse(nil, "x.yaml", noHome)
	if ps := problemsOf(t, err); len(ps) != 1 || ps[0].Path != "data_dir" || !strings.Contains(ps[0].Message, "$HOME is not defined") {
		t.Errorf("without a home directory: %v", err)
	}
}

// TestProblemsFile checks that one file with many problems reports them
// all, at once, in file order, each with its key path and position.
func TestProblemsFile(t *testing.T) {
	data, err := os.ReadFile("testdata/problems.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(data, "testdata/problems.yaml", stdEnv())
	if err == nil {
		t.Fatal("no error")
	}
	if !reflect.DeepEqual(cfg, Config{}) {
		t.Errorf("on error Parse must return the zero Config, got %+v", cfg)
	}
	golden.Check(t, "problems.golden.txt", []byte(err.Error()+"\n"))

	ps := problemsOf(t, err)
	wantPaths := []string{
		"data_dir", "log_level", "limits.max_message_bytes", "limits.max_bytes",
		"listen.http", "listen.allowed_hosts[0]", "listen.allowed_hosts[1]",
		"listen.allowed_origins[0]", "listen.allowed_origins[1]",
		"audit.max_segment_bytes", "audit.max_segment_age", "audit.checkpoint_every", "audit.checkpoint_interval", "audit.retention",
		"servers.both", "servers.neither", "servers.badurl.url",
		"servers.stdio_keys_on_http.args", "servers.stdio_keys_on_http.env", "servers.stdio_keys_on_http.cwd",
		"servers.headers_on_stdio.headers", "servers.conflict.type", "servers.badtype.type",
		"servers.badtransport.transport", "servers.mismatch.transport",
		"servers.secrets.url", "servers.secrets.headers.Authorization", "servers.secrets.headers.X-Other",
		"servers.badprefix.prefix", "servers.zero.timeout", "servers.long.timeout", "servers.badtimeout.timeout",
		`servers."bad name!"`, "servers.typo", "servers.typo.comand",
		"servers.wrongtype.command", "servers.wrongtype.disabled",
		"servers.badtools.tools.run.effect", "servers.badtools.tools.run.path_args[1]",
		"servers.badtools.tools.run.path_args[2]", "servers.badtools.tools.run.path_args[3]",
		"servers.badtools.tools.run.command_args[1]", "servers.badtools.tools.run.sql_args",
		"servers.badtools.tools.run.colour", `servers.badtools.tools."exec_[ab]"`, "servers.badtools.tools.ls",
		"mcpServers",
	}
	var gotPaths []string
	for _, p := range ps {
		gotPaths = append(gotPaths, p.Path)
		if p.Source != "testdata/problems.yaml" || p.Line == 0 || p.Column == 0 {
			t.Errorf("problem without source or position: %#v", p)
		}
	}
	if !reflect.DeepEqual(gotPaths, wantPaths) {
		t.Errorf("problem paths:\n got %q\nwant %q", gotPaths, wantPaths)
	}
	for _, want := range []string{
		"servers.badurl.url: must be an absolute http or https URL",
		"servers.secrets.headers.Authorization: environment variable MISSING is not set",
		"listen.insecure_allow_remote: true",
		"no authentication",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q", want)
		}
	}
}

// TestParseErrors checks each problem on its own: the exact list of problems
// a small file gives, by path and message fragment, in order.
func TestParseErrors(t *testing.T) {
	type want struct{ path, msg string }
	for _, tc := range []struct {
		name string
		in   string
		want []want
	}{
		{"top level not a mapping", "- a\n- b\n", []want{{"", "must be a mapping of keys to values, not a sequence"}}},
		{"top level scalar", "hello\n", []want{{"", "not a string"}}},
		{"unknown top-level key", "verbose: true\n", []want{{"verbose", "unknown key; the keys allowed here are data_dir, log_level, limits, listen, roots, policy, audit, engine, servers"}}},
		{"misspelt key", "log-level: info\n", []want{{"log-level", `did you mean "log_level"?`}}},
		{"unknown nested key", "limits: {max_msg_bytes: 5000}\n", []want{{"limits.max_msg_bytes", `did you mean "max_message_bytes"?`}}},
		{"unknown listen key", "listen: {port: 8080}\n", []want{{"listen.port", "unknown key"}}},
		{"unknown server key", "servers: {a: {command: x, autoApprove: []}}\n", []want{{"servers.a.autoApprove", "unknown key"}}},
		{"section of the wrong type", "limits: 5\n", []want{{"limits", "must be a mapping, not an integer"}}},
		{"servers as a list", "servers: [a]\n", []want{{"servers", "must be a mapping, not a sequence"}}},
		{"server as a string", "servers: {a: npx}\n", []want{{"servers.a", "a server must be a mapping"}}},
		{"null server", "servers: {a: }\n", []want{{"servers.a", "either command"}}},
		{"log level", "log_level: INFO\n", []want{{"log_level", `must be one of trace, debug, info, warn, error, not "INFO"`}}},
		{"max message bytes too small", "limits: {max_message_bytes: 1023}\n", []want{{"limits.max_message_bytes", "must be from 1024"}}},
		{"max message bytes too large", "limits: {max_message_bytes: 268435457}\n", []want{{"limits.max_message_bytes", "not 268435457"}}},
		{"max message bytes not an integer", "limits: {max_message_bytes: 4MiB}\n", []want{{"limits.max_message_bytes", "must be an integer, not a string"}}},
		{"max message bytes a float", "limits: {max_message_bytes: 4096.0}\n", []want{{"limits.max_message_bytes", "must be an integer, not a number"}}},
		{"max message bytes overflow", "limits: {max_message_bytes: 18446744073709551615}\n", []want{{"limits.max_message_bytes", "out of range"}}},
		{"bool as string", "listen: {insecure_allow_remote: \"true\"}\n", []want{{"listen.insecure_allow_remote", "must be a boolean, not a string"}}},
		{"list as string", "listen: {allowed_hosts: a.example}\n", []want{{"listen.allowed_hosts", "must be a sequence, not a string"}}},
		{"null list item", "servers: {a: {command: x, args: [a, null, [b]]}}\n", []want{
			{"servers.a.args[1]", "must be a string, not null"},
			{"servers.a.args[2]", "must be a string, not a sequence"},
		}},
		{"env value a mapping", "servers: {a: {command: x, env: {A: {b: c}}}}\n", []want{{"servers.a.env.A", "must be a string, not a mapping"}}},
		{"env name with =", "servers: {a: {command: x, env: {\"A=B\": c}}}\n", []want{{`servers.a.env."A=B"`, `must not be empty or contain "="`}}},
		{"header name", "servers: {a: {url: \"https://h/\", headers: {\"Bad Header\": c}}}\n", []want{{`servers.a.headers."Bad Header"`, "not a valid HTTP header name"}}},
		{"header value with newline", "servers: {a: {url: \"https://h/\", headers: {X: \"a\\nb\"}}}\n", []want{{"servers.a.headers.X", "must not contain line breaks"}}},
		{"command and url", "servers: {a: {command: x, url: \"https://h/\"}}\n", []want{{"servers.a", "command and url cannot both be set"}}},
		{"neither command nor url", "servers: {a: {timeout: 5s}}\n", []want{{"servers.a", "either command (for a stdio server) or url (for an HTTP server) must be set"}}},
		{"args with url", "servers: {a: {url: \"https://h/\", args: [x]}}\n", []want{{"servers.a.args", "stdio servers (with command) only"}}},
		{"env with url", "servers: {a: {url: \"https://h/\", env: {A: b}}}\n", []want{{"servers.a.env", "stdio servers (with command) only"}}},
		{"cwd with url", "servers: {a: {url: \"https://h/\", cwd: /tmp}}\n", []want{{"servers.a.cwd", "stdio servers (with command) only"}}},
		{"headers with command", "servers: {a: {command: x, headers: {A: b}}}\n", []want{{"servers.a.headers", "HTTP servers (with url) only"}}},
		{"empty stdio extras with url are fine", "servers: {a: {url: \"https://h/\", args: [], env: {}, cwd: \"\"}}\n", nil},
		{"url not absolute", "servers: {a: {url: /mcp}}\n", []want{{"servers.a.url", "must be an absolute http or https URL"}}},
		{"url without host", "servers: {a: {url: \"http:///mcp\"}}\n", []want{{"servers.a.url", "must be an absolute http or https URL"}}},
		{"url other scheme", "servers: {a: {url: \"ws://h/mcp\"}}\n", []want{{"servers.a.url", "must be an absolute http or https URL"}}},
		{"url unparsable", "servers: {a: {url: \"http://h:port/\"}}\n", []want{{"servers.a.url", "must be an absolute http or https URL"}}},
		{"server name", "servers: {\"a.b\": {command: x}}\n", []want{{`servers."a.b"`, "a server name must be 1 to 64"}}},
		{"server name too long", "servers: {" + strings.Repeat("a", 65) + ": {command: x}}\n", []want{{"servers." + strings.Repeat("a", 65), "a server name must be 1 to 64"}}},
		{"server name empty", "servers: {\"\": {command: x}}\n", []want{{`servers.""`, "a server name must be 1 to 64"}}},
		{"prefix with underscore", "servers: {a: {command: x, prefix: a_b}}\n", []want{{"servers.a.prefix", `no "_"`}}},
		{"prefix too long", "servers: {a: {command: x, prefix: " + strings.Repeat("p", 33) + "}}\n", []want{{"servers.a.prefix", "1 to 32"}}},
		{"prefix a list", "servers: {a: {command: x, prefix: [p]}}\n", []want{{"servers.a.prefix", "must be a string, not a sequence"}}},
		{"timeout zero", "servers: {a: {command: x, timeout: 0s}}\n", []want{{"servers.a.timeout", "must be more than 0s and at most 1h, not 0s"}}},
		{"timeout negative", "servers: {a: {command: x, timeout: -5}}\n", []want{{"servers.a.timeout", "not -5s"}}},
		{"timeout above an hour", "servers: {a: {command: x, timeout: 3601}}\n", []want{{"servers.a.timeout", "not 1h0m1s"}}},
		{"timeout float", "servers: {a: {command: x, timeout: 1.5}}\n", []want{{"servers.a.timeout", "whole number of seconds, not a number"}}},
		{"timeout bare number string", "servers: {a: {command: x, timeout: \"60\"}}\n", []want{{"servers.a.timeout", `not "60"`}}},
		{"timeout overflow", "servers: {a: {command: x, timeout: 9223372036854775807}}\n", []want{{"servers.a.timeout", "seconds is out of range"}}},
		{"disabled as string", "servers: {a: {command: x, disabled: \"yes\"}}\n", []want{{"servers.a.disabled", "must be a boolean"}}},
		{"type unknown", "servers: {a: {command: x, type: ws}}\n", []want{{"servers.a.type", `must be one of stdio, http, streamable-http or sse, not "ws"`}}},
		{"type disagrees with transport", "servers: {a: {url: \"https://h/\", transport: sse, type: http}}\n", []want{{"servers.a.type", `means streamable-http but transport says "sse"`}}},
		{"transport unknown", "servers: {a: {command: x, transport: pipe}}\n", []want{{"servers.a.transport", `must be one of stdio, streamable-http or sse, not "pipe"`}}},
		{"transport stdio with url", "servers: {a: {url: \"https://h/\", transport: stdio}}\n", []want{{"servers.a.transport", "is stdio, which needs command"}}},
		{"transport http with command", "servers: {a: {command: x, transport: streamable-http}}\n", []want{{"servers.a.transport", "is streamable-http, which needs url"}}},
		{"type http with command", "servers: {a: {command: x, type: http}}\n", []want{{"servers.a.transport", "is streamable-http, which needs url"}}},
		{"listen not host:port", "listen: {http: \"127.0.0.1\"}\n", []want{{"listen.http", "must be host:port"}}},
		{"listen port too large", "listen: {http: \"127.0.0.1:65536\"}\n", []want{{"listen.http", "the port must be a number from 0 to 65535"}}},
		{"listen named port", "listen: {http: \"127.0.0.1:http\"}\n", []want{{"listen.http", "the port must be a number"}}},
		{"listen remote", "listen: {http: \"192.168.1.5:8080\"}\n", []want{{"listen.http", "listen.insecure_allow_remote: true"}}},
		{"listen empty host", "listen: {http: \":8080\"}\n", []want{{"listen.http", "an empty host listens on every interface"}}},
		{"listen host name", "listen: {http: \"myhost:8080\"}\n", []want{{"listen.http", `host "myhost" is not a loopback address`}}},
		{"allowed host empty", "listen: {allowed_hosts: [\"\"]}\n", []want{{"listen.allowed_hosts[0]", "must not be empty"}}},
		{"allowed origin with path", "listen: {allowed_origins: [\"https://a.example/app\"]}\n", []want{{"listen.allowed_origins[0]", "must be an origin"}}},
		{"allowed origin without scheme", "listen: {allowed_origins: [a.example]}\n", []want{{"listen.allowed_origins[0]", "must be an origin"}}},
		{"data_dir empty", "data_dir: \"\"\n", []want{{"data_dir", "must not be empty"}}},
		{"data_dir ~user", "data_dir: ~bob/x\n", []want{{"data_dir", `not "~user"`}}},
		{"cwd ~user", "servers: {a: {command: x, cwd: ~bob}}\n", []want{{"servers.a.cwd", `not "~user"`}}},
		{"unset env var", "servers: {a: {command: x, env: {K: \"${env:NOPE}\"}}}\n", []want{{"servers.a.env.K", "environment variable NOPE is not set"}}},
		{"unset env var in args and url", "servers: {a: {command: x, args: [\"${env:A1}\", ok, \"${env:A2}\"]}, b: {url: \"${env:U}\"}}\n", []want{
			{"servers.a.args[0]", "environment variable A1 is not set"},
			{"servers.a.args[2]", "environment variable A2 is not set"},
			{"servers.b.url", "environment variable U is not set"},
		}},
		{"missing file", "servers: {a: {command: x, env: {K: \"${file:/nope}\"}}}\n", []want{{"servers.a.env.K", "${file:/nope}: cannot read the file: open /nope: file does not exist"}}},
		{"relative file", "servers: {a: {command: x, env: {K: \"${file:secret.txt}\"}}}\n", []want{{"servers.a.env.K", "must be given by an absolute path"}}},
		{"unknown reference", "servers: {a: {command: x, args: [\"${HOME}\"]}}\n", []want{{"servers.a.args[0]", "unknown reference ${HOME}"}}},
		{"unterminated reference", "servers: {a: {command: x, args: [\"${env:TOKEN\"]}}\n", []want{{"servers.a.args[0]", `has no closing "}"`}}},
		{"references in other keys are literal", "servers: {a: {command: \"${env:NOPE}\", cwd: \"/x/${env:NOPE}\"}}\n", nil},
		{"duplicate key", "servers:\n  a: {command: x}\n  a: {command: y}\n", []want{{"", `mapping key "a" already defined`}}},
		{"two documents", "log_level: info\n---\nlog_level: debug\n", []want{{"", "the file holds 2 YAML documents"}}},
		{"unknown alias", "servers: {a: {command: *nope}}\n", []want{{"servers.a.command", "alias *nope refers to no anchor"}}},
		{"broken url counts as present", "servers: {a: {url: [x], command: y}, b: {url: {}, args: [z]}}\n", []want{
			{"servers.a", "command and url cannot both be set"},
			{"servers.a.url", "must be a string, not a sequence"},
			{"servers.b.url", "must be a string, not a mapping"},
			{"servers.b.args", "stdio servers (with command) only"},
		}},
		{"tool effect unknown", "servers: {a: {command: x, tools: {run: {effect: shell}}}}\n", []want{{"servers.a.tools.run.effect", `must be one of read, write, destructive, exec, not "shell"`}}},
		{"tool effect unknown is not configurable", "servers: {a: {command: x, tools: {run: {effect: unknown}}}}\n", []want{{"servers.a.tools.run.effect", `not "unknown"`}}},
		{"tool effect a list", "servers: {a: {command: x, tools: {run: {effect: [exec]}}}}\n", []want{{"servers.a.tools.run.effect", "must be a string, not a sequence"}}},
		{"tool unknown key", "servers: {a: {command: x, tools: {run: {pathArgs: [x]}}}}\n", []want{{"servers.a.tools.run.pathArgs", `did you mean "path_args"?`}}},
		{"tool as a string", "servers: {a: {command: x, tools: {run: exec}}}\n", []want{{"servers.a.tools.run", "a tool must be a mapping"}}},
		{"tools as a list", "servers: {a: {command: x, tools: [run]}}\n", []want{{"servers.a.tools", "must be a mapping, not a sequence"}}},
		{"tool name empty", "servers: {a: {command: x, tools: {\"\": {effect: read}}}}\n", []want{{`servers.a.tools.""`, "a tool name must not be empty"}}},
		{"tool glob class", "servers: {a: {command: x, tools: {\"{a,b}\": {effect: read}}}}\n", []want{{`servers.a.tools."{a,b}"`, `only "*" and "?" are wildcards`}}},
		{"path arg bad pointer", "servers: {a: {command: x, tools: {run: {path_args: [ok, \"/a~\"]}}}}\n", []want{{"servers.a.tools.run.path_args[1]", `"~" must be followed by "0" or "1"`}}},
		{"command arg empty", "servers: {a: {command: x, tools: {run: {command_args: [\"\"]}}}}\n", []want{{"servers.a.tools.run.command_args[0]", "must be an argument name or a JSON pointer"}}},
		{"sql arg with a slash", "servers: {a: {command: x, tools: {run: {sql_args: [opts/q]}}}}\n", []want{{"servers.a.tools.run.sql_args[0]", `("/opts/q")`}}},
		{"sql arg null", "servers: {a: {command: x, tools: {run: {sql_args: [null]}}}}\n", []want{{"servers.a.tools.run.sql_args[0]", "must be a string, not null"}}},
		{"tools on an http server are fine", "servers: {a: {url: \"https://h/\", tools: {\"*\": {effect: read}, x: null}}}\n", nil},
		{"custom tag", "log_level: !level info\n", []want{{"log_level", "unsupported YAML tag !level"}}},
		{"tag that does not fit", "log_level: !!int info\n", []want{{"log_level", "YAML tag !!int does not fit a string"}}},
		{"invalid UTF-8", "log_level: info\nservers: {a\xff: {}}\n", []want{{"", "not valid UTF-8"}}},
		{"nested too deep", "servers: {a: {env: " + strings.Repeat("[", 120) + strings.Repeat("]", 120) + "}}\n", []want{
			{"servers.a", "either command"},
			{"servers.a.env", "must be a mapping, not a sequence"},
			{"servers.a.env[0][0][0]*", "nested more than 100 deep"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte(tc.in), "test.yaml", stdEnv())
			ps := problemsOf(t, err)
			if len(ps) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tc.want), err)
			}
			for i, w := range tc.want {
				p := ps[i]
				pathOK := p.Path == w.path
				if prefix, ok := strings.CutSuffix(w.path, "*"); ok {
					pathOK = strings.HasPrefix(p.Path, prefix)
				}
				if !pathOK || !strings.Contains(p.Message, w.msg) {
					t.Errorf("problem %d = %q (path %q)\nwant path %q, message containing %q", i, p.Error(), p.Path, w.path, w.msg)
				}
				if p.Source != "test.yaml" || p.Line == 0 {
					t.Errorf("problem %d lacks its source or line: %#v", i, p)
				}
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	in := "log_level: info\nservers:\n  a: [x, y\n"
	_, err := parse([]byte(in), "bad.yaml", stdEnv())
	ps := problemsOf(t, err)
	if len(ps) != 1 {
		t.Fatalf("got %v", err)
	}
	p := ps[0]
	if p.Line != 3 || p.Column == 0 || !strings.HasPrefix(p.Message, "invalid YAML: ") {
		t.Errorf("got %#v", p)
	}
	if !strings.HasPrefix(err.Error(), "bad.yaml:3:") {
		t.Errorf("error %q does not start with file:line:", err)
	}
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		server string
		want   string
	}{
		{`{command: x}`, TransportStdio},
		{`{url: "http://h/mcp"}`, TransportStreamableHTTP},
		{`{url: "http://h/"}`, TransportStreamableHTTP},
		{`{url: "http://h"}`, TransportStreamableHTTP},
		{`{url: "http://h/sse"}`, TransportSSE},
		{`{url: "http://h/v1/sse/"}`, TransportSSE},
		{`{url: "http://h/sse?key=1"}`, TransportSSE},
		{`{url: "http://h/notsse"}`, TransportStreamableHTTP},
		{`{url: "http://h/sse/mcp"}`, TransportStreamableHTTP},
		{`{url: "http://h/sse", transport: streamable-http}`, TransportStreamableHTTP},
		{`{url: "http://h/mcp", transport: sse}`, TransportSSE},
		{`{command: x, transport: stdio}`, TransportStdio},
		{`{command: x, type: stdio}`, TransportStdio},
		{`{url: "http://h/sse", type: http}`, TransportStreamableHTTP},
		{`{url: "http://h/mcp", type: streamable-http}`, TransportStreamableHTTP},
		{`{url: "http://h/mcp", type: sse}`, TransportSSE},
		{`{url: "http://h/mcp", type: http, transport: streamable-http}`, TransportStreamableHTTP},
		{`{url: "http://h/mcp", type: sse, transport: sse}`, TransportSSE},
		{`{url: "${env:SSE_URL}"}`, TransportSSE},
	} {
		e := testEnv(map[string]string{"SSE_URL": "https://h/sse"}, nil)
		cfg, err := parse([]byte("servers: {s: "+tc.server+"}\n"), "", e)
		if err != nil {
			t.Errorf("%s: %v", tc.server, err)
			continue
		}
		if got := cfg.Servers["s"].Transport; got != tc.want {
			t.Errorf("%s: transport %q, want %q", tc.server, got, tc.want)
		}
	}
}

func TestPrefix(t *testing.T) {
	cfg, err := parse([]byte(`servers:
  unset: {command: x}
  nulled: {command: x, prefix: null}
  empty: {command: x, prefix: ""}
  set: {command: x, prefix: Custom-1}
  numeric: {command: x, prefix: 42}
  snake_case_name: {command: x}
`), "", stdEnv())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		wantNil   bool
		effective string
	}{
		{"unset", true, "unset"},
		{"nulled", true, "nulled"},
		{"empty", false, ""},
		{"set", false, "Custom-1"},
		{"numeric", false, "42"},
		{"snake_case_name", true, "snake-case-name"},
	} {
		s := cfg.Servers[tc.name]
		if (s.Prefix == nil) != tc.wantNil {
			t.Errorf("%s: Prefix = %v, want nil: %v", tc.name, s.Prefix, tc.wantNil)
		}
		if got := s.EffectivePrefix(tc.name); got != tc.effective {
			t.Errorf("%s: EffectivePrefix = %q, want %q", tc.name, got, tc.effective)
		}
	}
}

func TestYAMLFeatures(t *testing.T) {
	// Anchors, aliases, merge keys, block scalars and tags are ordinary YAML
	// and must work. An anchor must be defined under a known key: a
	// top-level "templates:" section would be an unknown key.
	// Anchors defined inside servers.
	cfg, err := parse([]byte(`servers:
  a: &base {command: npx, env: {A: "1"}}
  b:
    <<: *base
    command: other
  c: {url: !!str "https://h/mcp", prefix: !!str 12, timeout: !!int 5}
  d:
    command: |
      /opt/srv
`), "", stdEnv())
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Servers["b"]; b.Command != "other" || b.Env["A"] != "1" {
		t.Errorf("merge: b = %+v", b)
	}
	if c := cfg.Servers["c"]; *c.Prefix != "12" || c.Timeout.D() != 5*time.Second {
		t.Errorf("tags: c = %+v", c)
	}
	if d := cfg.Servers["d"]; d.Command != "/opt/srv\n" {
		t.Errorf("block scalar: d.Command = %q", d.Command)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sovereign.yaml")
	if err := os.WriteFile(path, []byte("data_dir: "+dir+"\nservers: {a: {command: x}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != dir || cfg.Servers["a"].Transport != TransportStdio {
		t.Errorf("Load = %+v", cfg)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}

	if err := os.WriteFile(path, []byte("log_level: loud\nlisten: {http: \"0.0.0.0:1\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	ps := problemsOf(t, err)
	if len(ps) != 2 || ps[0].Source != path || ps[0].Line != 1 || ps[1].Line != 2 {
		t.Errorf("Load of a bad file: %v", err)
	}
	if !strings.HasPrefix(err.Error(), path+":1:1: log_level: ") {
		t.Errorf("error = %q", err)
	}
}

// TestParseUsesProcessEnvironment checks that Parse (not only parse) reads
// the real environment and file system.
func TestParseUsesProcessEnvironment(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("from-file\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOVEREIGN_TEST_TOKEN", "from-env")
	t.Setenv("SOVEREIGN_ROOT", dir)
	in := `servers: {a: {url: "https://h/mcp", headers: {A: "${env:SOVEREIGN_TEST_TOKEN}", B: "${file:` + secret + `}"}}}`
	cfg, err := Parse([]byte(in), "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Servers["a"].Headers
	if h["A"] != "from-env" || h["B"] != "from-file" || cfg.DataDir != dir {
		t.Errorf("got headers %q, data_dir %q", h, cfg.DataDir)
	}
}

// TestSecretsStayOutOfErrors checks that a resolved secret never appears in
// an error, even when the value holding it is wrong.
func TestSecretsStayOutOfErrors(t *testing.T) {
	e := testEnv(map[string]string{"TOKEN": "hunter2"}, map[string]string{"/s": "hunter3\nline"})
	in := `servers:
  a: {url: "${env:TOKEN}", headers: {X: "${file:/s}"}}
  b: {command: x, args: ["${env:TOKEN}"], headers: {Y: "${env:TOKEN}"}}
`
	_, err := parse([]byte(in), "", e)
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("a secret leaked into the error:\n%v", err)
	}
	if n := len(problemsOf(t, err)); n != 3 {
		t.Errorf("got %d problems, want 3 (url, header value, headers on stdio):\n%v", n, err)
	}
}

// TestRoundTrip checks that a loaded Config marshalled to JSON loads back to
// the same Config.
func TestRoundTrip(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(data, "", stdEnv())
	if err != nil {
		t.Fatal(err)
	}
	// full.yaml has a "$$" that became "$"; double it again so the JSON
	// means the same.
	ev := cfg.Servers["everything"]
	ev.Args = append([]string(nil), ev.Args...)
	ev.Args[2] = strings.ReplaceAll(ev.Args[2], "$", "$$")
	servers := map[string]Server{}
	for k, v := range cfg.Servers {
		servers[k] = v
	}
	servers["everything"] = ev
	marshalled := cfg
	marshalled.Servers = servers
	js, err := json.Marshal(marshalled)
	if err != nil {
		t.Fatal(err)
	}
	again, err := parse(js, "", stdEnv())
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Errorf("round trip changed the Config:\n got %+v\nwant %+v", again, cfg)
	}
}
