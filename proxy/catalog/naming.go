package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Separator joins a server's prefix and an upstream name.
const Separator = "__"

// MaxNameLen is the longest exposed tool or prompt name.
const MaxNameLen = 64

// hashLen is the number of hex digits of the disambiguating hash.
const hashLen = 8

var validName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ValidName reports whether name is a legal exposed name.
func ValidName(name string) bool { return validName.MatchString(name) }

// Expose returns the exposed name of an upstream item: prefix, separator and
// name, with characters outside [a-zA-Z0-9_-] replaced by '_', and shortened
// with a hash of the original when longer than MaxNameLen. An empty prefix
// means no prefix.
func Expose(prefix, name string) string {
	base := clean(name)
	if prefix != "" {
		base = clean(prefix) + Separator + base
	}
	if base == "" {
		base = "_"
	}
	if len(base) <= MaxNameLen {
		return base // a cleaned name may collide; Build resolves that
	}
	return withHash(base, prefix+"\x00"+name)
}

// disambiguate gives a colliding item a name of its own, derived from its
// server and original name, so the outcome does not depend on arrival order.
func disambiguate(exposed, server, original string) string {
	return withHash(exposed, server+"\x00"+original)
}

func withHash(base, key string) string {
	sum := sha256.Sum256([]byte(key))
	suffix := "_" + hex.EncodeToString(sum[:])[:hashLen]
	keep := MaxNameLen - len(suffix)
	if len(base) > keep {
		base = base[:keep]
	}
	return base + suffix
}

func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
