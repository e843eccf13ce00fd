package config

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// This file turns goccy/go-yaml's syntax tree into a small tree of plain
// values with positions, resolving anchors, aliases, merge keys ("<<") and
// standard tags, so that decode.go can walk it against the schema and report
// every problem instead of stopping at the first.

// kind is the type of a node.
type kind int

const (
	kindBad    kind = iota // already reported; decoders skip it silently
	kindNull               // null, ~, or nothing
	kindString             // a string scalar
	kindInt                // an integer scalar
	kindFloat              // a floating-point scalar, including .inf and .nan
	kindBool               // true or false
	kindMap                // a mapping
	kindSeq                // a sequence
)

// describe names a kind for messages such as "must be a string, got a
// sequence".
func (k kind) describe() string {
	switch k {
	case kindNull:
		return "null"
	case kindString:
		return "a string"
	case kindInt:
		return "an integer"
	case kindFloat:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindMap:
		return "a mapping"
	case kindSeq:
		return "a sequence"
	default:
		return "an invalid value"
	}
}

// node is a value in the document.
type node struct {
	kind kind
	at   pos
	// text is a scalar's value: the decoded string for strings, the source
	// text for other scalars (so "0x1F" stays "0x1F").
	text string
	// num is an integer's value (int64 or uint64) or a boolean's (bool).
	num any
	// entries are a mapping's entries, in document order.
	entries []entry
	// items are a sequence's items.
	items []*node
}

// isScalar reports whether n is a string, number or boolean.
func (n *node) isScalar() bool {
	switch n.kind {
	case kindString, kindInt, kindFloat, kindBool:
		return true
	}
	return false
}

// entry is one key and value of a mapping.
type entry struct {
	key   string
	keyAt pos
	value *node
}

// maxDepth bounds nesting; real configuration files nest about five deep.
const maxDepth = 100

// converter turns one document's syntax tree into nodes.
type converter struct {
	probs   *problems
	anchors map[string]*node
	depth   int
}

// posOf returns the position of an AST node, or the zero pos.
func posOf(n ast.Node) pos {
	if n == nil {
		return pos{}
	}
	if _, ok := n.(*ast.DocumentNode); ok {
		// DocumentNode.GetToken panics when the document has no "---".
		return pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// convert converts n, found at path, and everything under it.
func (c *converter) convert(n ast.Node, path string) *node {
	if n == nil {
		return &node{kind: kindNull}
	}
	at := posOf(n)
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		c.probs.add(path, at, "values are nested more than %d deep", maxDepth)
		return &node{kind: kindBad, at: at}
	}
	switch v := n.(type) {
	case *ast.NullNode:
		return &node{kind: kindNull, at: at}
	case *ast.StringNode:
		return &node{kind: kindString, at: at, text: v.Value}
	case *ast.LiteralNode:
		if v.Value == nil {
			return &node{kind: kindString, at: at}
		}
		return &node{kind: kindString, at: at, text: v.Value.Value}
	case *ast.IntegerNode:
		return &node{kind: kindInt, at: at, text: tokenText(v), num: v.Value}
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return &node{kind: kindFloat, at: at, text: tokenText(v)}
	case *ast.BoolNode:
		return &node{kind: kindBool, at: at, text: tokenText(v), num: v.Value}
	case *ast.MappingNode:
		return c.mapping(at, path, v.Values)
	case *ast.MappingValueNode:
		return c.mapping(at, path, []*ast.MappingValueNode{v})
	case *ast.SequenceNode:
		out := &node{kind: kindSeq, at: at, items: make([]*node, 0, len(v.Values))}
		for i, item := range v.Values {
			out.items = append(out.items, c.convert(item, indexPath(path, i)))
		}
		return out
	case *ast.AnchorNode:
		value := c.convert(v.Value, path)
		c.anchors[tokenText(v.Name)] = value
		return value
	case *ast.AliasNode:
		name := tokenText(v.Value)
		value, ok := c.anchors[name]
		if !ok {
			c.probs.add(path, at, "alias *%s refers to no anchor &%s before it", name, name)
			return &node{kind: kindBad, at: at}
		}
		return value
	case *ast.TagNode:
		return c.tagged(v, at, path)
	case *ast.MappingKeyNode:
		return c.convert(v.Value, path)
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &node{kind: kindNull, at: at}
	default:
		c.probs.add(path, at, "unsupported YAML construct (%s)", n.Type())
		return &node{kind: kindBad, at: at}
	}
}

// tokenText is the source text of a node's token.
func tokenText(n ast.Node) string {
	if n == nil {
		return ""
	}
	tk := n.GetToken()
	if tk == nil {
		return ""
	}
	return tk.Value
}

// tagged applies a tag. Only the standard tags are accepted; "!!str" turns
// any scalar into a string, the others must agree with the value.
func (c *converter) tagged(v *ast.TagNode, at pos, path string) *node {
	tag := tokenText(v)
	value := c.convert(v.Value, path)
	if value.kind == kindBad {
		return value
	}
	switch tag = standardTag(tag); tag {
	case "!!str":
		if value.isScalar() {
			return &node{kind: kindString, at: value.at, text: value.text}
		}
		if value.kind == kindNull {
			return &node{kind: kindString, at: value.at}
		}
	case "!!int":
		if value.kind == kindInt {
			return value
		}
	case "!!float":
		if value.kind == kindFloat || value.kind == kindInt {
			return &node{kind: kindFloat, at: value.at, text: value.text}
		}
	case "!!bool":
		if value.kind == kindBool {
			return value
		}
	case "!!null":
		if value.kind == kindNull {
			return value
		}
	case "!!map":
		if value.kind == kindMap {
			return value
		}
	case "!!seq":
		if value.kind == kindSeq {
			return value
		}
	default:
		c.probs.add(path, at, "unsupported YAML tag %s", tag)
		return &node{kind: kindBad, at: at}
	}
	c.probs.add(path, at, "YAML tag %s does not fit %s", tag, value.kind.describe())
	return &node{kind: kindBad, at: at}
}

// standardTag writes the long forms of the YAML core tags in the "!!" form.
func standardTag(tag string) string {
	const long = "tag:yaml.org,2002:"
	if rest, ok := strings.CutPrefix(tag, "!<"+long); ok {
		return "!!" + strings.TrimSuffix(rest, ">")
	}
	if rest, ok := strings.CutPrefix(tag, long); ok {
		return "!!" + rest
	}
	return tag
}

// mapping converts the entries of a mapping, applying merge keys: entries
// written in the mapping win over merged ones, and among merged mappings the
// first listed wins.
func (c *converter) mapping(at pos, path string, values []*ast.MappingValueNode) *node {
	out := &node{kind: kindMap, at: at, entries: make([]entry, 0, len(values))}
	seen := make(map[string]pos, len(values))
	var merged []*node
	for _, mv := range values {
		if mv == nil {
			continue
		}
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, c.mergeSources(c.convert(mv.Value, path), path)...)
			continue
		}
		keyNode := ast.Node(mv.Key)
		k := c.convert(keyNode, path)
		keyAt := posOf(keyNode)
		if k.kind == kindBad {
			continue
		}
		if !k.isScalar() {
			c.probs.add(path, keyAt, "a mapping key must be a string, not %s", k.kind.describe())
			continue
		}
		if first, dup := seen[k.text]; dup {
			c.probs.add(path, keyAt, "key %q is already defined at line %d", k.text, first.line)
			continue
		}
		seen[k.text] = keyAt
		out.entries = append(out.entries, entry{key: k.text, keyAt: keyAt, value: c.convert(mv.Value, keyPath(path, k.text))})
	}
	for _, m := range merged {
		for _, e := range m.entries {
			if _, dup := seen[e.key]; dup {
				continue
			}
			seen[e.key] = e.keyAt
			out.entries = append(out.entries, e)
		}
	}
	return out
}

// mergeSources returns the mappings a merge key's value names: one mapping,
// or a sequence of mappings.
func (c *converter) mergeSources(v *node, path string) []*node {
	switch v.kind {
	case kindBad:
		return nil
	case kindMap:
		return []*node{v}
	case kindSeq:
		out := make([]*node, 0, len(v.items))
		for _, item := range v.items {
			switch item.kind {
			case kindBad:
			case kindMap:
				out = append(out, item)
			default:
				c.probs.add(path, item.at, "a merge key (<<) takes mappings, not %s", item.kind.describe())
			}
		}
		return out
	default:
		c.probs.add(path, v.at, "a merge key (<<) takes a mapping or a sequence of mappings, not %s", v.kind.describe())
		return nil
	}
}
