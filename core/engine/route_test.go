package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRouteSchemaRejections(t *testing.T) {
	e, _ := newEngine(t)
	for _, tc := range []struct {
		name, args, field string
		cat               Category
	}{
		{"no packet", `{}`, "packet", CategoryValidation},
		{"packet not an object", `{"packet":"x"}`, "/packet", CategoryValidation},
		{"dry_run not a boolean", `{"packet":{},"dry_run":"no"}`, "/dry_run", CategoryValidation},
		{"unknown argument", `{"packet":{},"root":"/etc"}`, "root", CategoryValidation},
		{"attribute access refused", `{"packet":{"k":"v","a":{"b":1}},"schema":{"k":{"v":"{a.b}.json"}}}`, "/schema", CategoryValidation},
		{"indexing refused", `{"packet":{"k":"v"},"schema":{"k":{"v":"{a[0]}"}}}`, "/schema", CategoryValidation},
		{"object value refused", `{"packet":{"outcome":"success","tool_family":{"x":1},"episode_group":"a","step":1}}`, "/packet", CategoryValidation},
		{"template text leaving the root", `{"packet":{"k":"v","n":"x"},"schema":{"k":{"v":"../../../{n}"}}}`, "/schema", CategoryPermission},
		{"value that leaves no segment", `{"packet":{"outcome":"success","tool_family":"../..","episode_group":"a","step":1}}`, "/packet", CategoryValidation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "route", tc.args)
			wantError(t, err, tc.cat, tc.field)
		})
	}
}

func TestRouteHappyPathIsRelative(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "route", `{"packet":{"outcome":"success","tool_family":"search","episode_group":"10-19","step":5}}`)
	var got routeResult
	dataOf(t, res, &got)
	if got.Route != "memory/outcome=success/search/10-19/5.json" || !got.DryRun || got.Outcome != "routed" {
		t.Fatalf("route = %+v", got)
	}
	if strings.Contains(res.Text, e.opts.DataDir) || !strings.Contains(res.Text, "Routed to: memory/") {
		t.Fatalf("text %q shows the data root or lacks the route", res.Text)
	}
	if _, err := os.Stat(filepath.Join(e.opts.DataDir, "memory")); !os.IsNotExist(err) {
		t.Fatalf("a dry run created memory/: %v", err)
	}
	// Missing metadata and no match go to intake, inside memory/.
	res = mustCall(t, e, alice, "route", `{"packet":{"id":"ep-1"}}`)
	dataOf(t, res, &got)
	if !strings.HasPrefix(got.Route, "memory/_intake/missing_metadata/ep-1_") || got.Missing != "outcome" {
		t.Fatalf("missing metadata: %+v", got)
	}
}

// B1: the original routed tool_family "../../../../etc" out of its root and
// created directories there with dry_run=false.
func TestRouteTraversalStaysInsideMemory(t *testing.T) {
	e, _ := newEngine(t)
	res := mustCall(t, e, alice, "route", `{"dry_run":false,"packet":{"outcome":"success","tool_family":"../../../../etc","episode_group":"x/../../y","step":"../passwd"}}`)
	var got routeResult
	dataOf(t, res, &got)
	if got.Route != "memory/outcome=success/etc/x-..-..-y/passwd.json" {
		t.Fatalf("route = %q", got.Route)
	}
	for _, seg := range strings.Split(got.Route, "/") {
		if seg == ".." || seg == "." || seg == "" {
			t.Fatalf("route %q has segment %q", got.Route, seg)
		}
	}
	// What was created is inside memory/, and nothing appeared beside the
	// data root.
	for _, c := range got.Created {
		if !strings.HasPrefix(c, "memory/") && c != "memory" {
			t.Fatalf("created %q outside memory/", c)
		}
		if fi, err := os.Stat(filepath.Join(e.opts.DataDir, c)); err != nil || !fi.IsDir() {
			t.Fatalf("created %q is not there: %v", c, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.opts.DataDir, filepath.Dir(got.Route))); err != nil {
		t.Fatalf("the route's directory was not created: %v", err)
	}
	parent := filepath.Dir(e.opts.DataDir)
	entries, _ := os.ReadDir(parent)
	for _, en := range entries {
		if en.Name() == "etc" {
			t.Fatalf("a directory etc appeared beside the data root")
		}
	}
}

// A symlink planted inside memory/ cannot lead the directories outside.
func TestRouteDoesNotFollowSymlinksOut(t *testing.T) {
	e, _ := newEngine(t)
	outside := t.TempDir()
	if err := os.MkdirAll(filepath.Join(e.opts.DataDir, "memory"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.opts.DataDir, "memory", "outcome=success")); err != nil {
		t.Fatal(err)
	}
	_, err := call(t, e, alice, "route", `{"dry_run":false,"packet":{"outcome":"success","tool_family":"search","episode_group":"a","step":1}}`)
	if err == nil || (err.Category != CategoryPermission && err.Category != CategoryConflict) {
		t.Fatalf("err = %v, want permission or conflict", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("directories were created outside: %v", entries)
	}
}

func TestRouteCustomSchemaKeepsKeyOrder(t *testing.T) {
	e, _ := newEngine(t)
	// Both keys match; the first written wins.
	res := mustCall(t, e, alice, "route", `{"packet":{"b":"x","a":"y","n":3},"schema":{"b":{"x":"bx/{n}.json"},"a":{"y":"ay/{n}.json"}}}`)
	var got routeResult
	dataOf(t, res, &got)
	if got.Route != "memory/b=x/bx/3.json" {
		t.Fatalf("route = %q", got.Route)
	}
}
