package pathfact

import (
	"slices"
	"testing"
)

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		p, root string
		want    bool
	}{
		{"/srv/data", "/srv/data", true},
		{"/srv/data/x", "/srv/data", true},
		{"/srv/data/x/y", "/srv/data", true},
		{"/srv/data-evil", "/srv/data", false},
		{"/srv/data-evil/x", "/srv/data", false},
		{"/srv/dataa", "/srv/data", false},
		{"/srv/dat", "/srv/data", false},
		{"/srv", "/srv/data", false},
		{"/", "/srv/data", false},
		{"/x", "/", true},
		{"/", "/", true},
		{"/srv/data2/x", "/srv/data", false},
	} {
		if got := within(tc.p, tc.root); got != tc.want {
			t.Errorf("within(%q, %q) = %v, want %v", tc.p, tc.root, got, tc.want)
		}
	}
}

func TestNewRoots(t *testing.T) {
	fx := newFixture(t, nil)
	a, err := New(Options{
		Home: fx.p("$B/home"),
		Cwd:  fx.p("$B/root/proj"),
		Roots: []string{
			fx.p("$B/rootlink"),      // a link: canonicalised
			fx.p("$B/root/"),         // the same root again
			"~",                      // expanded
			fx.p("$B/root/proj"),     // nested
			fx.p("$B/not-yet/there"), // missing: kept
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fx.p("$B/root"), fx.p("$B/home"), fx.p("$B/root/proj"), fx.p("$B/not-yet/there")}
	if got := a.Roots(); !slices.Equal(got, want) {
		t.Errorf("Roots() = %q, want %q", got, want)
	}
	a.Roots()[0] = "/changed"
	if a.Roots()[0] == "/changed" {
		t.Error("Roots exposes the analyzer's slice")
	}
	for raw, root := range map[string]string{
		"file.txt":             "$B/root/proj",
		"../x":                 "$B/root",
		"~/notes":              "$B/home",
		"$B/not-yet/there/a/b": "$B/not-yet/there",
		"$B/not-yet":           "",
	} {
		f := a.Analyze("", fx.p(raw))
		wantRoot := ""
		if root != "" {
			wantRoot = fx.p(root)
		}
		if f.Root != wantRoot || f.WithinRoots != (root != "") {
			t.Errorf("%s: root %q within %v, want %q", raw, f.Root, f.WithinRoots, wantRoot)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for name, opts := range map[string]Options{
		"relative root":  {Home: "/h", Cwd: "/", Roots: []string{"rel"}},
		"nul in root":    {Home: "/h", Cwd: "/", Roots: []string{"/a\x00b"}},
		"relative home":  {Home: "h", Cwd: "/"},
		"relative cwd":   {Home: "/h", Cwd: "c"},
		"tilde user cwd": {Home: "/h", Cwd: "~u/x"},
		"bad pattern":    {Home: "/h", Cwd: "/", Sensitive: []string{"["}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNoRoots(t *testing.T) {
	a, err := New(Options{Home: "/h", Cwd: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if f := a.Analyze("", "/tmp"); f.WithinRoots {
		t.Errorf("within with no roots: %+v", f)
	}
	b, err := New(Options{Home: "/h", Cwd: "/", Roots: []string{"/"}})
	if err != nil {
		t.Fatal(err)
	}
	if f := b.Analyze("", "/tmp/x"); !f.WithinRoots || f.Root != "/" {
		t.Errorf("root / does not hold /tmp/x: %+v", f)
	}
	if f := b.Analyze("", `C:\x`); f.WithinRoots {
		t.Errorf("root / holds a Windows path: %+v", f)
	}
}
