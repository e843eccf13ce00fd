package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// portEnv points the default config at a fresh data directory and returns
// it, with a copy of the engine's fixture of the original's layout.
func portEnv(t *testing.T) (dataDir, original string) {
	t.Helper()
	dataDir = t.TempDir()
	t.Setenv("SOVEREIGN_ROOT", dataDir)
	t.Setenv("SOVEREIGN_CONFIG", "")
	original = filepath.Join(t.TempDir(), "dot-sovereign")
	if err := os.CopyFS(original, os.DirFS("../../core/engine/testdata/original")); err != nil {
		t.Fatal(err)
	}
	return dataDir, original
}

func TestImportCommand(t *testing.T) {
	_, original := portEnv(t)
	out, errOut, code := runCLI(t, "import", "--from", original, "--timezone", "America/New_York")
	if code != 0 {
		t.Fatalf("import: exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{"original format", "insight              8         5                1        2",
		"chronicle/learnings/general.jsonl:3: not valid JSON", "spiral_state.json: the original's one global spiral state"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Again, as JSON: nothing new.
	out, errOut, code = runCLI(t, "import", "--from", original, "--json")
	if code != 0 {
		t.Fatalf("second import: exit %d, %s", code, errOut)
	}
	var rep struct {
		Kinds map[string]struct {
			Read, Imported, AlreadyPresent, Skipped int
		} `json:"kinds"`
		Skipped []struct{ File, Reason string } `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	var ins = rep.Kinds["insight"]
	if ins.Imported != 0 || ins.Read != 8 || len(rep.Skipped) == 0 {
		t.Errorf("second import: %+v", rep.Kinds)
	}
	if !strings.Contains(out, `"already_present": 6`) {
		t.Errorf("second import does not report already_present 6:\n%s", out)
	}
}

func TestImportCommandDryRunAndExport(t *testing.T) {
	_, original := portEnv(t)
	out, _, code := runCLI(t, "import", "--from", original, "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "Dry run (nothing stored)") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	out, errOut, code := runCLI(t, "export")
	if code != 0 || out != "" || !strings.Contains(errOut, "exported 0 records") {
		t.Fatalf("export after a dry run: exit %d, %q, %q", code, out, errOut)
	}
	if _, _, code := runCLI(t, "import", "--from", original); code != 0 {
		t.Fatal("import failed")
	}
	out, _, code = runCLI(t, "export", "--kinds", "handoff,acted_on")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, `{"kind":"handoff"`) {
		t.Errorf("export --kinds handoff,acted_on: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "chronicle.jsonl")
	if _, errOut, code := runCLI(t, "export", "--out", file); code != 0 {
		t.Fatalf("export --out: exit %d, %s", code, errOut)
	}
	all, err := os.ReadFile(file)
	if err != nil || strings.Count(string(all), "\n") < 20 {
		t.Fatalf("export file: %d lines, %v", strings.Count(string(all), "\n"), err)
	}
	// Into another data directory, from the export file.
	t.Setenv("SOVEREIGN_ROOT", t.TempDir())
	out, errOut, code = runCLI(t, "import", "--from", file)
	if code != 0 || !strings.Contains(out, "(export format)") {
		t.Fatalf("import of the export: exit %d, %s\n%s", code, errOut, out)
	}
	again, _, _ := runCLI(t, "export")
	if again != string(all) {
		t.Error("the export of the re-imported data differs from the export file")
	}
}

func TestPortCommandErrors(t *testing.T) {
	portEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"import"}, exitUsage, "--from DIR|FILE is required"},
		{[]string{"import", "--from", filepath.Join(t.TempDir(), "missing")}, exitUsage, "--from"},
		{[]string{"import", "--from", t.TempDir(), "--timezone", "Mars/Olympus"}, exitUsage, "--timezone"},
		{[]string{"import", "--from", t.TempDir()}, exitFailure, "nothing could be read"},
		{[]string{"export", "--kinds", "insights"}, exitUsage, "unknown record kind"},
		{[]string{"export", "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.jsonl")}, exitFailure, "export"},
	} {
		_, errOut, code := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
