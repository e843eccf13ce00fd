// Package compass classifies a described or literal action before it is
// taken: PROCEED, PAUSE or WITNESS, with the risk signals that decided it
// and the verifications worth making first.
//
// Matching is done on normalised text (NFKC, format characters such as
// zero-width spaces and tag characters removed, dashes unified, lower
// case) split into shell-ish commands and whole-word tokens: commands are
// recognised with their flags in any order or grouping (rm -r -f, git push
// +main, DELETE FROM without WHERE), and phrases match whole words only
// ("thread" is not "read", "abandoned" is not "done"). The stakes of the
// action change the outcome (see Check).
//
// The package is pure: it reads nothing, writes nothing and keeps no state.
// It is advice for a model or a person, not enforcement; the proxy's policy
// is what enforces.
package compass
