package sovereign.rules.permissions_test

import data.sovereign.rules.permissions
import data.sovereign_test.fixtures as fx

read_call := fx.call({})

# list(tool): the tools/list check of one tool.
list(tool) := fx.with_tool(fx.call({"phase": "list", "method": "tools/list", "facts": {"paths": []}}), tool)

# call(tool): a tools/call of tool by alice.
call(tool) := fx.with_tool(fx.call({}), tool)

as_bob(inp) := object.union(inp, {"principal": {"kind": "oauth", "id": "bob"}})

no_delete := {"deny": {"no-delete": {"upstream": "fs", "tool": "delete_*", "reason": "use the trash"}}}

test_defaults_allow_everything if {
	every inp in [read_call, call(fx.write_tool), call(fx.delete_tool), list(fx.delete_tool), call(fx.exec_tool)] {
		count(permissions.deny) == 0 with input as inp
		count(permissions.obligations) == 0 with input as inp
	}
}

test_deny_entry_denies_call_and_hides_from_list if {
	permissions.deny == {{
		"id": "PERM-001",
		"msg": "tool delete_file of upstream fs is denied for alice by permission rule no-delete: use the trash",
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as no_delete
	fx.ids(permissions.deny) == {"PERM-001"} with input as list(fx.delete_tool)
		with data.sovereign_config.permissions as no_delete
}

test_deny_entry_leaves_other_tools if {
	every inp in [read_call, call(fx.write_tool), list(fx.write_tool)] {
		count(permissions.deny) == 0 with input as inp with data.sovereign_config.permissions as no_delete
	}
}

test_deny_entry_for_one_principal if {
	cfg := {"deny": {"bob-no-writes": {"principal": "bob", "principal_kind": "oauth", "upstream": "*", "tool": "write_*"}}}
	fx.ids(permissions.deny) == {"PERM-001"} with input as as_bob(call(fx.write_tool))
		with data.sovereign_config.permissions as cfg
	count(permissions.deny) == 0 with input as call(fx.write_tool)
		with data.sovereign_config.permissions as cfg
}

test_deny_entry_by_effect if {
	cfg := {"deny": {"no-exec": {"effect": "exec"}}}
	permissions.deny == {{
		"id": "PERM-001",
		"msg": "tool run_command of upstream fs is denied for alice by permission rule no-exec",
	}} with input as call(fx.exec_tool)
		with data.sovereign_config.permissions as cfg
	count(permissions.deny) == 0 with input as call(fx.write_tool)
		with data.sovereign_config.permissions as cfg
}

test_deny_entry_set_to_null_is_off if {
	count(permissions.deny) == 0 with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as {"deny": {"no-delete": null}}
}

test_deny_entry_falls_back_to_the_proxy_name if {
	tool := {"name": "sovereign__govern", "effect": "write"}
	cfg := {"deny": {"no-govern": {"tool": "sovereign__*"}}}
	fx.ids(permissions.deny) == {"PERM-001"} with input as call(tool) with data.sovereign_config.permissions as cfg
}

allow_reads := {"allow": {"fs": ["read_*", "list_directory", {"principal": "alice", "tool": "write_file"}]}}

test_allow_list_admits_listed_tools if {
	every inp in [read_call, list(fx.write_tool), call(fx.write_tool)] {
		count(permissions.deny) == 0 with input as inp with data.sovereign_config.permissions as allow_reads
	}
}

test_allow_list_denies_and_hides_the_rest if {
	permissions.deny == {{
		"id": "PERM-002",
		"msg": "tool delete_file of upstream fs is not on the upstream's allow list for alice",
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as allow_reads
	fx.ids(permissions.deny) == {"PERM-002"} with input as list(fx.delete_tool)
		with data.sovereign_config.permissions as allow_reads
	fx.ids(permissions.deny) == {"PERM-002"} with input as as_bob(call(fx.write_tool))
		with data.sovereign_config.permissions as allow_reads
}

test_empty_allow_list_denies_every_tool if {
	fx.ids(permissions.deny) == {"PERM-002"} with input as read_call
		with data.sovereign_config.permissions as {"allow": {"fs": []}}
}

test_allow_list_of_other_upstream_unaffected if {
	count(permissions.deny) == 0 with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as {"allow": {"git": ["status"]}}
}

test_destructive_denied if {
	cfg := {"destructive": "deny"}
	permissions.deny == {{
		"id": "PERM-003",
		"msg": "tool delete_file of upstream fs is destructive and destructive tools are denied",
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as cfg
	fx.ids(permissions.deny) == {"PERM-003"} with input as list(fx.delete_tool)
		with data.sovereign_config.permissions as cfg

	# write_file says destructiveHint: true
	fx.ids(permissions.deny) == {"PERM-003"} with input as call(fx.write_tool)
		with data.sovereign_config.permissions as cfg
	count(permissions.deny) == 0 with input as read_call with data.sovereign_config.permissions as cfg
}

test_destructive_mode_per_upstream if {
	cfg := {"destructive": "deny", "destructive_by_upstream": {"fs": "allow"}}
	count(permissions.deny) == 0 with input as call(fx.delete_tool) with data.sovereign_config.permissions as cfg
	other := object.union(call(fx.delete_tool), {"upstream": {"name": "git"}})
	fx.ids(permissions.deny) == {"PERM-003"} with input as other with data.sovereign_config.permissions as cfg
}

test_destructive_require_approval_on_call if {
	cfg := {"destructive": "require_approval"}
	count(permissions.deny) == 0 with input as call(fx.delete_tool) with data.sovereign_config.permissions as cfg
	permissions.obligations == {{
		"type": "require_approval",
		"reason": "tool delete_file of upstream fs is destructive",
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as cfg
}

test_destructive_require_approval_keeps_tool_listed if {
	cfg := {"destructive": "require_approval"}
	count(permissions.deny) == 0 with input as list(fx.delete_tool) with data.sovereign_config.permissions as cfg
	count(permissions.obligations) == 0 with input as list(fx.delete_tool) with data.sovereign_config.permissions as cfg
}

test_unknown_destructive_mode_fails_closed if {
	cfg := {"destructive": "ask"}
	permissions.deny == {{
		"id": "PERM-004",
		"msg": "tool delete_file of upstream fs is destructive and the configured mode \"ask\" is unknown",
	}} with input as call(fx.delete_tool)
		with data.sovereign_config.permissions as cfg
	count(permissions.deny) == 0 with input as read_call with data.sovereign_config.permissions as cfg
}

test_approval_entries if {
	cfg := {"approval": {"exec": {"effect": "exec", "reason": "runs a program"}}}
	permissions.obligations == {{
		"type": "require_approval",
		"reason": "tool run_command of upstream fs needs approval (permission rule exec: runs a program)",
	}} with input as call(fx.exec_tool)
		with data.sovereign_config.permissions as cfg
	count(permissions.obligations) == 0 with input as list(fx.exec_tool) with data.sovereign_config.permissions as cfg
	count(permissions.obligations) == 0 with input as read_call with data.sovereign_config.permissions as cfg
}

test_requests_without_a_tool_are_not_judged if {
	prompt := object.remove(fx.call({"method": "prompts/get", "prompt": {"name": "ev__greet", "upstream_name": "greet"}}), ["tool"])
	cfg := {"allow": {"fs": []}, "deny": {"all": {}}, "destructive": "deny"}
	count(permissions.deny) == 0 with input as prompt with data.sovereign_config.permissions as cfg
}

test_result_phase_not_judged if {
	inp := object.union(call(fx.delete_tool), {"phase": "result"})
	count(permissions.deny) == 0 with input as inp with data.sovereign_config.permissions as {"destructive": "deny"}
}

test_no_permissions_config if {
	count(permissions.deny) == 0 with input as call(fx.delete_tool) with data.sovereign_config as {}
}
