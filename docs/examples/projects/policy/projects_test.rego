package sovereign.rules.projects_test

import data.sovereign.rules.projects
import data.sovereign_test.fixtures as fx

# Inputs are built with the library's fixtures: a tools/call of upstream
# "fs" by alice, whose home is /home/alice.
write(path) := fx.with_tool(fx.paths([fx.path_fact("/path", path)]), fx.write_tool)

test_write_inside_projects_is_allowed if {
	count(projects.deny) == 0 with input as write("/home/alice/projects/site/index.html")
	count(projects.deny) == 0 with input as write("/home/alice/projects")
}

test_write_outside_projects_is_denied if {
	fx.ids(projects.deny) == {"PROJ-001"} with input as write("/home/alice/notes/todo.md")
}

# Prefixes compare by path components, not as strings.
test_sibling_of_projects_is_denied if {
	fx.ids(projects.deny) == {"PROJ-001"} with input as write("/home/alice/projects-old/x")
}

# move_file names two paths: both must be inside.
test_move_out_of_projects_is_denied if {
	move := fx.with_tool(
		fx.paths([
			fx.path_fact("/source", "/home/alice/projects/a.txt"),
			fx.path_fact("/destination", "/home/alice/a.txt"),
		]),
		object.union(fx.write_tool, {"name": "fs__move_file", "upstream_name": "move_file"}),
	)
	some r in projects.deny with input as move
	r.id == "PROJ-001"
	contains(r.msg, "/destination")
}

# A path fact Go could not canonicalise counts as outside.
test_path_without_canonical_is_denied if {
	fact := object.remove(fx.path_fact("/path", "/home/alice/projects/x"), ["canonical"])
	fx.ids(projects.deny) == {"PROJ-001"} with input as fx.with_tool(fx.paths([fact]), fx.write_tool)
}

# "~" needs input.facts.home; without it nothing is inside (fail closed).
test_no_home_denies if {
	inp := object.union(write("/home/alice/projects/x"), {"facts": {"home": null}})
	fx.ids(projects.deny) == {"PROJ-001"} with input as inp
}

test_reads_and_other_upstreams_are_not_concerned if {
	count(projects.deny) == 0 with input as fx.paths([fx.path_fact("/path", "/etc/hosts")])
	other := object.union(write("/home/alice/notes/todo.md"), {"upstream": {"name": "git"}})
	count(projects.deny) == 0 with input as other
	count(projects.deny) == 0 with input as object.union(write("/home/alice/notes/todo.md"), {"phase": "list"})
}

test_destructive_calls_are_rate_limited if {
	projects.obligations == {{
		"type": "rate_limit",
		"key": "projects-deletes:alice:fs",
		"limit": 10,
		"window": "1m",
		"burst": 10,
	}} with input as write("/home/alice/projects/x")
	count(projects.obligations) == 1 with input as fx.with_tool(fx.call({}), fx.delete_tool)
	count(projects.obligations) == 0 with input as fx.call({})
}

# Through the whole library: the decision names the rule, the library's
# own limits still apply next to this one.
test_decision_with_the_library if {
	d := data.sovereign.decision with input as write("/home/alice/notes/todo.md")
	not d.allow
	{r.id | some r in d.reasons} == {"PROJ-001"}
	ok := data.sovereign.decision with input as write("/home/alice/projects/x")
	ok.allow
	{o.key | some o in ok.obligations} == {
		"calls:alice:fs:write_file",
		"destructive:alice:fs:write_file",
		"projects-deletes:alice:fs",
	}
}
