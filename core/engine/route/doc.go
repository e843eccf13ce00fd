// Package route walks a routing schema with a packet of metadata and
// returns the relative path where the packet belongs, as the original
// Coherence engine did ("the path is the model"), without its flaws: every
// value taken from the packet becomes exactly one sanitised path segment
// (so "..", "/", "\", NUL and empty values can never shape the path), a
// template is a list of {name} and {name=default} placeholders with no
// attribute access, indexing or format specs, and the result is checked to
// stay below the memory root.
//
// The package is pure: it never touches the file system. Creating the
// directories is the caller's business (the engine does it through its
// os.Root).
package route
