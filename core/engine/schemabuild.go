package engine

import "encoding/json"

// obj is a JSON Schema fragment written as a Go literal.
type obj = map[string]any

// objectSchema is a tool's argument schema: an object with exactly these
// properties (unknown arguments are rejected, so a misspelt one is not
// silently ignored).
func objectSchema(props obj, required ...string) json.RawMessage {
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return mustJSON(s)
}

// strProp is a string of 1 to maxLen characters.
func strProp(desc string, maxLen int) obj {
	return obj{"type": "string", "description": desc, "minLength": 1, "maxLength": maxLen}
}

// textProp is a string that may be empty, up to maxLen characters.
func textProp(desc string, maxLen int) obj {
	return obj{"type": "string", "description": desc, "maxLength": maxLen}
}

// enumProp is one of values; def, when not empty, is the default.
func enumProp(desc, def string, values ...string) obj {
	s := obj{"type": "string", "description": desc, "enum": values}
	if def != "" {
		s["default"] = def
	}
	return s
}

// intProp is an integer in [lo, hi] with a default.
func intProp(desc string, lo, hi, def int) obj {
	return obj{"type": "integer", "description": desc, "minimum": lo, "maximum": hi, "default": def}
}

// numProp is a number in [lo, hi].
func numProp(desc string, lo, hi float64) obj {
	return obj{"type": "number", "description": desc, "minimum": lo, "maximum": hi}
}

// boolProp is a boolean with a default.
func boolProp(desc string, def bool) obj {
	return obj{"type": "boolean", "description": desc, "default": def}
}

// arrProp is an array of at most maxItems items.
func arrProp(desc string, items obj, maxItems int) obj {
	return obj{"type": "array", "description": desc, "items": items, "maxItems": maxItems}
}

// patternProp is a string matching pattern (an anchored RE2/ECMA regexp).
func patternProp(desc, pattern string, maxLen int) obj {
	return obj{"type": "string", "description": desc, "pattern": pattern, "minLength": 1, "maxLength": maxLen}
}
