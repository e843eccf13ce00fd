// Package proxy is the MCP-facing half of Sovereign: it serves clients over
// stdio, Streamable HTTP and legacy SSE with mcp-go, aggregates the upstream
// servers into one catalog, passes every client request through the gate,
// and forwards what the gate allows to the right upstream, relaying progress,
// cancellation, logging, list changes, subscriptions, sampling and
// elicitation both ways.
//
// This is the only package that maps errors to MCP results. It never writes
// to stdout except through the stdio front's MCP channel, and it never logs
// argument or result values.
package proxy
