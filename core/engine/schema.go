package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// maxArgsBytes bounds the arguments of one call (the proxy bounds messages
// too; this keeps the engine safe on its own).
const maxArgsBytes = 4 << 20

var printer = message.NewPrinter(language.English)

// compileSchema compiles a tool's argument schema. A schema must describe an
// object; "additionalProperties" should be false so that a misspelt argument
// is an error rather than silently ignored.
func compileSchema(name string, raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("tool %s: schema is not JSON: %w", name, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok || obj["type"] != "object" {
		return nil, fmt.Errorf("tool %s: schema must be an object schema", name)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "sovereign:tool/" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("tool %s: %w", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("tool %s: schema: %w", name, err)
	}
	return s, nil
}

// validateArgs checks raw arguments against a compiled schema and returns
// a validation *Error naming the offending fields. Absent arguments are an
// empty object.
func validateArgs(s *jsonschema.Schema, raw json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		raw = json.RawMessage("{}")
	}
	if len(raw) > maxArgsBytes {
		return nil, &Error{Category: CategoryLimit, Msg: fmt.Sprintf("arguments are larger than %d bytes", maxArgsBytes)}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, &Error{Category: CategoryValidation, Msg: "arguments are not valid JSON", Err: err}
	}
	if _, ok := inst.(map[string]any); !ok {
		return nil, &Error{Category: CategoryValidation, Msg: "arguments must be a JSON object"}
	}
	err = s.Validate(inst)
	if err == nil {
		return raw, nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return nil, &Error{Category: CategoryValidation, Msg: "arguments rejected", Err: err}
	}
	leaves := map[string][]string{}
	collectLeaves(ve, leaves)
	ptrs := make([]string, 0, len(leaves))
	for p := range leaves {
		ptrs = append(ptrs, p)
	}
	sort.Strings(ptrs)
	parts := make([]string, 0, len(ptrs))
	for _, p := range ptrs {
		parts = append(parts, p+": "+strings.Join(leaves[p], "; "))
	}
	if len(ptrs) == 1 {
		return nil, &Error{Category: CategoryValidation, Field: ptrs[0], Msg: strings.Join(leaves[ptrs[0]], "; ")}
	}
	field := ""
	if len(ptrs) > 0 {
		field = ptrs[0]
	}
	return nil, &Error{Category: CategoryValidation, Field: field, Msg: strings.Join(parts, ", ")}
}

// collectLeaves gathers the innermost failures by instance location (a JSON
// pointer; "/" for the arguments object itself).
func collectLeaves(e *jsonschema.ValidationError, out map[string][]string) {
	if len(e.Causes) == 0 {
		p := "/"
		if len(e.InstanceLocation) > 0 {
			esc := make([]string, len(e.InstanceLocation))
			for i, s := range e.InstanceLocation {
				esc[i] = strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
			}
			p = "/" + strings.Join(esc, "/")
		}
		msg := e.ErrorKind.LocalizedString(printer)
		for _, m := range out[p] {
			if m == msg {
				return
			}
		}
		out[p] = append(out[p], msg)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, out)
	}
}
