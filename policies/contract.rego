# METADATA
# title: Input contract
# description: |
#   Denies an input the library was not written for: an unknown contract
#   version or phase. Methods the library does not look at (initialize,
#   ping, tools/list…) are allowed in the "list" and "call" phases; the proxy
#   denies methods it does not know before asking the policy.
package sovereign.rules.contract

import data.sovereign.lib

# The input contract versions this library understands.
versions := {1}

# The reasons are only worked out for an input that is not plainly fine.
deny contains reason if {
	not _supported
	some reason in _deny
}

_supported if {
	input.v == 1
	input.phase in {"list", "call", "result"}
}

# METADATA
# title: Unsupported input version
# custom:
#   id: INPUT-001
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	not _supported_version
	msg := sprintf("policy input version %v is not supported (want one of %v)", [_version, versions])
}

# METADATA
# title: Unknown phase
# custom:
#   id: INPUT-002
_deny contains {"id": rego.metadata.rule().custom.id, "msg": msg} if {
	not _known_phase
	msg := sprintf("policy input phase %s is not one of list, call, result", [lib.short(json.marshal(_phase))])
}

# The values as given; null when missing (or when there is no input at all).
_version := v if {
	v := input.v
} else := null

_phase := p if {
	p := input.phase
} else := null

_supported_version if input.v in versions

_known_phase if input.phase in lib.phases
