package sovereign.rules.ratelimit_test

import data.sovereign.rules.ratelimit
import data.sovereign_test.fixtures as fx

call(tool) := fx.with_tool(fx.call({}), tool)

test_default_limits_ordinary_call if {
	ratelimit.obligations == {{
		"type": "rate_limit",
		"key": "calls:alice:fs:read_text_file",
		"limit": 600,
		"window": "1m",
		"burst": 120,
	}} with input as fx.call({})
}

test_default_limits_destructive_call if {
	ratelimit.obligations == {
		{"type": "rate_limit", "key": "calls:alice:fs:delete_file", "limit": 600, "window": "1m", "burst": 120},
		{"type": "rate_limit", "key": "destructive:alice:fs:delete_file", "limit": 60, "window": "1m", "burst": 30},
	} with input as call(fx.delete_tool)
}

test_destructive_hint_counts_as_destructive if {
	keys := {o.key | some o in ratelimit.obligations} with input as call(fx.write_tool)
	keys == {"calls:alice:fs:write_file", "destructive:alice:fs:write_file"}
}

# "At most 10 deletes a minute" for the filesystem server.
test_user_entry_with_exact_selectors if {
	limits := {"fs-deletes": {"upstream": "fs", "tool": "delete_file", "limit": 10, "window": "1m"}}
	ratelimit.obligations == {{
		"type": "rate_limit",
		"key": "fs-deletes:alice:fs:delete_file",
		"limit": 10,
		"window": "1m",
		"burst": 10,
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.rate_limits as limits
	count(ratelimit.obligations) == 0 with input as call(fx.write_tool)
		with data.sovereign_config.rate_limits as limits
	other := object.union(call(fx.delete_tool), {"upstream": {"name": "git"}})
	count(ratelimit.obligations) == 0 with input as other with data.sovereign_config.rate_limits as limits
}

test_per_principal_entry if {
	limits := {"bob": {"principal": "bob", "limit": 5, "window": 60, "burst": 2}}
	bob := object.union(fx.call({}), {"principal": {"id": "bob"}})
	ratelimit.obligations == {{"type": "rate_limit", "key": "bob:bob:fs:read_text_file", "limit": 5, "window": 60, "burst": 2}} with input as bob
		with data.sovereign_config.rate_limits as limits
	count(ratelimit.obligations) == 0 with input as fx.call({}) with data.sovereign_config.rate_limits as limits
}

test_per_narrows_the_bucket if {
	limits := {"upstream-wide": {"upstream": "fs", "limit": 100, "window": "1m", "per": ["upstream"]}}
	ratelimit.obligations == {{"type": "rate_limit", "key": "upstream-wide:*:fs:*", "limit": 100, "window": "1m", "burst": 100}} with input as fx.call({})
		with data.sovereign_config.rate_limits as limits
}

# Malformed entries are passed through as they are: the proxy validates
# every rate_limit obligation and denies the call when one is malformed.
test_malformed_entries_reach_the_proxy_as_they_are if {
	ratelimit.obligations == {{
		"type": "rate_limit",
		"key": "typo:alice:fs:read_text_file",
		"limit": null,
		"window": "1m",
		"burst": null,
	}} with input as fx.call({})
		with data.sovereign_config.rate_limits as {"typo": {"limt": 5, "window": "1m"}}
	ratelimit.obligations == {{
		"type": "rate_limit",
		"key": "odd:alice:fs:read_text_file",
		"limit": 5,
		"window": "a minute",
		"burst": 0,
	}} with input as fx.call({})
		with data.sovereign_config.rate_limits as {"odd": {"limit": 5, "window": "a minute", "burst": 0}}
}

test_non_object_entries_are_ignored if {
	count(ratelimit.obligations) == 0 with input as fx.call({})
		with data.sovereign_config.rate_limits as {"a": 5, "b": "x", "c": [1]}
}

test_selector_globs if {
	limits := {"writes": {"tool": "write_*", "upstream": "f?", "limit": 10, "window": "1m"}}
	keys := {o.key | some o in ratelimit.obligations} with input as call(fx.write_tool)
		with data.sovereign_config.rate_limits as limits
	keys == {"writes:alice:fs:write_file"}
	count(ratelimit.obligations) == 0 with input as fx.call({}) with data.sovereign_config.rate_limits as limits
}

test_disabled_entry_is_ignored if {
	count(ratelimit.obligations) == 0 with input as fx.call({})
		with data.sovereign_config.rate_limits as {"calls": null, "destructive": null}
}

test_only_tool_calls if {
	listing := object.union(fx.call({}), {"phase": "list", "method": "tools/list"})
	count(ratelimit.obligations) == 0 with input as listing
	result := object.union(fx.call({}), {"phase": "result"})
	count(ratelimit.obligations) == 0 with input as result
	prompt := object.remove(fx.call({"method": "prompts/get"}), ["tool"])
	count(ratelimit.obligations) == 0 with input as prompt
}

test_no_rate_limit_config if {
	count(ratelimit.obligations) == 0 with input as fx.call({}) with data.sovereign_config as {}
}
