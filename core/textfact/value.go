package textfact

// Value is f as the policy input holds it: the same keys and values as its
// JSON encoding, built without a JSON round trip.
func (f Fact) Value() map[string]any {
	m := map[string]any{
		"pointer":    f.Pointer,
		"name":       f.Name,
		"len":        f.Len,
		"truncated":  f.Truncated,
		"kind":       f.Kind,
		"normalized": f.Normalized,
	}
	if len(f.Variants) > 0 {
		m["variants"] = f.Variants
	}
	if len(f.Signals) > 0 {
		m["signals"] = f.Signals
	}
	if f.URL != nil {
		m["url"] = f.URL.Value()
	}
	return m
}

// Value is u as the policy input holds it (see Fact.Value).
func (u URLFact) Value() map[string]any {
	m := map[string]any{
		"scheme":      u.Scheme,
		"host":        u.Host,
		"loopback":    u.Loopback,
		"private":     u.Private,
		"link_local":  u.LinkLocal,
		"metadata":    u.Metadata,
		"unspecified": u.Unspecified,
		"userinfo":    u.UserInfo,
	}
	if u.Port != "" {
		m["port"] = u.Port
	}
	if u.IP != "" {
		m["ip"] = u.IP
	}
	if u.Error != "" {
		m["error"] = u.Error
	}
	return m
}

// Values converts the result's string facts with Value.
func (r Result) Values() []any {
	out := make([]any, len(r.Strings))
	for i, f := range r.Strings {
		out[i] = f.Value()
	}
	return out
}
