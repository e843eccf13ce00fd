# METADATA
# title: Paths
# description: |
#   Decides on the path facts Go computes for every path argument
#   (input.facts.paths): allowed roots, symlink escapes, traversal, NUL bytes,
#   look-alike characters, Windows forms, encoding tricks, sensitive files,
#   read-only prefixes and per-upstream prefixes. Phase "call", and phase
#   "list" for resources (a listed URI the client could never read is
#   hidden).
#   Configured prefixes live in data.sovereign_config.paths.
package sovereign.rules.paths

import data.sovereign.lib

_cfg := c if {
	c := data.sovereign_config.paths
} else := {}

# The path facts of this call (or of this listed resource).
_paths contains p if {
	_judged
	some p in input.facts.paths
}

_judged if input.phase == "call"

_judged if {
	input.phase == "list"
	is_object(input.resource)
}

# How a path is named in a message: its canonical form, else the raw one.
_shown(p) := lib.short(p.canonical) if {
	is_string(p.canonical)
	p.canonical != ""
} else := lib.short(p.raw) if {
	is_string(p.raw)
} else := "?"

_where(p) := lib.short(p.pointer) if {
	is_string(p.pointer)
} else := "?"

_on(key) if object.get(_cfg, key, true) == true

# The reasons are only worked out when some path is not plainly fine or a
# configured prefix applies to this call; a call with clean paths costs one
# pass over its path facts.
deny contains reason if {
	_suspect
	some reason in _deny
}

_suspect if {
	_judged
	some p in input.facts.paths
	not _clean(p)
}

_suspect if {
	_judged
	count(input.facts.paths) > 0
	_prefixes_apply
}

# Every flag present and false (a missing flag takes the slow path); no
# error (Go omits an empty one).
_clean(p) if {
	p.within_roots == true
	p.traversal == false
	p.nul == false
	p.lookalike == false
	p.windows_form == false
	p.sensitive == false
	object.get(p, "error", "") == ""
}

_prefixes_apply if count(data.sovereign_config.paths.read_only) > 0

_prefixes_apply if data.sovereign_config.paths.allowed_prefixes_by_upstream[input.upstream.name]

_prefixes_apply if data.sovereign_config.paths.write_prefixes_by_upstream[input.upstream.name]

# METADATA
# title: Path could not be checked
# description: Go could not canonicalise or inspect the path.
# custom:
#   id: PATH-001
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	is_string(p.error)
	p.error != ""
	msg := sprintf("path argument %s could not be checked: %s", [_where(p), lib.short(p.error)])
}

# METADATA
# title: Path outside the allowed roots
# description: The canonical path is not inside any configured root.
# custom:
#   id: PATH-002
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	not p.within_roots == true
	not p.is_symlink == true
	msg := sprintf("path %s (argument %s) is outside the allowed roots", [_shown(p), _where(p)])
}

# METADATA
# title: Symlink escape
# description: A symlink inside the roots resolves to a target outside them.
# custom:
#   id: PATH-003
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	p.is_symlink == true
	not p.within_roots == true
	msg := sprintf("path argument %s is a symlink that resolves outside the allowed roots (%s)", [_where(p), _shown(p)])
}

# METADATA
# title: Path traversal
# description: The path uses ".." segments (paths.deny_traversal, default true).
# custom:
#   id: PATH-004
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_on("deny_traversal")
	some p in _paths
	p.traversal == true
	msg := sprintf("path argument %s uses \"..\" traversal", [_where(p)])
}

# METADATA
# title: NUL byte in path
# custom:
#   id: PATH-005
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	p.nul == true
	msg := sprintf("path argument %s contains a NUL byte", [_where(p)])
}

# METADATA
# title: Look-alike characters in path
# description: The path contains Unicode look-alikes of "/", "." or "\".
# custom:
#   id: PATH-006
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	p.lookalike == true
	msg := sprintf("path argument %s contains look-alike characters", [_where(p)])
}

# METADATA
# title: Windows path form
# description: |
#   Drive letters, UNC paths or backslashes (paths.deny_windows_forms,
#   default true).
# custom:
#   id: PATH-007
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_on("deny_windows_forms")
	some p in _paths
	p.windows_form == true
	msg := sprintf("path argument %s uses a Windows path form", [_where(p)])
}

# METADATA
# title: Encoded traversal
# description: Percent-encoding (single or double) that hides ".." or a NUL byte.
# custom:
#   id: PATH-008
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	p.encoded == true
	_hidden_by_encoding(p)
	msg := sprintf("path argument %s hides traversal or NUL bytes behind percent-encoding", [_where(p)])
}

_hidden_by_encoding(p) if p.traversal == true

_hidden_by_encoding(p) if p.nul == true

# METADATA
# title: Sensitive path
# description: Keys, credentials, shell history, the proxy's own files… even inside the roots.
# custom:
#   id: PATH-009
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some p in _paths
	p.sensitive == true
	msg := sprintf("path %s (argument %s) is sensitive%s", [_shown(p), _where(p), _because(p)])
}

_because(p) := concat("", [" (", lib.short(p.sensitive_reason), ")"]) if {
	is_string(p.sensitive_reason)
	p.sensitive_reason != ""
} else := ""

# METADATA
# title: Write to a read-only prefix
# description: A tool that may write names a path under paths.read_only.
# custom:
#   id: PATH-010
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	lib.writes
	some p in _paths
	some prefix in object.get(_cfg, "read_only", [])
	lib.under(p.canonical, lib.expand(prefix))
	msg := sprintf("path %s (argument %s) is read-only: tool %s may write", [_shown(p), _where(p), lib.short(lib.tool_name)])
}

# METADATA
# title: Outside the upstream's allowed prefixes
# description: paths.allowed_prefixes_by_upstream restricts every path this upstream sees.
# custom:
#   id: PATH-011
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	prefixes := _cfg.allowed_prefixes_by_upstream[lib.upstream_name]
	some p in _paths
	not _inside(p, prefixes)
	msg := sprintf("path %s (argument %s) is outside the prefixes allowed for upstream %s", [_shown(p), _where(p), lib.short(lib.upstream_name)])
}

# METADATA
# title: Write outside the upstream's write prefixes
# description: paths.write_prefixes_by_upstream restricts where this upstream's writing tools may write.
# custom:
#   id: PATH-012
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	prefixes := _cfg.write_prefixes_by_upstream[lib.upstream_name]
	lib.writes
	some p in _paths
	not _inside(p, prefixes)
	msg := sprintf("path %s (argument %s) is outside the prefixes where upstream %s may write", [_shown(p), _where(p), lib.short(lib.upstream_name)])
}

# A negated call with a possibly undefined argument (p.canonical) would be
# undefined rather than true, so the test lives in its own rule.
_inside(p, prefixes) if lib.under_any(p.canonical, prefixes)

# METADATA
# title: Unusable configured prefix
# description: |
#   A prefix in paths config that is neither absolute nor "~/…" (or "~" when
#   input.facts.home is missing) denies, so a typo never turns a restriction off.
# custom:
#   id: PATH-013
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	count(_paths) > 0
	some prefix in _configured_prefixes
	not lib.expand(prefix)
	msg := sprintf("configured path prefix %s is not absolute", [lib.short(json.marshal(prefix))])
}

_configured_prefixes contains prefix if {
	some prefix in object.get(_cfg, "read_only", [])
}

_configured_prefixes contains prefix if {
	some prefix in _cfg.allowed_prefixes_by_upstream[lib.upstream_name]
}

_configured_prefixes contains prefix if {
	some prefix in _cfg.write_prefixes_by_upstream[lib.upstream_name]
}
