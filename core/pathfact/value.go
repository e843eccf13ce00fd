package pathfact

// Value is f as the policy input holds it: the same keys and values as its
// JSON encoding, built without a JSON round trip (the policy engine converts
// maps directly, and encoding/decoding every fact of every call costs more
// than the decision).
func (f Fact) Value() map[string]any {
	m := map[string]any{
		"pointer":      f.Pointer,
		"raw":          f.Raw,
		"canonical":    f.Canonical,
		"within_roots": f.WithinRoots,
		"traversal":    f.Traversal,
		"encoded":      f.Encoded,
		"nul":          f.NUL,
		"lookalike":    f.Lookalike,
		"windows_form": f.WindowsForm,
		"uri":          f.URI,
		"sensitive":    f.Sensitive,
		"is_symlink":   f.IsSymlink,
		"exists":       f.Exists,
		"writable":     f.Writable,
	}
	if f.Root != "" {
		m["root"] = f.Root
	}
	if f.SensitiveReason != "" {
		m["sensitive_reason"] = f.SensitiveReason
	}
	if f.Error != "" {
		m["error"] = f.Error
	}
	return m
}

// Values converts facts with Value.
func Values(facts []Fact) []any {
	out := make([]any, len(facts))
	for i, f := range facts {
		out[i] = f.Value()
	}
	return out
}
