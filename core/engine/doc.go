// Package engine is Sovereign's built-in tool engine: chronicle memory
// (insights, learnings, an archive of verbatim exchanges), open threads and
// handoffs, routing, governance and per-session spiral and reflection state.
// The proxy serves it in process as the upstream named "sovereign" and gates
// its calls like any other upstream's: the engine trusts no caller, and the
// proxy does not trust the engine.
//
// Every tool is declared in a Registry with an enforced JSON Schema, MCP
// annotations and an effect class (read, append, mutate). Its state lives in
// one SQLite database (WAL) under the data root; every file it touches stays
// inside that root. Errors are *Error values with a Category; the MCP
// binding (package proxy/builtin) turns them into isError results.
//
// The engine never opens a socket, never runs a command and never calls a
// model API; it never imports package proxy.
package engine
