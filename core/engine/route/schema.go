package route

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Bounds of a schema.
const (
	MaxDepth       = 16   // nested levels
	MaxEntries     = 2000 // keys and branches in all
	MaxTemplateLen = 512
	MaxKeyLen      = 128
)

// ErrSchema: the routing schema is malformed or too large.
var ErrSchema = errors.New("invalid routing schema")

// Schema is a routing schema: at each level, keys in the order written;
// each key's branches in the order written; a branch leads to another
// level or to a leaf template. Keys starting with '_' are skipped.
type Schema struct {
	root *node
}

type node struct {
	keys []key
}

type key struct {
	name     string
	branches []branch
}

type branch struct {
	name     string
	next     *node  // another level, or nil
	template string // the leaf, when next is nil
}

// Parse reads a schema from JSON, keeping the order of keys.
func Parse(raw json.RawMessage) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	count := 0
	n, err := parseNode(dec, 0, &count)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the schema", ErrSchema)
	}
	return &Schema{root: n}, nil
}

// parseNode reads one level: an object of key → object of branches.
func parseNode(dec *json.Decoder, depth int, count *int) (*node, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: deeper than %d levels", ErrSchema, MaxDepth)
	}
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	n := &node{}
	for dec.More() {
		name, err := objectKey(dec, count)
		if err != nil {
			return nil, err
		}
		if len(name) > 0 && name[0] == '_' {
			// Meta keys are skipped, whatever they hold.
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSchema, err)
			}
			continue
		}
		k := key{name: name}
		if err := expectDelim(dec, '{'); err != nil {
			return nil, fmt.Errorf("%w: key %q must map to an object of branches", ErrSchema, name)
		}
		for dec.More() {
			bname, err := objectKey(dec, count)
			if err != nil {
				return nil, err
			}
			b := branch{name: bname}
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSchema, err)
			}
			val = bytes.TrimSpace(val)
			switch {
			case len(val) > 0 && val[0] == '{':
				sub := json.NewDecoder(bytes.NewReader(val))
				sub.UseNumber()
				if b.next, err = parseNode(sub, depth+1, count); err != nil {
					return nil, err
				}
			case len(val) > 0 && val[0] == '"':
				if err := json.Unmarshal(val, &b.template); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrSchema, err)
				}
				if len(b.template) > MaxTemplateLen {
					return nil, fmt.Errorf("%w: the template of %s=%s is longer than %d characters", ErrSchema, name, bname, MaxTemplateLen)
				}
				if _, err := parseTemplate(b.template); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("%w: branch %s=%s must be an object (another level) or a string (a template)", ErrSchema, name, bname)
			}
			k.branches = append(k.branches, b)
		}
		if err := expectDelim(dec, '}'); err != nil {
			return nil, err
		}
		n.keys = append(n.keys, k)
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return n, nil
}

func objectKey(dec *json.Decoder, count *int) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSchema, err)
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: expected a key", ErrSchema)
	}
	if *count++; *count > MaxEntries {
		return "", fmt.Errorf("%w: more than %d keys and branches", ErrSchema, MaxEntries)
	}
	if len(s) == 0 || len(s) > MaxKeyLen {
		return "", fmt.Errorf("%w: a key must have 1 to %d characters", ErrSchema, MaxKeyLen)
	}
	return s, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSchema, err)
	}
	if tok != d {
		return fmt.Errorf("%w: expected %q", ErrSchema, string(d))
	}
	return nil
}

// DefaultJSON is the original project's AGENT_MEMORY_SCHEMA.
const DefaultJSON = `{
  "outcome": {
    "success": "{tool_family}/{episode_group}/{step}.json",
    "partial": "{tool_family}/{episode_group}/{step}.json",
    "failure": "{error_type=unknown}/{episode_group}/{step}.json",
    "needs_input": "{episode_group}/{step}.json"
  },
  "tool_family": {
    "search|web_search|info_gather": "{episode_group}/{step}.json",
    "math|python|compute": "{episode_group}/{step}.json",
    "memory|recall|compress": "{operation=general}/{episode_group}/{step}.json",
    "other": "{tool_name=misc}/{episode_group}/{step}.json"
  },
  "confidence": {">=0.90": "/high_conf", "0.75-0.89": "/medium_conf", "<0.75": "/low_conf"},
  "_intake": "intake/unsorted/{episode=unknown}/{step=unknown}.json"
}`

// Default returns the default schema.
func Default() *Schema {
	s, err := Parse(json.RawMessage(DefaultJSON))
	if err != nil {
		panic(err)
	}
	return s
}
