// Package config owns Sovereign's configuration file: its Go types, their
// defaults, decoding a file (YAML, or JSON, which is read as YAML), and
// checking that the result is usable.
//
// The file lists the upstream MCP servers Sovereign proxies, in the shape of
// Claude Desktop's "mcpServers" map plus a few keys of Sovereign's own. See
// Config and Server for every key, its default and its rules.
//
// What the package guarantees: a Config returned by Load or Parse without an
// error has every default filled in, data_dir made absolute, ${env:...} and
// ${file:...} references resolved, every server's transport set to one of
// TransportStdio, TransportStreamableHTTP or TransportSSE, and it passes
// Validate. When a file is wrong, every problem found is reported at once,
// each as a *Problem naming the key path (and the line and column when the
// problem comes from a file), joined with errors.Join.
//
// A loaded Config holds the resolved secrets: callers must not log or print
// it whole.
//
// What the package must never do: log or print (it returns errors and leaves
// reporting to its caller), keep mutable global state, start processes or open
// network connections, write files, or read any file other than the
// configuration file handed to Load and the files named by ${file:...}
// references. Resolved secrets must never appear in an error message.
package config
