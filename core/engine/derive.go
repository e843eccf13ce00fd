package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// maxDerivePaths bounds derive's input; deriveProgressEvery is how often
// it reports progress.
const (
	maxDerivePaths      = 10000
	deriveProgressEvery = 1000
)

// derivedKey is one discovered key.
type derivedKey struct {
	Level   int      `json:"level"`
	Values  []string `json:"values"`
	Pattern string   `json:"pattern"`
}

// derivedSchema is derive's result, in the original's shape.
type derivedSchema struct {
	Derived   bool                  `json:"_derived"`
	Structure map[string]derivedKey `json:"_structure"`
	Stats     struct {
		PathCount  int `json:"path_count"`
		UniqueKeys int `json:"unique_keys"`
	} `json:"_stats"`
}

func (e *Engine) derive(ctx context.Context, c *Call) (*Result, error) {
	var in struct {
		Paths        []string `json:"paths"`
		MinFrequency *float64 `json:"min_frequency"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	minFreq := 0.1
	if in.MinFrequency != nil {
		minFreq = *in.MinFrequency
	}
	out, err := deriveSchema(ctx, in.Paths, minFreq, c.progress)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d paths, %d keys at frequency >= %g", out.Stats.PathCount, out.Stats.UniqueKeys, minFreq)
	keys := make([]string, 0, len(out.Structure))
	for k := range out.Structure {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := out.Structure[keys[i]], out.Structure[keys[j]]
		return a.Level < b.Level || (a.Level == b.Level && keys[i] < keys[j])
	})
	for _, k := range keys {
		d := out.Structure[k]
		fmt.Fprintf(&b, "\n- level %d: %s (%d values: %s)", d.Level, d.Pattern, len(d.Values), deriveClip(strings.Join(d.Values, ", "), 200))
	}
	return &Result{Text: b.String(), Data: out}, nil
}

// deriveSchema is Coherence.derive: each path's parts (a leading "/" is a
// part of its own, as Python's Path.parts has it; empty and "." parts are
// dropped) are counted per level as (key, value) for key=value parts; a
// key whose (key, value) reaches minFreq of the paths is kept, at the
// first level where it does, with every value that reaches it.
func deriveSchema(ctx context.Context, paths []string, minFreq float64, progress func(done, total float64, msg string)) (derivedSchema, error) {
	type kv struct {
		level      int
		key, value string
	}
	counts := map[kv]int{}
	for i, p := range paths {
		if i%deriveProgressEvery == 0 {
			if err := ctx.Err(); err != nil {
				return derivedSchema{}, AsError(err)
			}
			if i > 0 {
				progress(float64(i), float64(len(paths)), "counting path segments")
			}
		}
		level := 0
		if strings.HasPrefix(p, "/") {
			level = 1 // "/" is level 0
		}
		for _, part := range strings.Split(p, "/") {
			if part == "" || part == "." {
				continue
			}
			if k, v, ok := strings.Cut(part, "="); ok && k != "" {
				counts[kv{level, k, v}]++
			}
			level++
		}
	}
	out := derivedSchema{Derived: true, Structure: map[string]derivedKey{}}
	out.Stats.PathCount = len(paths)
	if len(paths) == 0 {
		return out, nil
	}
	entries := make([]kv, 0, len(counts))
	for k, n := range counts {
		if float64(n)/float64(len(paths)) >= minFreq {
			entries = append(entries, k)
		}
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.level != b.level {
			return a.level < b.level
		}
		if a.key != b.key {
			return a.key < b.key
		}
		return a.value < b.value
	})
	const maxValues = 500
	for _, en := range entries {
		d, ok := out.Structure[en.key]
		if !ok {
			d = derivedKey{Level: en.level, Values: []string{}, Pattern: en.key + "={value}"}
		}
		if len(d.Values) < maxValues && !deriveHas(d.Values, en.value) {
			d.Values = append(d.Values, en.value)
		}
		out.Structure[en.key] = d
	}
	for k, d := range out.Structure {
		sort.Strings(d.Values)
		out.Structure[k] = d
	}
	out.Stats.UniqueKeys = len(out.Structure)
	progress(float64(len(paths)), float64(len(paths)), "done")
	return out, nil
}

func deriveHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// deriveClip shortens s to at most n runes, with an ellipsis.
func deriveClip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
