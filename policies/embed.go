// Package policies embeds the Rego policy library: the *.rego files, their
// tests and the default data (data.json). The proxy loads FS; stock
// `opa test policies/` runs the same files.
package policies

import "embed"

// FS holds the library. Test files are included so `sovereign policy test`
// can run them; the engine skips them when it loads policies.
//
//go:embed *.rego data.json
var FS embed.FS
