# METADATA
# title: Sovereign decision
# description: |
#   The entry point the proxy evaluates. It gathers the deny reasons and
#   obligations of every package under data.sovereign.rules, so a user policy
#   takes part just by living in such a package.
package sovereign

# All deny reasons of all rule packages.
reasons contains reason if {
	some name
	some reason in data.sovereign.rules[name].deny
}

# All obligations of all rule packages.
obligations contains obligation if {
	some name
	some obligation in data.sovereign.rules[name].obligations
}

decision := {
	"allow": count(reasons) == 0,
	"reasons": sort(reasons),
	"obligations": sort(obligations),
}
