// Package policies embeds the Rego policy library: the *.rego files, their
// tests, the default data (data.json) and the JSON Schema of the input
// (input.schema.json). The proxy loads FS; stock
// `opa test policies/` runs the same files.
package policies

import "embed"

// FS holds the library. Test files are included so `sovereign policy test`
// can run them; the engine skips them when it loads policies.
//
//go:embed *.rego data.json input.schema.json
var FS embed.FS
