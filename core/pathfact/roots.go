package pathfact

import (
	"fmt"
	"strings"
)

// canonicalRoots expands, checks and canonicalises the configured roots:
// each must be absolute after "~" expansion; its symbolic links are
// resolved (a root that does not exist yet keeps its missing tail). The
// order is kept and duplicates are dropped.
func canonicalRoots(roots []string, home string) ([]string, error) {
	out := make([]string, 0, len(roots))
	seen := make(map[string]struct{}, len(roots))
	for i, root := range roots {
		p, err := absConfigPath(root, home)
		if err != nil {
			return nil, fmt.Errorf("pathfact: root %d: %w", i, err)
		}
		r, err := resolve(p)
		if err != nil {
			return nil, fmt.Errorf("pathfact: root %d %q: %w", i, p, err)
		}
		if _, dup := seen[r.path]; dup {
			continue
		}
		seen[r.path] = struct{}{}
		out = append(out, r.path)
	}
	return out, nil
}

// within reports whether the clean absolute path p is root or inside it,
// comparing whole components: /srv/data-evil is not inside /srv/data.
func within(p, root string) bool {
	if root == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == root || (len(p) > len(root) && p[len(root)] == '/' && p[:len(root)] == root)
}

// rootOf returns the most specific root p is in, or "".
func (a *Analyzer) rootOf(p string) string {
	best := ""
	for _, r := range a.roots {
		if len(r) > len(best) && within(p, r) {
			best = r
		}
	}
	return best
}
