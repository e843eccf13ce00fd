// Package builtin serves the built-in tool engine (core/engine) as an MCP
// server in this process, for the proxy to reach as the upstream
// "sovereign" over mcp-go's in-process transport. It maps the engine's
// categorised errors to isError tool results, its progress reports to
// notifications/progress, and reads the caller (session, principal,
// client) from the _meta key the proxy sets (proxy.CallerMetaKey).
//
// It decides nothing: the proxy's gate has judged every call before it
// arrives here, exactly as for any other upstream.
package builtin
