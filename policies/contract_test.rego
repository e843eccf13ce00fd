package sovereign.rules.contract_test

import data.sovereign.rules.contract
import data.sovereign_test.fixtures as fx

test_supported_input if {
	every phase in ["list", "call", "result"] {
		count(contract.deny) == 0 with input as fx.call({"phase": phase})
	}
}

test_protocol_methods_pass if {
	every method in ["initialize", "ping", "tools/list", "resources/list", "prompts/list", "notifications/initialized"] {
		inp := object.remove(fx.call({"method": method, "phase": "call", "facts": {"paths": []}}), ["tool", "upstream", "args"])
		count(contract.deny) == 0 with input as inp
	}
}

test_unknown_version if {
	contract.deny == {{"id": "INPUT-001", "msg": "policy input version 2 is not supported (want one of {1})"}} with input as fx.call({"v": 2})
	contract.deny == {{"id": "INPUT-001", "msg": "policy input version null is not supported (want one of {1})"}} with input as object.remove(fx.base, ["v"])
}

test_unknown_phase if {
	contract.deny == {{"id": "INPUT-002", "msg": "policy input phase \"resolve\" is not one of list, call, result"}} with input as fx.call({"phase": "resolve"})
}

test_no_input_at_all if {
	fx.ids(contract.deny) == {"INPUT-001", "INPUT-002"}
}
