// Package policy evaluates the Rego policy library with an embedded OPA and
// turns its answer into a Decision. It loads the embedded library, the
// operator's policy directories and data files, compiles them strictly,
// prepares the decision query once per revision and swaps revisions
// atomically on reload, keeping the last good one when a reload fails.
//
// It fails closed: an evaluation error, a built-in error, a timeout, an
// undefined or malformed decision, or an obligation type the proxy does not
// know is a deny with a reason saying so. Policies are pure (no clock,
// network or file-system built-ins); the package never logs input values.
package policy
