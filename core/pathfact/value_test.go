package pathfact

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sovereign-stack/sovereign/core/internal/fill"
)

// TestValueMatchesJSON: Value holds exactly what the JSON encoding holds,
// for a fact with every field set (a field added to Fact without Value
// fails here) and for an empty one.
func TestValueMatchesJSON(t *testing.T) {
	var full Fact
	fill.All(&full)
	for name, f := range map[string]Fact{"full": full, "empty": {}} {
		t.Run(name, func(t *testing.T) {
			want, got := decoded(t, f), decoded(t, f.Value())
			if !reflect.DeepEqual(want, got) {
				t.Errorf("Value() = %v\nJSON    = %v", got, want)
			}
		})
	}
}

func decoded(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
