package textfact

import (
	"testing"

	"github.com/sovereign-stack/sovereign/core/internal/fill"
)

// TestValueMatchesJSON: Value holds exactly what the JSON encoding holds,
// for a fact with every field set (a field added to Fact without Value
// fails here) and for an empty one.
func TestValueMatchesJSON(t *testing.T) {
	var full Fact
	fill.All(&full)
	fill.SameJSON(t, full, full.Value())
	fill.SameJSON(t, Fact{}, Fact{}.Value())
}
