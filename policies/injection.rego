# METADATA
# title: Injection, secrets and SSRF
# description: |
#   Data-driven pattern sets (data.sovereign_config.injection) matched against
#   the string facts Go computes (input.facts.strings): the normalised form
#   and every decoded variant. SQL patterns apply to strings of kind "sql",
#   command patterns to kind "command" (and to text arguments of exec tools),
#   prompt-injection and secret patterns to every string. URL strings are
#   checked for SSRF (data.sovereign_config.ssrf). A deny reason's id is the
#   id of the pattern (or address class) that matched; its message names the
#   argument and the category and never repeats the matched text.
#
#   Go's regexp engine costs tens of microseconds per pattern on a few
#   hundred bytes, so a pattern runs only when the lower-cased text contains
#   one of its "keywords" (plain substrings, each a necessary part of any
#   match); a pattern without "keywords" always runs, one with [] never.
package sovereign.rules.injection

import data.sovereign.lib

_cfg := c if {
	c := data.sovereign_config.injection
} else := {}

_ssrf := c if {
	c := data.sovereign_config.ssrf
} else := {}

# The string facts to check, by index: a call's arguments or a result's
# strings.
_strings[i] := s if {
	input.phase in {"call", "result"}
	some i, s in input.facts.strings
	not object.get(s, "pointer", null) in _unscanned_pointers
}

# [index, text, lower-cased text] for the normalised form and every
# variant of each string that is scanned.
_texts contains [i, s.normalized, lower(s.normalized)] if {
	some i, s in _strings
	is_string(s.normalized)
}

_texts contains [i, v, lower(v)] if {
	some i, s in _strings
	some v in s.variants
	is_string(v)
}

# A string that is also a path argument is left to the path rules unless
# injection.scan_path_arguments is true: its canonical form must lie inside
# the roots, and it is handed to the tool, not to a model. (A set computed
# once, not a function called per string: results can hold thousands.)
_unscanned_pointers := set() if {
	_cfg.scan_path_arguments == true
} else := {p.pointer | some p in input.facts.paths} if {
	input.phase == "call"
} else := set()

# _hits(category, t, lt): the ids of the category's patterns matching t.
# A pattern runs only when the lower-cased text lt contains one of its
# keywords; an entry without "keywords" always runs ([] never does). Entries
# that are not objects (null switches a default off) are skipped.
_hits(category, t, lt) := {id |
	some id, e in object.get(_cfg, category, {})
	is_object(e)
	some keyword in object.get(e, "keywords", [""])
	contains(lt, keyword)
	is_string(e.pattern)
	regex.match(e.pattern, t)
} if {
	count(_texts) <= _filter_from
}

_hits(category, t, lt) := {id |
	some id in _candidates[category]
	e := _cfg[category][id]
	some keyword in object.get(e, "keywords", [""])
	contains(lt, keyword)
	is_string(e.pattern)
	regex.match(e.pattern, t)
} if {
	count(_texts) > _filter_from
}

# With many texts (a result holds hundreds of strings), the patterns of a
# category that can hit are those one of whose keywords occurs in some text:
# a keyword in no text is not in their concatenation either. Computed once
# per decision, this keeps strings x patterns x keywords evaluations off a
# chatty result. With a few texts (a call's arguments) filtering first costs
# more than it saves.
_candidates[category] := {id |
	some id, e in object.get(_cfg, category, {})
	is_object(e)
	some keyword in object.get(e, "keywords", [""])
	contains(_all_lower, keyword)
} if {
	some category in _categories
	count(_texts) > _filter_from
}

# _pattern_ids(category): the ids of the category's patterns worth trying.
_pattern_ids(category) := object.keys(object.get(_cfg, category, {})) if {
	count(_texts) <= _filter_from
}

_pattern_ids(category) := _candidates[category] if {
	count(_texts) > _filter_from
}

# _may_hit(category): some pattern of the category may match some text; a
# rule that loops over the texts checks it first.
_may_hit(_) if count(_texts) <= _filter_from

_may_hit(category) if count(_candidates[category]) > 0

_categories := {"sql", "command", "prompt", "secrets", "secret_assignments"}

_filter_from := 8

# Every scanned text, lower-cased, in one string.
_all_lower := concat("\u0000", [entry[2] | some entry in _texts])

_kind(i) := _strings[i].kind

_where(i) := lib.short(_strings[i].pointer) if {
	is_string(_strings[i].pointer)
} else := "?"

_name(category, id) := object.get(_cfg[category][id], "name", id)

# The reasons are only worked out for a call that has strings.
deny contains reason if {
	input.phase == "call"
	count(_strings) > 0
	some reason in _deny
}

# Strings the command patterns apply to: kind "command", and any text
# argument of a tool whose effect is in injection.command_effects.
_command_string(i) if _kind(i) == "command"

_command_string(i) if {
	_kind(i) == "text"
	input.tool.effect in object.get(_cfg, "command_effects", [])
}

# METADATA
# title: SQL injection
# description: A pattern of injection.sql matches a string of kind "sql". The reason id is the pattern id.
# custom:
#   id: SQLI
_deny contains {"id": id, "msg": msg} if {
	_may_hit("sql")
	some entry in _texts
	i := entry[0]
	t := entry[1]
	lt := entry[2]
	_kind(i) == "sql"
	some id in _hits("sql", t, lt)
	msg := sprintf("possible SQL injection in argument %s: %s", [_where(i), _name("sql", id)])
}

# METADATA
# title: Command injection
# description: A pattern of injection.command matches a command-bound string. The reason id is the pattern id.
# custom:
#   id: CMD
_deny contains {"id": id, "msg": msg} if {
	_may_hit("command")
	some entry in _texts
	i := entry[0]
	t := entry[1]
	lt := entry[2]
	_command_string(i)
	some id in _hits("command", t, lt)
	msg := sprintf("possible command injection in argument %s: %s", [_where(i), _name("command", id)])
}

# METADATA
# title: Prompt injection
# description: A pattern of injection.prompt matches any string. The reason id is the pattern id.
# custom:
#   id: PI
_deny contains {"id": id, "msg": msg} if {
	some [i, id] in _prompt
	msg := sprintf("possible prompt injection in argument %s: %s", [_where(i), _name("prompt", id)])
}

# Prompt injections found in a string, as [index, pattern id].
_prompt contains [i, id] if {
	_may_hit("prompt")
	some entry in _texts
	i := entry[0]
	t := entry[1]
	lt := entry[2]
	some id in _hits("prompt", t, lt)
}

# METADATA
# title: Hidden text
# description: Go flagged the string with a signal listed in injection.hidden_signals. The reason id is the entry id.
# custom:
#   id: PI-HIDDEN
_deny contains {"id": id, "msg": msg} if {
	some [i, id] in _hidden
	entry := _cfg.hidden_signals[id]
	msg := sprintf("possible prompt injection in argument %s: %s", [_where(i), object.get(entry, "name", entry.signal)])
}

# Hidden-text signals found on a string, as [index, entry id].
_hidden contains [i, id] if {
	some i, s in _strings
	count(s.signals) > 0
	some id, entry in object.get(_cfg, "hidden_signals", {})
	is_object(entry)
	entry.signal in s.signals
	_kind_selected(entry, s)
}

# An entry without "kinds" applies to strings of every kind.
_kind_selected(entry, _) if not entry.kinds

_kind_selected(entry, s) if s.kind in entry.kinds

# Secrets found in a string, as [index, pattern id].
_secret contains [i, id] if {
	_may_hit("secrets")
	some entry in _texts
	i := entry[0]
	t := entry[1]
	lt := entry[2]
	some id in _hits("secrets", t, lt)
}

_secret contains [i, id] if {
	_may_hit("secret_assignments")
	some entry in _texts
	i := entry[0]
	t := entry[1]
	lt := entry[2]
	some id in _pattern_ids("secret_assignments")
	e := _cfg.secret_assignments[id]
	is_object(e)
	some keyword in object.get(e, "keywords", [""])
	contains(lt, keyword)
	is_string(e.pattern)
	some m in regex.find_all_string_submatch_n(e.pattern, t, 16)
	_high_entropy(m[1], e)
}

# A value looks like a real credential: long, letters and digits, many
# distinct characters, and no placeholder text.
_high_entropy(value, entry) if {
	count(value) >= object.get(entry, "min_length", 20)
	regex.match(`[0-9]`, value)
	regex.match(`[A-Za-z]`, value)
	count({c | some c in split(value, "")}) >= object.get(entry, "min_distinct", 10)
	not _placeholder(value)
}

_placeholder(value) if {
	some word in object.get(_cfg, "secret_placeholders", [])
	contains(lower(value), word)
}

_secret_name(id) := name if {
	name := _cfg.secrets[id].name
} else := name if {
	name := _cfg.secret_assignments[id].name
} else := id

# METADATA
# title: Secret in an argument
# description: A pattern of injection.secrets (or secret_assignments) matches any string. The reason id is the pattern id.
# custom:
#   id: SEC
_deny contains {"id": id, "msg": msg} if {
	some entry in _secret
	i := entry[0]
	id := entry[1]
	msg := sprintf("secret (%s) in argument %s", [_secret_name(id), _where(i)])
}

# Result phase: what the upstream answered is checked for secrets, prompt
# injections and hidden text before the client (and its model) sees it.
# injection.result_action says what happens to a result that carries any:
# "redact" (the default) replaces each such string, "deny" withholds the
# whole result. Any other value withholds it too (fail closed).
_result_findings contains finding if {
	input.phase == "result"
	some finding in ((_secret | _prompt) | _hidden)
}

_result_action := object.get(_cfg, "result_action", "redact")

obligations contains {"type": "redact", "pointers": sort(pointers), "rules": sort(ids)} if {
	_result_action == "redact"
	count(_result_findings) > 0
	pointers := {_strings[i].pointer | some [i, _] in _result_findings}
	ids := {id | some [_, id] in _result_findings}
}

# METADATA
# title: Result withheld
# description: |
#   A string of the result carries a secret, a prompt injection or hidden
#   text, and injection.result_action is not "redact". The reason id is
#   the pattern id.
# custom:
#   id: RESULT
deny contains {"id": id, "msg": msg} if {
	_result_action != "redact"
	some [i, id] in _result_findings
	msg := sprintf("the result's string %s carries %s, so the result is withheld", [_where(i), _finding_name(id)])
}

_finding_name(id) := sprintf("a prompt injection (%s)", [_name("prompt", id)]) if {
	_cfg.prompt[id]
} else := sprintf("hidden text (%s)", [object.get(_cfg.hidden_signals[id], "name", id)]) if {
	_cfg.hidden_signals[id]
} else := sprintf("a secret (%s)", [_secret_name(id)])

# METADATA
# title: Truncated string
# description: |
#   Go scanned only part of a string of a kind in injection.truncated_kinds
#   (command, sql, url): the rest cannot be checked, so the call is denied.
# custom:
#   id: INJ-001
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some i, s in _strings
	_partly_examined(s)
	_kind(i) in object.get(_cfg, "truncated_kinds", [])
	msg := sprintf("argument %s of kind %s is too long to be checked", [_where(i), _kind(i)])
}

_partly_examined(s) if s.truncated == true

_partly_examined(s) if "truncated" in s.signals

_partly_examined(s) if "variants_capped" in s.signals

# METADATA
# title: Strings not examined
# description: |
#   Go examined only part of the call's strings (more than it analyses per
#   call, or nesting too deep): what was not examined cannot be checked
#   (injection.deny_unexamined, default true).
# custom:
#   id: INJ-002
deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	input.phase == "call"
	_unexamined
	object.get(_cfg, "deny_unexamined", true) == true
	msg := "the arguments hold more strings, or deeper nesting, than the proxy examines"
}

_unexamined if input.facts.strings_omitted > 0

_unexamined if input.facts.strings_incomplete == true

# SSRF: URL strings (those with a url fact Go could parse).
_urls[i] := s.url if {
	some i, s in _strings
	is_object(s.url)
	_parsed(s.url)
}

_parsed(u) if not u.error

_parsed(u) if u.error == ""

# METADATA
# title: URL that does not parse
# description: |
#   A URL argument whose host, address or port Go could not read (a parser
#   differential is an SSRF trick). Errors in ssrf.ignored_url_errors ("not
#   a URL", "empty value": the argument is no URL at all) pass.
# custom:
#   id: SSRF-009
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some i, s in _strings
	error := s.url.error
	is_string(error)
	error != ""
	not error in object.get(_ssrf, "ignored_url_errors", ["empty value", "not a URL"])
	msg := sprintf("URL in argument %s could not be parsed (%s)", [_where(i), lib.short(error)])
}

_host(u) := lower(u.host) if {
	is_string(u.host)
} else := ""

_host_allowed(u) if {
	some pattern in object.get(_ssrf, "allowed_hosts", [])
	glob.match(lower(pattern), ["."], _host(u))
}

# The address classes a URL falls in: Go's flags, plus the configured
# metadata host names.
_classes(u) := {flag | some flag, v in u; v == true} | {"metadata" | _host(u) in object.get(_ssrf, "metadata_hosts", [])}

# METADATA
# title: SSRF to an internal address
# description: |
#   The URL's host is in an address class of ssrf.address_classes (metadata,
#   link-local, loopback, private, unspecified) and not in ssrf.allowed_hosts.
#   The reason id is the class entry's id.
# custom:
#   id: SSRF
_deny contains {"id": id, "msg": msg} if {
	some i, u in _urls
	not _host_allowed(u)
	classes := _classes(u)
	some id, entry in object.get(_ssrf, "address_classes", {})
	is_object(entry)
	entry.flag in classes
	msg := sprintf("URL in argument %s points to %s", [_where(i), object.get(entry, "name", entry.flag)])
}

# METADATA
# title: URL with user info
# description: A URL with user info ("https://trusted@evil.example/") hides its real host.
# custom:
#   id: SSRF-006
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some i, u in _urls
	u.userinfo == true
	msg := sprintf("URL in argument %s carries user info before its host", [_where(i)])
}

# METADATA
# title: URL scheme not allowed
# description: |
#   The URL's scheme is not in ssrf.allowed_schemes (default http, https).
#   Tool calls only: prompt arguments often carry MCP resource URIs with
#   their own schemes ("test://example-resource"). A URL argument without a
#   scheme ("example.com/x") is judged by its host.
# custom:
#   id: SSRF-007
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some i, u in _urls
	is_object(input.tool)
	scheme := _scheme(u)
	scheme != ""
	not scheme in object.get(_ssrf, "allowed_schemes", ["http", "https"])
	msg := sprintf("URL in argument %s uses scheme %q, which is not allowed", [_where(i), lib.short(scheme)])
}

# METADATA
# title: Obfuscated IP address
# description: A host written as one number, in hex or with leading zeros (http://2130706433/, http://0x7f.1/).
# custom:
#   id: SSRF-008
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	some i, u in _urls
	_numeric_host(_host(u))
	_obfuscated(_host(u))
	msg := sprintf("URL in argument %s writes its IP address in an obfuscated form", [_where(i)])
}

_scheme(u) := lower(u.scheme) if {
	is_string(u.scheme)
} else := ""

_numeric_host(h) if regex.match(`^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$`, h)

# Leading zeros (octal), hex, or fewer than four parts.
_obfuscated(h) if regex.match(`(?:^|\.)0[0-9x]`, h)

_obfuscated(h) if count(split(h, ".")) != 4

# Problems in the injection and SSRF configuration, for `sovereign policy
# check` (not evaluated for decisions): invalid regexes, entries that can
# never run, address classes without a flag.
config_problems contains msg if {
	some category in ["sql", "command", "prompt", "secrets", "secret_assignments"]
	some id, e in object.get(_cfg, category, {})
	is_object(e)
	not _valid_pattern(e)
	msg := sprintf("injection.%s.%s: pattern is not a valid RE2 regular expression", [category, id])
}

config_problems contains msg if {
	some category in ["sql", "command", "prompt", "secrets", "secret_assignments"]
	some id, e in object.get(_cfg, category, {})
	is_object(e)
	e.keywords == []
	msg := sprintf("injection.%s.%s: keywords is empty, so the pattern never runs (omit it to run on every string)", [category, id])
}

config_problems contains msg if {
	some id, e in object.get(_cfg, "secret_assignments", {})
	is_object(e)
	_valid_pattern(e)
	not _has_group(e)
	msg := sprintf("injection.secret_assignments.%s: pattern needs a capture group for the value", [id])
}

config_problems contains msg if {
	some id, e in object.get(_ssrf, "address_classes", {})
	is_object(e)
	not _has_flag(e)
	msg := sprintf("ssrf.address_classes.%s: flag must be one of metadata, link_local, loopback, private, unspecified", [id])
}

# Helpers with the entry as argument: a negated call on an undefined
# field (e.pattern) would be undefined rather than true.
_valid_pattern(e) if {
	is_string(e.pattern)
	regex.is_valid(e.pattern)
}

_has_group(e) if regex.match(`\((?:[^?]|$)`, e.pattern)

_has_flag(e) if is_string(e.flag)
