package sovereign_test

import data.sovereign

test_allows_when_no_rule_denies if {
	d := sovereign.decision with data.sovereign.rules as {}
	d.allow
	d.reasons == []
	d.obligations == []
}

test_denies_with_every_reason_sorted if {
	rules := {
		"a": {"deny": {{"id": "B-1", "msg": "second"}, {"id": "A-1", "msg": "first"}}},
		"b": {"deny": {{"id": "A-1", "msg": "also first"}}},
	}
	d := sovereign.decision with data.sovereign.rules as rules
	not d.allow
	d.reasons == [{"id": "A-1", "msg": "also first"}, {"id": "A-1", "msg": "first"}, {"id": "B-1", "msg": "second"}]
}

test_collects_obligations if {
	rules := {"a": {"obligations": {{"type": "rate_limit", "key": "k", "limit": 1, "window": "1m"}}}}
	d := sovereign.decision with data.sovereign.rules as rules
	d.allow
	d.obligations == [{"type": "rate_limit", "key": "k", "limit": 1, "window": "1m"}]
}
