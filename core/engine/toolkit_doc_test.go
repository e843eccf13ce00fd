package engine

import (
	"testing"

	"github.com/sovereign-stack/sovereign/core/internal/golden"
)

// TestToolReference keeps docs/engine-tools.md equal to what the registry
// declares (go test -update rewrites it).
func TestToolReference(t *testing.T) {
	e, _ := newEngine(t)
	golden.Check(t, "../../../docs/engine-tools.md", []byte(e.Registry().Reference()))
}
