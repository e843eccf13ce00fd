# METADATA
# title: Projects only
# description: |
#   The example of docs/policy-authoring.md: "no writes outside ~/projects for
#   the filesystem server, at most 10 deletes a minute". server-filesystem has
#   no delete tool; its tools that can destroy data (destructiveHint: true)
#   are write_file, edit_file and move_file, so the limit counts every
#   destructive call of that upstream, whatever the tool.
package sovereign.rules.projects

import data.sovereign.lib

# The upstream the rule is about: its key under "servers:" in the config.
upstream := "fs"

# Where that upstream's writing tools may write. "~" is input.facts.home,
# the home directory of the user running the proxy.
write_prefixes := ["~/projects"]

# Destructive calls of that upstream allowed per minute, per principal.
deletes_per_minute := 10

# METADATA
# title: Write outside ~/projects
# description: A tool of the filesystem server that may write names a path outside write_prefixes.
# custom:
#   id: PROJ-001
deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	input.phase == "call"
	lib.upstream_name == upstream
	lib.writes
	some p in input.facts.paths
	not _inside(p)
	msg := sprintf("tool %s may only write under %s: %s (argument %s) is outside", [
		lib.short(lib.tool_name),
		concat(", ", write_prefixes),
		lib.short(object.get(p, "canonical", "?")),
		lib.short(object.get(p, "pointer", "?")),
	])
}

# In its own rule so that "not" sees a defined argument: a path fact
# without "canonical" is outside (fail closed).
_inside(p) if lib.under_any(p.canonical, write_prefixes)

# One bucket per principal for all destructive tools of the upstream.
obligations contains {
	"type": "rate_limit",
	"key": concat(":", ["projects-deletes", lib.principal_id, upstream]),
	"limit": deletes_per_minute,
	"window": "1m",
	"burst": deletes_per_minute,
} if {
	input.phase == "call"
	lib.upstream_name == upstream
	lib.destructive
}
