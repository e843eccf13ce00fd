package sovereign.lib_test

import data.sovereign.lib
import data.sovereign_test.fixtures as fx

test_request_of_a_tool_call if {
	lib.request == {"principal": "alice", "principal_kind": "os_user", "upstream": "fs", "tool": "read_text_file"} with input as fx.call({})
}

test_request_defaults_when_fields_are_missing if {
	bare := {"v": 1, "phase": "call", "method": "ping"}
	lib.request == {"principal": "", "principal_kind": "", "upstream": "", "tool": ""} with input as bare
	lib.tool_name == "sovereign__govern" with input as object.union(bare, {"tool": {"name": "sovereign__govern", "upstream_name": ""}})
}

test_match if {
	lib.match("*", "anything")
	lib.match("write_*", "write_file")
	lib.match("read_text_file", "read_text_file")
	not lib.match("write_*", "read_file")
	not lib.match("read_file", "read_files")
}

test_entry_matches if {
	inp := fx.with_tool(fx.call({}), fx.delete_tool)
	lib.entry_matches({}) with input as inp
	lib.entry_matches({"principal": "alice", "principal_kind": "os_user", "upstream": "fs", "tool": "delete_*", "effect": "destructive"}) with input as inp
	lib.entry_matches({"effect": "*"}) with input as inp
	not lib.entry_matches({"principal": "bob"}) with input as inp
	not lib.entry_matches({"effect": "exec"}) with input as inp
	not lib.entry_matches({"upstream": "git"}) with input as inp
}

test_effects if {
	lib.effects == {"write", "destructive"} with input as fx.with_tool(fx.call({}), fx.write_tool)
	lib.effects == {"read"} with input as fx.call({})
	lib.effects == set() with input as fx.with_tool(fx.call({}), {"name": "x"})
}

test_writes if {
	not lib.writes with input as fx.call({})
	lib.writes with input as fx.with_tool(fx.call({}), fx.write_tool)
	lib.writes with input as fx.with_tool(fx.call({}), {"name": "x"})
	not lib.writes with input as fx.strings([])
		with input.tool as null
}

test_expand if {
	lib.expand("/") == "/"
	lib.expand("/srv/data/") == "/srv/data"
	lib.expand("~") == "/home/alice" with input as fx.call({})
	lib.expand("~/projects/") == "/home/alice/projects" with input as fx.call({})
	not lib.expand("projects")
	not lib.expand("~/x") with input as fx.call({"facts": {"home": "relative"}})
}

test_under_compares_components if {
	lib.under("/srv/data", "/srv/data")
	lib.under("/srv/data/x/y", "/srv/data")
	lib.under("/anything", "/")
	not lib.under("/srv/data-evil/x", "/srv/data")
	not lib.under("/srv", "/srv/data")
}

test_short if {
	lib.short("abc") == "abc"
	long := concat("", [x | some _ in numbers.range(1, 130); x := "a"])
	count(lib.short(long)) == 120
	endswith(lib.short(long), "...")
}

test_configured_effect_replaces_annotations if {
	hinted := {"name": "fs__rm", "upstream_name": "rm", "annotations": {"readOnlyHint": false, "destructiveHint": true}}
	lenient := object.union(hinted, {"effect": "read", "effect_source": "config"})
	not lib.destructive with input as fx.with_tool(fx.call({}), lenient)
	not lib.writes with input as fx.with_tool(fx.call({}), lenient)
	lib.effects == {"read"} with input as fx.with_tool(fx.call({}), lenient)
	from_hints := object.union(hinted, {"effect": "read", "effect_source": "annotations"})
	lib.destructive with input as fx.with_tool(fx.call({}), from_hints)
	strict := {"name": "fs__ls", "upstream_name": "ls", "annotations": {"readOnlyHint": true}, "effect": "destructive", "effect_source": "config"}
	lib.destructive with input as fx.with_tool(fx.call({}), strict)
	lib.writes with input as fx.with_tool(fx.call({}), strict)
}

test_engine_effect_replaces_annotations if {
	# The built-in engine declares its tools' effects; a hint that
	# contradicts the declaration does not count.
	tool := {"name": "record_insight", "upstream_name": "record_insight", "annotations": {"readOnlyHint": false, "destructiveHint": true}, "effect": "write", "effect_source": "engine"}
	not lib.destructive with input as fx.with_tool(fx.call({}), tool)
	lib.writes with input as fx.with_tool(fx.call({}), tool)
	lib.effects == {"write"} with input as fx.with_tool(fx.call({}), tool)
	reader := object.union(tool, {"effect": "read"})
	not lib.writes with input as fx.with_tool(fx.call({}), reader)
}

test_read_only_hint_outweighs_destructive_hint if {
	both := {"name": "fs__read", "upstream_name": "read", "annotations": {"readOnlyHint": true, "destructiveHint": true}, "effect": "read"}
	not lib.destructive with input as fx.with_tool(fx.call({}), both)
	not lib.writes with input as fx.with_tool(fx.call({}), both)
	lib.effects == {"read"} with input as fx.with_tool(fx.call({}), both)
}
