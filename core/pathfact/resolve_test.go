package pathfact

import (
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	fx := newFixture(t, nil)
	for _, tc := range []struct {
		in, want        string
		exists, symlink bool
	}{
		{"/", "/", true, false},
		{"$B/root/proj/file.txt", "$B/root/proj/file.txt", true, false},
		{"$B/root/rel-in/sub", "$B/root/proj/sub", true, true},
		{"$B/rootlink/rel-out/secret.txt", "$B/outside/secret.txt", true, true},
		{"$B/root/proj/key-link", "$B/home/.ssh/id_rsa", true, true},
		{"$B/root/missing/x/y", "$B/root/missing/x/y", false, false},
		{"$B/root/proj/file.txt/x", "$B/root/proj/file.txt/x", false, false},
		{"$B/root/dangling", "$B/outside/nothing/x", false, true},
		// Physical "..": from the link's target, as the kernel walks.
		{"$B/root/deep/../x", "$B/outside/a/x", false, true},
		{"$B/root/deep/..", "$B/outside/a", true, true},
		{"$B/root/deep/../../../root/proj", "$B/root/proj", true, true},
		{"$B/root/missing/../proj/file.txt", "$B/root/proj/file.txt", true, false},
		{"$B/root/missing/../rel-in", "$B/root/proj", true, true},
		{"/..", "/", true, false},
	} {
		r, err := resolve(fx.p(tc.in))
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if r.path != fx.p(tc.want) || r.exists != tc.exists || r.symlink != tc.symlink {
			t.Errorf("%s: %q exists %v symlink %v, want %q %v %v", tc.in, r.path, r.exists, r.symlink, fx.p(tc.want), tc.exists, tc.symlink)
		}
		// Where the path exists and is clean, the standard library agrees.
		if clean := fx.p(tc.in); r.exists && filepath.Clean(clean) == clean {
			if std, err := filepath.EvalSymlinks(clean); err != nil || std != r.path {
				t.Errorf("%s: EvalSymlinks says %q (%v), resolve %q", tc.in, std, err, r.path)
			}
		}
	}
	if _, err := resolve(fx.p("$B/root/loop1/x")); err != ErrTooManyLinks {
		t.Errorf("loop: %v", err)
	}
}
