# METADATA
# title: Permissions
# description: |
#   Who may see and call which tool: deny lists and per-upstream allow lists
#   over principal × upstream × tool (× effect), and the handling of
#   destructive tools ("allow", "deny" or "require_approval"). Phases "list"
#   and "call": a tool denied outright is hidden from tools/list, while a tool
#   that needs approval stays visible and gets the obligation when called.
#   Configured in data.sovereign_config.permissions.
package sovereign.rules.permissions

import data.sovereign.lib

_cfg := c if {
	c := data.sovereign_config.permissions
} else := {}

# The request concerns a tool the client may see or call.
_tool_request if {
	input.phase in {"list", "call"}
	is_object(input.tool)
}

# The reasons are only worked out when a list or the destructive mode can
# matter for this tool.
deny contains reason if {
	input.phase in {"list", "call"}
	is_object(input.tool)
	_lists_apply
	some reason in _deny
}

_lists_apply if count(data.sovereign_config.permissions.deny) > 0

_lists_apply if data.sovereign_config.permissions.allow[lib.upstream_name]

_lists_apply if {
	lib.destructive
	_destructive_mode != "allow"
}

_tool := lib.short(lib.tool_name)

_upstream := lib.short(lib.upstream_name)

_principal := lib.short(lib.principal_id)

_entry_reason(entry) := concat("", [": ", lib.short(entry.reason)]) if {
	is_string(entry.reason)
	entry.reason != ""
} else := ""

# METADATA
# title: Denied by a permission rule
# description: An entry of permissions.deny matches the principal, upstream and tool.
# custom:
#   id: PERM-001
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_tool_request
	some id, entry in object.get(_cfg, "deny", {})
	is_object(entry)
	lib.entry_matches(entry)
	msg := sprintf("tool %s of upstream %s is denied for %s by permission rule %s%s", [_tool, _upstream, _principal, id, _entry_reason(entry)])
}

# METADATA
# title: Not on the upstream's allow list
# description: |
#   permissions.allow has a list for this upstream and no entry of it
#   matches. Entries are tool globs or objects with principal,
#   principal_kind, tool and effect selectors.
# custom:
#   id: PERM-002
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_tool_request
	entries := _cfg.allow[lib.upstream_name]
	not _allowed(entries)
	msg := sprintf("tool %s of upstream %s is not on the upstream's allow list for %s", [_tool, _upstream, _principal])
}

_allowed(entries) if {
	some entry in entries
	_allow_entry_matches(entry)
}

_allow_entry_matches(entry) if {
	is_string(entry)
	lib.match(entry, lib.tool_name)
}

_allow_entry_matches(entry) if {
	is_object(entry)
	lib.entry_matches(object.remove(entry, ["upstream"]))
}

# How destructive tools are handled for this upstream.
_destructive_mode := mode if {
	mode := _cfg.destructive_by_upstream[lib.upstream_name]
} else := mode if {
	mode := _cfg.destructive
} else := "allow"

_modes := {"allow", "deny", "require_approval"}

# METADATA
# title: Destructive tools denied
# description: permissions.destructive (or destructive_by_upstream) is "deny".
# custom:
#   id: PERM-003
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_tool_request
	lib.destructive
	_destructive_mode == "deny"
	msg := sprintf("tool %s of upstream %s is destructive and destructive tools are denied", [_tool, _upstream])
}

# METADATA
# title: Unknown destructive mode
# description: A mode other than allow, deny or require_approval denies destructive tools (fail closed).
# custom:
#   id: PERM-004
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	_tool_request
	lib.destructive
	not _destructive_mode in _modes
	msg := sprintf("tool %s of upstream %s is destructive and the configured mode %s is unknown", [_tool, _upstream, lib.short(json.marshal(_destructive_mode))])
}

# Destructive tools need approval when so configured (call phase only, so
# the tool stays listed).
obligations contains {"type": "require_approval", "reason": reason} if {
	input.phase == "call"
	is_object(input.tool)
	lib.destructive
	_destructive_mode == "require_approval"
	reason := sprintf("tool %s of upstream %s is destructive", [_tool, _upstream])
}

# Entries of permissions.approval need approval whatever the tool's effect.
obligations contains {"type": "require_approval", "reason": reason} if {
	input.phase == "call"
	is_object(input.tool)
	some id, entry in data.sovereign_config.permissions.approval
	is_object(entry)
	lib.entry_matches(entry)
	reason := sprintf("tool %s of upstream %s needs approval (permission rule %s%s)", [_tool, _upstream, id, _entry_reason(entry)])
}
