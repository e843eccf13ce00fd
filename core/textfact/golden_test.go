package textfact

import (
	"bytes"
	"encoding/json"
	"github.com/sovereign-stack/sovereign/core/internal/golden"
	"os"
	"path/filepath"
	"testing"
)

// TestGolden analyses a representative call and compares the facts, as the
// policies receive them, with testdata/call.golden.json.
func TestGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "call.json"))
	if err != nil {
		t.Fatal(err)
	}
	var args any
	if err := json.Unmarshal(data, &args); err != nil {
		t.Fatal(err)
	}
	a := New(Options{CommandArgs: []string{"pipeline"}})
	var got bytes.Buffer
	enc := json.NewEncoder(&got)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(a.Analyze(args)); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "call.golden.json", got.Bytes())
}
