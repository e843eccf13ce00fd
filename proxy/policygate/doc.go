// Package policygate is the gate that decides with the Rego policy engine.
// For each request it builds the policy input (who, what, where, the raw
// arguments and the facts Go computes about them: canonical paths,
// normalised strings, URL classes; a tool's effect class comes from its
// annotations unless the configuration sets one), asks the engine, and
// enforces the obligations it returns (rate limits, approval). Unknown
// methods are denied before Rego runs; protocol plumbing is allowed without
// it.
//
// It fails closed: anything it cannot build, parse or enforce is a deny. It
// never logs argument values.
package policygate
