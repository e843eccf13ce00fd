package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/open-policy-agent/opa/v1/ast"
)

// ErrInvalidPolicy is returned when policies or data do not load or compile.
var ErrInvalidPolicy = errors.New("invalid policy")

// maxPolicyFileBytes bounds one policy or data file.
const maxPolicyFileBytes = 16 << 20

// source is one loaded file.
type source struct {
	name string // "builtin:<path>" or the file path
	data []byte
}

// bundle is everything one revision is built from.
type bundle struct {
	modules []source
	data    []source
}

// loadBundle reads the embedded library (unless replaced), the policy paths
// (directories are walked for *.rego, tests excluded) and the data files.
func loadBundle(builtin fs.FS, useBuiltin bool, paths, dataFiles []string) (*bundle, error) {
	b := &bundle{}
	var errs []error
	if useBuiltin && builtin != nil {
		err := fs.WalkDir(builtin, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			content, err := fs.ReadFile(builtin, p)
			if err != nil {
				return err
			}
			switch {
			case isPolicyFile(p):
				b.modules = append(b.modules, source{"builtin:" + p, content})
			case p == "data.json":
				b.data = append(b.data, source{"builtin:" + p, content})
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("embedded library: %w", err))
		}
	}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !isPolicyFile(p) {
				return nil
			}
			content, err := readBounded(p)
			if err != nil {
				return err
			}
			b.modules = append(b.modules, source{p, content})
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("policy path %s: %w", root, err))
		}
	}
	for _, p := range dataFiles {
		content, err := readBounded(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("data file %s: %w", p, err))
			continue
		}
		b.data = append(b.data, source{p, content})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, errors.Join(errs...))
	}
	return b, nil
}

func isPolicyFile(p string) bool {
	return strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego")
}

func readBounded(p string) ([]byte, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxPolicyFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxPolicyFileBytes)
	}
	return os.ReadFile(p)
}

// parseModules parses every module in Rego v1 with annotations processed,
// reporting every file that fails.
func (b *bundle) parseModules() (map[string]*ast.Module, error) {
	mods := make(map[string]*ast.Module, len(b.modules))
	var errs []error
	for _, s := range b.modules {
		m, err := ast.ParseModuleWithOpts(s.name, string(s.data), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		mods[s.name] = m
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, errors.Join(errs...))
	}
	return mods, nil
}

// mergedData decodes every data file (JSON or YAML) and merges them in
// order: objects merge key by key, anything else replaces.
func (b *bundle) mergedData() (map[string]any, error) {
	out := map[string]any{}
	for _, s := range b.data {
		var v any
		raw := s.data
		if strings.HasSuffix(s.name, ".yaml") || strings.HasSuffix(s.name, ".yml") {
			j, err := yaml.YAMLToJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: data file %s: %w", ErrInvalidPolicy, s.name, err)
			}
			raw = j
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: data file %s: %w", ErrInvalidPolicy, s.name, err)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: data file %s: the top level must be an object", ErrInvalidPolicy, s.name)
		}
		mergeInto(out, obj)
	}
	return out, nil
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// revision is a digest of the modules (by name and content) and the merged
// data, so equal inputs give equal revisions wherever they are loaded.
func (b *bundle) revision(data map[string]any) string {
	h := sha256.New()
	mods := append([]source(nil), b.modules...)
	sort.Slice(mods, func(i, j int) bool { return mods[i].name < mods[j].name })
	for _, m := range mods {
		fmt.Fprintf(h, "module %d %s\n%d\n", len(m.name), m.name, len(m.data))
		h.Write(m.data)
	}
	d, _ := json.Marshal(data) // map keys are sorted by encoding/json
	fmt.Fprintf(h, "data %d\n", len(d))
	h.Write(d)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
