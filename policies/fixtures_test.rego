# METADATA
# title: Test fixtures
# description: |
#   Realistic inputs in the shape policies/README.md documents, shared by the
#   library's tests. Build a case with call({...}) (a deep merge over a
#   tools/call of the filesystem server's read_text_file by alice), and facts
#   with path_fact / string_fact / url_fact.
package sovereign_test.fixtures

base := {
	"v": 1,
	"phase": "call",
	"method": "tools/call",
	"principal": {"kind": "os_user", "id": "alice", "claims": {}},
	"client": {"name": "claude-ai", "version": "0.1.0"},
	"session": {"id": "3f1c9a2e", "call_count": 12},
	"upstream": {"name": "fs", "transport": "stdio"},
	"tool": {
		"name": "fs__read_text_file",
		"upstream_name": "read_text_file",
		"annotations": {"readOnlyHint": true},
		"effect": "read",
	},
	"args": {"path": "/home/alice/notes/todo.md"},
	"facts": {
		"roots": ["/home/alice", "/home/alice/.sovereign"],
		"home": "/home/alice",
		"paths": [path_fact("/path", "/home/alice/notes/todo.md")],
		"strings": [],
	},
}

# call(patch): base deep-merged with patch (arrays in patch replace).
call(patch) := object.union(base, patch)

# with_tool(inp, tool): inp with its tool replaced (not merged).
with_tool(inp, tool) := object.union(object.remove(inp, ["tool"]), {"tool": tool})

# Tools as the Go side describes them.
write_tool := {
	"name": "fs__write_file",
	"upstream_name": "write_file",
	"annotations": {"readOnlyHint": false, "destructiveHint": true},
	"effect": "write",
}

delete_tool := {
	"name": "fs__delete_file",
	"upstream_name": "delete_file",
	"annotations": {"readOnlyHint": false, "destructiveHint": true},
	"effect": "destructive",
}

exec_tool := {
	"name": "sh__run_command",
	"upstream_name": "run_command",
	"annotations": {"readOnlyHint": false, "openWorldHint": true},
	"effect": "exec",
}

# A clean path fact: canonical, inside the roots, nothing flagged.
path_fact(pointer, canonical) := {
	"pointer": pointer,
	"raw": canonical,
	"canonical": canonical,
	"within_roots": true,
	"root": "/home/alice",
	"traversal": false,
	"encoded": false,
	"nul": false,
	"lookalike": false,
	"windows_form": false,
	"uri": false,
	"sensitive": false,
	"sensitive_reason": "",
	"is_symlink": false,
	"exists": true,
	"writable": true,
	"error": "",
}

# paths(list): a call whose path facts are list.
paths(list) := call({"facts": {"paths": list}})

# A string fact with no decoded variants and no signals.
string_fact(pointer, kind, text) := {
	"pointer": pointer,
	"name": trim_left(pointer, "/"),
	"len": count(text),
	"truncated": false,
	"kind": kind,
	"normalized": text,
	"variants": [],
	"signals": [],
}

# strings(list): a call (no path arguments) whose string facts are list.
strings(list) := call({"facts": {"paths": [], "strings": list}})

# A URL string fact; flags are merged over an ordinary public https URL.
url_fact(pointer, text, url) := object.union(string_fact(pointer, "url", text), {"url": object.union(
	{
		"scheme": "https",
		"host": "example.com",
		"ip": "",
		"loopback": false,
		"private": false,
		"link_local": false,
		"metadata": false,
		"unspecified": false,
		"userinfo": false,
	},
	url,
)})

# ids(reasons): the ids of a deny set.
ids(reasons) := {r.id | some r in reasons}
