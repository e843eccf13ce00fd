// Package textfact computes facts about the string arguments of an MCP tool
// call, so that the Rego injection patterns (SQL and shell command
// injection, prompt injection, secrets, SSRF) match what the tool will really
// see rather than an obfuscated form of it.
//
// What it owns: walking the decoded JSON arguments (RFC 6901 pointers, the
// argument name each string sits under, the kind of argument: command, sql,
// url or text, from its name or bound per tool by a ToolArgs); normalising each string (NFKC, invisible and bidi characters
// and control characters removed, whitespace collapsed); decoding the usual
// disguises into variants (percent-encoding, base64, HTML entities, \u and \x
// escapes, Unicode tag characters, Cyrillic and Greek look-alikes); neutral
// signals describing what was found; and a parse of URLs that reads every
// IPv4 and IPv6 notation a resolver or browser accepts and classifies the
// address (loopback, private, link-local, cloud metadata, unspecified).
//
// What it never does: decide. It calls nothing "malicious"; the policies do.
// It never logs or prints values, never resolves host names or touches the
// network or the file system, keeps no mutable global state, and never
// panics. Its work is bounded for any input: each string is examined up to
// Options.MaxLen bytes, and once a call has examined 64 × MaxLen bytes only
// the first 4 KiB of each further string; at most Options.MaxStrings strings
// are examined per call; nesting deeper than 64 levels is not followed and at
// most a million JSON values are visited; each string has at most 8 variants
// from at most 3 rounds of decoding, the variants of one call keep at most
// 16 × MaxLen bytes and its decoders read at most 32 × MaxLen bytes.
// Whatever a bound cuts off is reported (Fact.Truncated, the signals
// "truncated" and "variants_capped", Result.Omitted and Result.Incomplete),
// so that a policy can fail closed on what was not examined.
//
// For policy authors: match patterns against Normalized and every entry of
// Variants, case-insensitively ((?i): case is kept); a line break survives
// normalisation as "\n" (a command separator for a shell), other runs of
// whitespace become one space. Signals are observations, not verdicts:
// markdown may hold an HTML comment, a note may quote base64. Only the
// arguments' string values are facts: object keys, numbers and booleans are
// not. Host names are never resolved, and URLs inside longer text (a curl
// command line) are not parsed: only a string that is a URL gets Fact.URL.
package textfact
