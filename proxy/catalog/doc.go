// Package catalog merges the tools, prompts, resources and resource templates
// of every upstream into the one namespace a client sees, and routes an
// exposed name back to its upstream and original name.
//
// Exposed tool and prompt names are `<prefix>__<name>` and always match
// ^[a-zA-Z0-9_-]{1,64}$; a name that does not fit is cleaned and shortened
// with a hash of the original. Collisions are resolved deterministically
// (servers in name order, the first keeps the plain name) and reported, never
// fatal. Items are kept as the raw JSON the upstream sent, so schemas,
// annotations and _meta pass through unchanged. The package is pure: no I/O.
package catalog
