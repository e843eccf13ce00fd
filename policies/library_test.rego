# End-to-end tests of data.sovereign.decision with the default library and
# data: ordinary calls are allowed, hostile ones denied.
package sovereign_test.library

import data.sovereign
import data.sovereign.rules.injection_test as corpus
import data.sovereign_test.fixtures as fx

write(content) := fx.with_tool(
	fx.call({
		"args": {"path": "/home/alice/notes/week.md", "content": content},
		"facts": {
			"paths": [fx.path_fact("/path", "/home/alice/notes/week.md")],
			"strings": [
				fx.string_fact("/path", "text", "/home/alice/notes/week.md"),
				fx.string_fact("/content", "text", content),
			],
		},
	}),
	fx.write_tool,
)

db_query(sql) := fx.with_tool(
	fx.call({
		"upstream": {"name": "db", "transport": "stdio"},
		"args": {"sql": sql},
		"facts": {"paths": [], "strings": [fx.string_fact("/sql", "sql", sql)]},
	}),
	{"name": "db__query", "upstream_name": "query", "annotations": {"readOnlyHint": true}, "effect": "read"},
)

run(command) := fx.with_tool(
	fx.call({
		"upstream": {"name": "sh", "transport": "stdio"},
		"args": {"command": command},
		"facts": {"paths": [], "strings": [fx.string_fact("/command", "command", command)]},
	}),
	fx.exec_tool,
)

fetch(url, fact) := fx.with_tool(
	fx.call({
		"upstream": {"name": "web", "transport": "streamable_http"},
		"args": {"url": url},
		"facts": {"paths": [], "strings": [fx.url_fact("/url", url, fact)]},
	}),
	{"name": "web__fetch", "upstream_name": "fetch", "annotations": {"readOnlyHint": true, "openWorldHint": true}, "effect": "read"},
)

allowed(inp) if {
	d := sovereign.decision with input as inp
	d.allow
	d.reasons == []
}

denied(inp) if {
	d := sovereign.decision with input as inp
	not d.allow
	count(d.reasons) > 0
}

test_ordinary_read_is_allowed_with_a_rate_limit if {
	d := sovereign.decision with input as fx.call({})
	d == {
		"allow": true,
		"reasons": [],
		"obligations": [{"type": "rate_limit", "key": "calls:alice:fs:read_text_file", "limit": 600, "window": "1m", "burst": 120}],
	}
}

test_benign_notes_are_written[text] if {
	some text in corpus.text_benign
	allowed(write(text))
}

test_benign_queries_run[text] if {
	some text in corpus.sql_benign
	allowed(db_query(text))
}

test_benign_commands_run[text] if {
	some text in corpus.command_benign
	allowed(run(text))
}

test_benign_urls_are_fetched[text] if {
	some text, fact in corpus.ssrf_benign
	allowed(fetch(text, fact))
}

test_hostile_queries_are_denied[text] if {
	some text in corpus.sql_hostile
	denied(db_query(text))
}

test_hostile_commands_are_denied[text] if {
	some text in corpus.command_hostile
	denied(run(text))
}

test_prompt_injection_in_notes_is_denied[text] if {
	some text in corpus.prompt_hostile
	denied(write(text))
}

test_secrets_in_notes_are_denied[id] if {
	some id, text in corpus.secret_hostile
	denied(write(text))
}

test_ssrf_is_denied[text] if {
	some text, tc in corpus.ssrf_hostile
	denied(fetch(text, tc.url))
}

test_paths_outside_roots_are_denied if {
	p := object.union(fx.path_fact("/path", "/etc/passwd"), {"within_roots": false, "root": ""})
	d := sovereign.decision with input as fx.paths([p])
	d.reasons == [{"id": "PATH-002", "msg": "path /etc/passwd (argument /path) is outside the allowed roots"}]
	not d.allow
}

test_listing_a_tool_carries_no_obligation if {
	inp := fx.call({"phase": "list", "method": "tools/list", "facts": {"paths": []}})
	d := sovereign.decision with input as inp
	d == {"allow": true, "reasons": [], "obligations": []}
}

test_protocol_methods_are_allowed if {
	every method in ["initialize", "ping", "tools/list", "resources/list", "prompts/list"] {
		every phase in ["list", "call"] {
			inp := {"v": 1, "phase": phase, "method": method, "principal": {"kind": "os_user", "id": "alice"}, "client": {"name": "c", "version": "1"}}
			d := sovereign.decision with input as inp
			d == {"allow": true, "reasons": [], "obligations": []}
		}
	}
}

test_clean_result_passes if {
	inp := fx.call({"phase": "result", "facts": {"paths": [], "strings": [fx.string_fact("/content/0/text", "text", "# todo\n- milk")]}})
	d := sovereign.decision with input as inp
	d == {"allow": true, "reasons": [], "obligations": []}
}

test_destructive_call_gets_both_default_limits if {
	d := sovereign.decision with input as fx.with_tool(fx.call({}), fx.delete_tool)
	d.allow
	{o.key | some o in d.obligations} == {"calls:alice:fs:delete_file", "destructive:alice:fs:delete_file"}
}

test_unknown_phase_is_denied if {
	d := sovereign.decision with input as fx.call({"phase": "later"})
	d.reasons == [{"id": "INPUT-002", "msg": "policy input phase \"later\" is not one of list, call, result"}]
}
