# METADATA
# title: Shared helpers
# description: |
#   Pure helper functions used by the rule packages: tool classification,
#   component-wise path containment, pattern matching on principals,
#   upstreams and tools, and message shortening. No rule here denies.
package sovereign.lib

# The phases the library decides. Other phases are denied by the contract rules.
phases := {"list", "call", "result"}

# The tool's name as its upstream knows it (falls back to the proxy's name).
tool_name := input.tool.upstream_name if {
	is_string(input.tool.upstream_name)
	input.tool.upstream_name != ""
} else := name if {
	name := input.tool.name
	is_string(name)
} else := ""

principal_id := id if {
	id := input.principal.id
	is_string(id)
} else := ""

principal_kind := kind if {
	kind := input.principal.kind
	is_string(kind)
} else := ""

upstream_name := name if {
	name := input.upstream.name
	is_string(name)
} else := ""

# Effect classes the Go side may give a tool.
_write_effects := {"write", "destructive", "exec"}

# A tool is destructive when Go classed it so or when it says so itself.
# An effect set by the operator's configuration (effect_source "config") or
# declared by Sovereign's own engine (effect_source "engine") replaces what
# the annotations say, in both directions.
destructive if input.tool.effect == "destructive"

# MCP: destructiveHint means something only when readOnlyHint is false, and
# some SDKs (mcp-go) send destructiveHint: true by default beside
# readOnlyHint: true.
destructive if {
	not _configured
	input.tool.annotations.destructiveHint == true
	not input.tool.annotations.readOnlyHint == true
}

_configured if input.tool.effect_source in {"config", "engine"}

# A tool may write: its effect class says so, its annotations say it is not
# read-only or is destructive, or nothing is known and it does not claim to
# be read-only.
writes if input.tool.effect in _write_effects

writes if {
	not _configured
	input.tool.annotations.readOnlyHint == false
}

writes if destructive

writes if {
	is_object(input.tool)
	_unknown_effect
	not input.tool.annotations.readOnlyHint == true
}

_unknown_effect if input.tool.effect == "unknown"

_unknown_effect if not input.tool.effect

# The effect classes a tool counts as (destructive hints add "destructive").
effects contains input.tool.effect if is_string(input.tool.effect)

effects contains "destructive" if destructive

# match(pattern, value): a glob with no delimiters ("*" spans any
# characters; a literal pattern is equality).
match(pattern, value) if glob.match(pattern, null, value)

# The request as the selectors of permission and rate-limit entries see it.
request := {
	"principal": principal_id,
	"principal_kind": principal_kind,
	"upstream": upstream_name,
	"tool": tool_name,
}

# entry_matches(entry): every selector the entry has (principal,
# principal_kind, upstream, tool, effect; a missing one means "*") matches
# the current request. One body, the tool first: an entry for another tool
# costs one lookup and one glob, which matters for long lists.
entry_matches(entry) if {
	glob.match(object.get(entry, "tool", "*"), null, tool_name)
	glob.match(object.get(entry, "upstream", "*"), null, upstream_name)
	glob.match(object.get(entry, "principal", "*"), null, principal_id)
	glob.match(object.get(entry, "principal_kind", "*"), null, principal_kind)
	object.get(entry, "effect", "*") in _effects_or_any
}

_effects_or_any := effects | {"*"}

# expand(prefix): a configured path prefix made absolute. "~" and "~/…" use
# input.facts.home; trailing slashes are dropped (except for "/").
expand(prefix) := "/" if prefix == "/"

expand(prefix) := trim_right(prefix, "/") if {
	prefix != "/"
	startswith(prefix, "/")
}

expand(prefix) := trim_right(concat("", [input.facts.home, substring(prefix, 1, -1)]), "/") if {
	_home_ok
	prefix == "~"
}

expand(prefix) := trim_right(concat("", [input.facts.home, substring(prefix, 1, -1)]), "/") if {
	_home_ok
	startswith(prefix, "~/")
}

_home_ok if {
	is_string(input.facts.home)
	startswith(input.facts.home, "/")
}

# under(path, prefix): path is prefix or inside it, compared by path
# components (so /srv/data-evil is not under /srv/data). Both must be
# canonical absolute paths; prefix as returned by expand.
under(path, prefix) if path == prefix

under(_, "/")

under(path, prefix) if {
	prefix != "/"
	startswith(path, concat("", [prefix, "/"]))
}

# under_any(path, prefixes): path is under at least one configured prefix.
under_any(path, prefixes) if {
	some p in prefixes
	under(path, expand(p))
}

# short(s): s cut to 120 characters for messages (arguments are untrusted).
short(s) := s if count(s) <= 120

short(s) := concat("", [substring(s, 0, 117), "..."]) if count(s) > 120
