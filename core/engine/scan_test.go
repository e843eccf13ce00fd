package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// scanEngine is an engine whose roots are one fresh directory.
func scanEngine(t *testing.T) (*Engine, *testClock, string) {
	t.Helper()
	root := t.TempDir()
	e, clock := newEngine(t, func(o *Options) { o.Roots = []string{root} })
	return e, clock, root
}

func makeFiles(t *testing.T, dir string, n int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScanSchemaRejections(t *testing.T) {
	e, _, _ := scanEngine(t)
	for _, tc := range []struct{ name, args, field string }{
		{"no path", `{}`, "path"},
		{"empty path", `{"path":""}`, "/path"},
		{"bad limit", `{"path":"x","limits":{"max_files":0}}`, "/limits/max_files"},
		{"unknown limit", `{"path":"x","limits":{"max_size":3}}`, "max_size"},
		{"entropy above 1", `{"path":"x","limits":{"max_entropy":2}}`, "/limits/max_entropy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, e, alice, "scan_thresholds", tc.args)
			wantError(t, err, CategoryValidation, tc.field)
		})
	}
}

func TestScanMetricsAndSeverity(t *testing.T) {
	e, _, root := scanEngine(t)
	makeFiles(t, filepath.Join(root, "proj", "a", "b"), 90)
	res := mustCall(t, e, alice, "scan_thresholds", `{"path":"proj"}`)
	var got scanReport
	dataOf(t, res, &got)
	if got.Path != "proj" || got.Metrics.FileCount != 90 || got.Metrics.MaxDepth != 2 || !got.Metrics.Complete {
		t.Fatalf("report %+v", got)
	}
	var fileEvent *thresholdEvent
	for i, ev := range got.Events {
		if ev.Metric == "file_count" {
			fileEvent = &got.Events[i]
		}
	}
	if fileEvent == nil || fileEvent.Severity != "WARNING" || fileEvent.Threshold != 100 {
		t.Fatalf("events %+v, want a WARNING for 90/100 files", got.Events)
	}
	if !strings.Contains(res.Text, "[WARNING] file_count: 90 (threshold: 100)") || strings.Contains(res.Text, root) {
		t.Fatalf("text %q", res.Text)
	}
	// Severity bands, and non-recursive scans.
	res = mustCall(t, e, alice, "scan_thresholds", `{"path":"`+filepath.Join(root, "proj", "a", "b")+`","limits":{"max_files":60}}`)
	dataOf(t, res, &got)
	if got.Events[0].Severity != "EMERGENCY" || got.Path != "proj/a/b" {
		t.Fatalf("90/60 files: %+v", got)
	}
	res = mustCall(t, e, alice, "scan_thresholds", `{"path":"proj","recursive":false}`)
	dataOf(t, res, &got)
	if got.Metrics.FileCount != 0 || got.Metrics.MaxDepth != 1 {
		t.Fatalf("non-recursive scan %+v", got.Metrics)
	}
	for ratio, want := range map[float64]string{1.5: "EMERGENCY", 1.0: "CRITICAL", 0.8: "WARNING", 0.64: "INFO", 0.63: ""} {
		if s := scanSeverity(ratio); s != want {
			t.Errorf("scanSeverity(%v) = %q, want %q", ratio, s, want)
		}
	}
	if h := nameEntropy(map[rune]int{'a': 2, 'b': 2}, 4); h != 1 {
		t.Errorf("entropy of aabb = %v, want 1", h)
	}
}

// B4: the original walked any host path.
func TestScanConfinedToRoots(t *testing.T) {
	e, _, root := scanEngine(t)
	outside := t.TempDir()
	makeFiles(t, outside, 3)
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		cat        Category
	}{
		{"absolute outside", outside, CategoryPermission},
		{"system directory", "/etc", CategoryPermission},
		{"dot-dot out of the root", "../", CategoryPermission},
		{"symlink inside a root pointing outside", "link", CategoryPermission},
		{"missing", "no/such/dir", CategoryNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]string{"path": tc.path})
			_, err := call(t, e, alice, "scan_thresholds", string(b))
			wantError(t, err, tc.cat, "/path")
			if strings.Contains(err.Error(), outside) {
				t.Errorf("error %q shows the outside path", err)
			}
		})
	}
	noRoots, _ := newEngine(t)
	_, err := call(t, noRoots, alice, "scan_thresholds", `{"path":"/tmp"}`)
	wantError(t, err, CategoryPermission, "roots")
	// A symlink below the scanned directory is counted, not followed.
	res := mustCall(t, e, alice, "scan_thresholds", `{"path":"."}`)
	var got scanReport
	dataOf(t, res, &got)
	if got.Metrics.FileCount != 0 || got.Metrics.Symlinks != 1 {
		t.Fatalf("the walk followed the symlink: %+v", got.Metrics)
	}
}

func TestScanBoundedAndCancelled(t *testing.T) {
	e, _, root := scanEngine(t)
	makeFiles(t, filepath.Join(root, "big"), 3000)
	args := json.RawMessage(`{"path":"big"}`)
	res, err := e.scan(context.Background(), &Call{Caller: alice, Args: args}, scanBounds{maxEntries: 1500, timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var got scanReport
	dataOf(t, res, &got)
	if got.Metrics.Complete || !strings.Contains(got.Metrics.Reason, "1,500 entries") || got.Metrics.FileCount >= 3000 || got.Growth != nil {
		t.Fatalf("bounded scan %+v", got.Metrics)
	}
	if !strings.Contains(res.Text, "INCOMPLETE") {
		t.Fatalf("text %q does not say the scan is incomplete", res.Text)
	}
	// The time limit.
	res, err = e.scan(context.Background(), &Call{Caller: alice, Args: args}, scanBounds{maxEntries: 1 << 20, timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	dataOf(t, res, &got)
	if got.Metrics.Complete || !strings.Contains(got.Metrics.Reason, "time limit") {
		t.Fatalf("timed-out scan %+v", got.Metrics)
	}
	// Cancellation is an error, not a partial result; progress was sent.
	ctx, cancel := context.WithCancel(context.Background())
	progressed := 0
	_, err = e.scan(ctx, &Call{Caller: alice, Args: args, Progress: func(done, _ float64, _ string) {
		progressed++
		cancel()
	}}, defaultScanBounds)
	if AsError(err).Category != CategoryCancelled || progressed != 1 {
		t.Fatalf("err %v after %d progress calls, want cancelled after 1", err, progressed)
	}
}

// The original declared GROWTH_RATE and never computed it.
func TestScanGrowth(t *testing.T) {
	e, clock, root := scanEngine(t)
	dir := filepath.Join(root, "grow")
	makeFiles(t, dir, 10)
	res := mustCall(t, e, alice, "scan_thresholds", `{"path":"grow"}`)
	var got scanReport
	dataOf(t, res, &got)
	if got.Growth != nil || !strings.Contains(got.Note, "first complete scan") {
		t.Fatalf("first scan: %+v", got)
	}
	makeFiles(t, filepath.Join(dir, "sub"), 30)
	clock.advance(2 * time.Hour)
	res = mustCall(t, e, alice, "scan_thresholds", `{"path":"`+dir+`"}`)
	dataOf(t, res, &got)
	g := got.Growth
	if g == nil || g.FileCountDelta != 30 || g.MaxDepthDelta != 1 || g.Hours != 2 || g.FilesPerHour == nil || *g.FilesPerHour != 15 {
		t.Fatalf("growth %+v", g)
	}
	if !strings.Contains(res.Text, "+30 files") || !strings.Contains(res.Text, "15.000 files per hour") {
		t.Fatalf("text %q", res.Text)
	}
	// A partial scan is stored but does not become the baseline.
	if _, err := e.scan(context.Background(), &Call{Caller: alice, Args: json.RawMessage(`{"path":"grow"}`)}, scanBounds{maxEntries: 5, timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	res = mustCall(t, e, alice, "scan_thresholds", `{"path":"grow"}`)
	dataOf(t, res, &got)
	if got.Growth == nil || got.Growth.FileCountDelta != 0 || got.Growth.Hours != 1 {
		t.Fatalf("growth after a partial scan %+v", got.Growth)
	}
}
