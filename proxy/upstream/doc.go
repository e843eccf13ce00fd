// Package upstream connects Sovereign to one MCP server — a child process over
// stdio, a Streamable HTTP endpoint or a legacy SSE endpoint — and keeps that
// connection alive: it starts the server, performs the handshake, restarts it
// with backoff when it dies, and exposes raw JSON-RPC requests so that results
// and schemas pass through byte for byte.
//
// An Upstream never decides whether a request may be sent (that is the gate's
// job in package proxy) and never writes to stdout: a child's stdout is its
// JSON-RPC channel and its stderr goes to the operational log.
package upstream
