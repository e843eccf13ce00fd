package sovereign.rules.paths_test

import data.sovereign.rules.paths
import data.sovereign_test.fixtures as fx

# fact(canonical, flags): a path fact for /path with flags merged in.
fact(canonical, flags) := object.union(fx.path_fact("/path", canonical), flags)

outside := {"within_roots": false, "root": ""}

# Each case: the path facts of one read_text_file call and the deny ids wanted.
cases := {
	"file inside the roots": {"paths": [fact("/home/alice/notes/todo.md", {})], "want": set()},
	"Go omits an empty error": {"paths": [object.remove(fact("/home/alice/a.md", {}), ["error", "root", "sensitive_reason"])], "want": set()},
	"the root itself": {"paths": [fact("/home/alice", {})], "want": set()},
	"several clean paths": {
		"paths": [fact("/home/alice/a.txt", {}), object.union(fx.path_fact("/paths/1", "/home/alice/b.txt"), {})],
		"want": set(),
	},
	"symlink that stays inside": {"paths": [fact("/home/alice/current/report.md", {"is_symlink": true})], "want": set()},
	"percent-encoded name": {"paths": [fact("/home/alice/My Documents/cv.pdf", {"raw": "/home/alice/My%20Documents/cv.pdf", "encoded": true})], "want": set()},
	"file:// URI inside the roots": {"paths": [fact("/home/alice/x.md", {"raw": "file:///home/alice/x.md", "uri": true})], "want": set()},
	"system file": {"paths": [fact("/etc/passwd", outside)], "want": {"PATH-002"}},
	"sibling prefix of a root": {"paths": [fact("/home/alice-evil/loot.txt", outside)], "want": {"PATH-002"}},
	"one bad path among good ones": {
		"paths": [fact("/home/alice/a.txt", {}), object.union(fx.path_fact("/paths/1", "/etc/shadow"), outside)],
		"want": {"PATH-002"},
	},
	"symlink escape": {"paths": [fact("/etc/shadow", object.union(outside, {"raw": "/home/alice/link", "is_symlink": true}))], "want": {"PATH-003"}},
	"traversal out of the roots": {
		"paths": [fact("/etc/passwd", object.union(outside, {"raw": "/home/alice/../../etc/passwd", "traversal": true}))],
		"want": {"PATH-002", "PATH-004"},
	},
	"traversal that stays inside": {"paths": [fact("/home/alice/b.txt", {"raw": "/home/alice/a/../b.txt", "traversal": true})], "want": {"PATH-004"}},
	"encoded traversal": {
		"paths": [fact("/etc/passwd", object.union(outside, {"raw": "/home/alice/%2e%2e/%2e%2e/etc/passwd", "traversal": true, "encoded": true}))],
		"want": {"PATH-002", "PATH-004", "PATH-008"},
	},
	"double-encoded traversal inside": {
		"paths": [fact("/home/alice/b.txt", {"raw": "/home/alice/a/%252e%252e/b.txt", "traversal": true, "encoded": true})],
		"want": {"PATH-004", "PATH-008"},
	},
	"encoded NUL": {"paths": [fact("/home/alice/a.txt", {"raw": "/home/alice/a.txt%00.png", "encoded": true, "nul": true})], "want": {"PATH-005", "PATH-008"}},
	"raw NUL": {"paths": [fact("/home/alice/a.txt", {"nul": true})], "want": {"PATH-005"}},
	"look-alike slash": {"paths": [fact("/home/alice/a／..／b", {"lookalike": true})], "want": {"PATH-006"}},
	"Windows drive path": {"paths": [fact("/home/alice/C:/Windows/win.ini", {"raw": "C:\\Windows\\win.ini", "windows_form": true})], "want": {"PATH-007"}},
	"UNC path": {"paths": [fact("//server/share", object.union(outside, {"raw": "\\\\server\\share", "windows_form": true}))], "want": {"PATH-002", "PATH-007"}},
	"SSH key inside the roots": {
		"paths": [fact("/home/alice/.ssh/id_ed25519", {"sensitive": true, "sensitive_reason": "SSH key"})],
		"want": {"PATH-009"},
	},
	"dotenv inside the roots": {"paths": [fact("/home/alice/app/.env", {"sensitive": true})], "want": {"PATH-009"}},
	"the proxy's audit log": {
		"paths": [fact("/home/alice/.sovereign/audit/0001.jsonl", {"sensitive": true, "sensitive_reason": "sovereign audit log"})],
		"want": {"PATH-009"},
	},
	"canonicalisation error": {"paths": [fact("", object.union(outside, {"raw": "/home/alice/\\x", "error": "invalid path"}))], "want": {"PATH-001", "PATH-002"}},
	"missing within_roots fails closed": {"paths": [object.remove(fact("/home/alice/a.txt", {}), ["within_roots"])], "want": {"PATH-002"}},
}

test_path_cases[note] if {
	some note, tc in cases
	got := fx.ids(paths.deny) with input as fx.paths(tc.paths)
	got == tc.want
}

test_traversal_and_windows_forms_can_be_allowed if {
	cfg := {"deny_traversal": false, "deny_windows_forms": false}
	inp := fx.paths([
		fact("/home/alice/b.txt", {"traversal": true}),
		fact("/home/alice/C:/x", {"windows_form": true}),
	])
	count(paths.deny) == 0 with input as inp with data.sovereign_config.paths as cfg
}

test_tool_lists_are_not_judged_by_paths if {
	inp := object.union(fx.paths([fact("/etc/passwd", outside)]), {"phase": "list", "method": "tools/list"})
	count(paths.deny) == 0 with input as inp
	result := object.union(fx.paths([fact("/etc/passwd", outside)]), {"phase": "result"})
	count(paths.deny) == 0 with input as result
}

listed(canonical, flags) := object.union(fx.paths([fact(canonical, flags)]), {
	"phase": "list", "method": "resources/list",
	"resource": {"uri": concat("", ["file://", canonical]), "upstream_uri": concat("", ["file://", canonical])},
})

test_listed_resources_outside_the_roots_are_hidden if {
	fx.ids(paths.deny) == {"PATH-002"} with input as listed("/etc/passwd", outside)
	count(paths.deny) == 0 with input as listed("/home/alice/notes.md", {})
}

test_no_path_arguments if {
	count(paths.deny) == 0 with input as fx.strings([])
}

test_messages_name_path_and_argument if {
	inp := fx.paths([fact("/etc/passwd", outside)])
	paths.deny == {{"id": "PATH-002", "msg": "path /etc/passwd (argument /path) is outside the allowed roots"}} with input as inp
}

test_sensitive_message_gives_the_reason if {
	inp := fx.paths([fact("/home/alice/.aws/credentials", {"sensitive": true, "sensitive_reason": "cloud credentials"})])
	paths.deny == {{"id": "PATH-009", "msg": "path /home/alice/.aws/credentials (argument /path) is sensitive (cloud credentials)"}} with input as inp
}

test_long_paths_are_cut_in_messages if {
	long := concat("", ["/etc/", concat("", [sprintf("dir%d/", [x]) | some x in numbers.range(1, 40)])])
	some r in paths.deny with input as fx.paths([fact(long, outside)])
	contains(r.msg, "...")
	count(r.msg) < 200
}

test_message_falls_back_to_raw_path if {
	inp := fx.paths([fact("", object.union(outside, {"raw": "../x"}))])
	paths.deny == {{"id": "PATH-002", "msg": "path ../x (argument /path) is outside the allowed roots"}} with input as inp
}

# Read-only prefixes.

read_only := {"read_only": ["~/archive", "/srv/shared/"]}

write_call(canonical) := fx.with_tool(fx.paths([fact(canonical, {})]), fx.write_tool)

test_write_to_read_only_prefix_denied if {
	fx.ids(paths.deny) == {"PATH-010"} with input as write_call("/home/alice/archive/2024/q1.md")
		with data.sovereign_config.paths as read_only
	fx.ids(paths.deny) == {"PATH-010"} with input as write_call("/home/alice/archive")
		with data.sovereign_config.paths as read_only
	fx.ids(paths.deny) == {"PATH-010"} with input as write_call("/srv/shared/x")
		with data.sovereign_config.paths as read_only
}

test_read_only_prefix_compares_components if {
	count(paths.deny) == 0 with input as write_call("/home/alice/archive-new/q1.md")
		with data.sovereign_config.paths as read_only
	count(paths.deny) == 0 with input as write_call("/srv/shared2/x")
		with data.sovereign_config.paths as read_only
}

test_read_from_read_only_prefix_allowed if {
	count(paths.deny) == 0 with input as fx.paths([fact("/home/alice/archive/q1.md", {})])
		with data.sovereign_config.paths as read_only
}

test_whole_tree_read_only if {
	fx.ids(paths.deny) == {"PATH-010"} with input as write_call("/home/alice/x")
		with data.sovereign_config.paths as {"read_only": ["/"]}
	fx.ids(paths.deny) == {"PATH-010"} with input as write_call("/home/alice/x")
		with data.sovereign_config.paths as {"read_only": ["~"]}
}

test_writes_by_annotation_effect_or_unknown if {
	hint_only := {"name": "x__save", "upstream_name": "save", "annotations": {"readOnlyHint": false}}
	destructive_hint := {"name": "x__rm", "upstream_name": "rm", "annotations": {"destructiveHint": true}, "effect": "read"}
	unknown := {"name": "x__do", "upstream_name": "do", "effect": "unknown"}
	no_effect := {"name": "x__do", "upstream_name": "do"}
	every tool in [hint_only, destructive_hint, unknown, no_effect, fx.exec_tool, fx.delete_tool] {
		inp := fx.with_tool(fx.paths([fact("/home/alice/archive/a", {})]), tool)
		fx.ids(paths.deny) == {"PATH-010"} with input as inp with data.sovereign_config.paths as read_only
	}
}

test_unknown_effect_that_claims_read_only_reads if {
	tool := {"name": "x__peek", "upstream_name": "peek", "effect": "unknown", "annotations": {"readOnlyHint": true}}
	inp := fx.with_tool(fx.paths([fact("/home/alice/archive/a", {})]), tool)
	count(paths.deny) == 0 with input as inp with data.sovereign_config.paths as read_only
}

# Per-upstream prefixes.

test_upstream_allowed_prefixes if {
	cfg := {"allowed_prefixes_by_upstream": {"fs": ["~/projects", "/srv/data"]}}
	fx.ids(paths.deny) == {"PATH-011"} with input as fx.paths([fact("/home/alice/notes/a.md", {})])
		with data.sovereign_config.paths as cfg
	fx.ids(paths.deny) == {"PATH-011"} with input as fx.paths([fact("/srv/data-evil/a", {})])
		with data.sovereign_config.paths as cfg
	count(paths.deny) == 0 with input as fx.paths([fact("/home/alice/projects/sovereign/go.mod", {})])
		with data.sovereign_config.paths as cfg
	count(paths.deny) == 0 with input as fx.paths([fact("/srv/data", {})])
		with data.sovereign_config.paths as cfg
}

test_upstream_allowed_prefixes_other_upstream_unaffected if {
	cfg := {"allowed_prefixes_by_upstream": {"git": ["~/projects"]}}
	count(paths.deny) == 0 with input as fx.paths([fact("/home/alice/notes/a.md", {})])
		with data.sovereign_config.paths as cfg
}

# "No writes outside ~/projects for the filesystem server."
test_upstream_write_prefixes if {
	cfg := {"write_prefixes_by_upstream": {"fs": ["~/projects"]}}
	fx.ids(paths.deny) == {"PATH-012"} with input as write_call("/home/alice/notes/a.md")
		with data.sovereign_config.paths as cfg
	count(paths.deny) == 0 with input as write_call("/home/alice/projects/a.md")
		with data.sovereign_config.paths as cfg
	count(paths.deny) == 0 with input as fx.paths([fact("/home/alice/notes/a.md", {})])
		with data.sovereign_config.paths as cfg
}

test_unusable_prefix_fails_closed if {
	cfg := {"read_only": ["archive"], "write_prefixes_by_upstream": {"fs": ["projects"]}}
	fx.ids(paths.deny) == {"PATH-012", "PATH-013"} with input as write_call("/home/alice/projects/a.md")
		with data.sovereign_config.paths as cfg
	some r in paths.deny with input as write_call("/home/alice/a.md") with data.sovereign_config.paths as cfg
	r.msg == "configured path prefix \"archive\" is not absolute"
}

test_home_prefix_without_home_fails_closed if {
	inp := object.union(write_call("/home/alice/a.md"), {"facts": {"home": ""}})
	fx.ids(paths.deny) == {"PATH-013"} with input as inp with data.sovereign_config.paths as read_only
}

test_defaults_when_paths_config_missing if {
	inp := fx.paths([fact("/home/alice/b.txt", {"traversal": true})])
	fx.ids(paths.deny) == {"PATH-004"} with input as inp with data.sovereign_config as {}
}

test_message_without_raw_or_pointer if {
	p := object.remove(fact("", outside), ["raw", "pointer"])
	paths.deny == {{"id": "PATH-002", "msg": "path ? (argument ?) is outside the allowed roots"}} with input as fx.paths([p])
}

test_missing_canonical_is_outside_every_prefix if {
	cfg := {"allowed_prefixes_by_upstream": {"fs": ["~"]}, "write_prefixes_by_upstream": {"fs": ["~"]}}
	p := object.remove(fact("/home/alice/a", {}), ["canonical"])
	fx.ids(paths.deny) == {"PATH-011", "PATH-012"} with input as fx.with_tool(fx.paths([p]), fx.write_tool)
		with data.sovereign_config.paths as cfg
}
