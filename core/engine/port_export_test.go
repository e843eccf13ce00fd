package engine

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func exportAll(t testing.TB, e *Engine, kinds ...string) ([]byte, *ExportReport) {
	t.Helper()
	var buf bytes.Buffer
	rep, err := e.Export(context.Background(), &buf, ExportOptions{Kinds: kinds})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return buf.Bytes(), rep
}

func TestExportRoundTrip(t *testing.T) {
	a, _ := newEngine(t)
	importFixture(t, a, originalFixture(t))
	// Records the tools wrote, and an archived blob that is not UTF-8.
	mustCall(t, a, alice, "record_insight", `{"domain":"go","content":"Written by a tool after the import."}`)
	mustCall(t, a, alice, "record_open_thread", `{"question":"Does the round trip keep resolved threads?","domain":"port"}`)
	binary := []byte{0xff, 0xfe, 0x00, 'b', 'i', 'n'}
	if err := inTx(context.Background(), a.db, func(tx *sql.Tx) error {
		_, err := a.insertArchiveRecord(context.Background(), tx, binary, archiveEntry{Timestamp: a.ts(), Source: "test", Principal: "user:alice"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	first, rep := exportAll(t, a)
	if rep.Lines != bytes.Count(first, []byte("\n")) || rep.Bytes != int64(len(first)) {
		t.Errorf("report %+v for %d lines, %d bytes", rep, bytes.Count(first, []byte("\n")), len(first))
	}
	want := map[string]int{KindInsight: 7, KindSupersession: 1, KindLearning: 3, KindArchive: 3, KindThread: 4, KindTouch: 2,
		KindHandoff: 2, KindActedOn: 1, KindUncertainty: 2, KindExperiment: 1, KindReflection: 1, KindReview: 1}
	for k, n := range want {
		if rep.Kinds[k] != n {
			t.Errorf("exported %d %s, want %d", rep.Kinds[k], k, n)
		}
	}
	// One object per line, each with its kind first, in PortKinds order.
	sc := bufio.NewScanner(bytes.NewReader(first))
	sc.Buffer(nil, importMaxExportLine)
	last := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if !bytes.HasPrefix(sc.Bytes(), []byte(`{"kind":"`)) {
			t.Errorf("line does not start with its kind: %.60s", sc.Text())
		}
		i := indexOf(PortKinds, m["kind"].(string))
		if i < last {
			t.Errorf("kind %s after %s", m["kind"], PortKinds[last])
		}
		last = i
		if m["kind"] == KindArchive && m["content_base64"] == true && m["content"] != "//4AYmlu" {
			t.Errorf("binary archive content %v", m["content"])
		}
	}
	if !bytes.Contains(first, []byte(`"content_base64":true`)) || !bytes.Contains(first, []byte(`"principal":"os_user:tony"`)) {
		t.Error("the export lacks the base64 flag or the principals")
	}

	// Import the export into a fresh engine: everything is imported, and
	// exporting again gives the same bytes.
	b, _ := newEngine(t)
	file := filepath.Join(t.TempDir(), "export.jsonl")
	if err := os.WriteFile(file, first, 0o600); err != nil {
		t.Fatal(err)
	}
	irep, err := b.Import(context.Background(), file, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if irep.Format != "export" {
		t.Errorf("format %q", irep.Format)
	}
	for k, n := range want {
		if c := *irep.Kinds[k]; c != (KindCounts{Read: n, Imported: n}) {
			t.Errorf("import of the export: %s %+v, want %d imported", k, c, n)
		}
	}
	second, _ := exportAll(t, b)
	if !bytes.Equal(first, second) {
		t.Errorf("export → import → export differs:\n%s", firstDiff(first, second))
	}
	// And again: nothing new.
	irep, err = b.Import(context.Background(), file, ImportOptions{})
	if err != nil || irep.Totals().Imported != 0 || irep.Totals().AlreadyPresent != irep.Totals().Read {
		t.Errorf("second import of the export: %+v, %v", irep.Totals(), err)
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "first:  " + la[i] + "\nsecond: " + lb[i]
		}
	}
	return "lengths differ"
}

func TestExportSelectsKinds(t *testing.T) {
	e, _ := newEngine(t)
	importFixture(t, e, originalFixture(t))
	out, rep := exportAll(t, e, KindThread, KindTouch)
	if rep.Lines != 5 || rep.Kinds[KindThread] != 3 || rep.Kinds[KindTouch] != 2 || bytes.Contains(out, []byte(`"kind":"insight"`)) {
		t.Errorf("kinds thread,touch: %+v", rep)
	}
	if _, err := e.Export(context.Background(), &bytes.Buffer{}, ExportOptions{Kinds: []string{"insights"}}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestImportExportFileSkipsBadLines(t *testing.T) {
	e, _ := newEngine(t)
	const good = `{"kind":"learning","timestamp":"2026-05-01T00:00:00.000000Z","what_happened":"a","what_learned":"b","applies_to":"general","session_id":"s"}`
	lines := []string{
		good,
		`{"kind":"bogus","x":1}`,
		`not json`,
		`{"kind":"insight","id":"` + strings.Repeat("a", 64) + `","timestamp":"2026-05-01T00:00:00.000000Z","domain":"A sentence, not tags","content":"c","layer":"hypothesis","intensity":0.5,"session_id":""}`,
		`{"kind":"archive","archive_id":"` + strings.Repeat("0", 64) + `","timestamp":"2026-05-01T00:00:00.000000Z","source":"s","session_id":"","byte_len":1,"content":"x"}`,
		`{"kind":"touch","thread_id":"thread_missing","timestamp":"2026-05-01T00:00:00.000000Z","note":"n","session_id":""}`,
	}
	file := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := e.Import(context.Background(), file, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c := *rep.Kinds[KindLearning]; c != (KindCounts{Read: 1, Imported: 1}) {
		t.Errorf("learning %+v", c)
	}
	if c := *rep.Kinds[kindUnknown]; c != (KindCounts{Read: 2, Skipped: 2}) {
		t.Errorf("unknown %+v", c)
	}
	for i, want := range []string{`unknown kind "bogus"`, "not a JSON object", `domain "A sentence, not tags"`, "not to its archive_id", "is not stored"} {
		if i >= len(rep.Skipped) || rep.Skipped[i].Line != i+2 || !strings.Contains(rep.Skipped[i].Reason, want) {
			t.Errorf("skip %d: %+v, want line %d: %q", i, rep.Skipped, i+2, want)
		}
	}
}
