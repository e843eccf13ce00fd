// Package mcpmsg classifies MCP JSON-RPC methods, so that the gate can tell
// protocol plumbing from requests that act, and deny what it does not know.
// It holds one table; it never parses transports and never does I/O.
package mcpmsg
