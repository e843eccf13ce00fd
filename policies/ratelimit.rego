# METADATA
# title: Rate limits
# description: |
#   Chooses which rate limits apply to a tools/call: every entry of
#   data.sovereign_config.rate_limits whose selectors match gives a
#   rate_limit obligation; Go enforces it with token buckets. Phase "call"
#   only, tools only.
package sovereign.rules.ratelimit

import data.sovereign.lib

_limits := c if {
	c := data.sovereign_config.rate_limits
} else := {}

# One obligation per matching entry. The entry's values are passed as they
# are: the proxy validates every obligation (limit > 0, window a duration
# like "1m" or seconds, burst >= 1) and denies the call when one is
# malformed, so a typo never leaves a call unlimited.
obligations contains {
	"type": "rate_limit",
	"key": _key(id, entry),
	"limit": object.get(entry, "limit", null),
	"window": object.get(entry, "window", null),
	"burst": object.get(entry, "burst", object.get(entry, "limit", null)),
} if {
	input.phase == "call"
	is_object(input.tool)
	some id, entry in _limits
	is_object(entry)
	lib.entry_matches(entry)
}

# The bucket key: "<entry id>:<principal id>:<upstream>:<tool>", with "*"
# for a dimension the entry does not separate (entry.per, default all three).
_key(id, entry) := concat(":", [id, lib.principal_id, lib.upstream_name, lib.tool_name]) if not entry.per

_key(id, entry) := concat(":", [id, _part(entry.per, "principal"), _part(entry.per, "upstream"), _part(entry.per, "tool")]) if {
	entry.per
}

_part(per, dimension) := lib.request[dimension] if dimension in per

_part(per, dimension) := "*" if not dimension in per
