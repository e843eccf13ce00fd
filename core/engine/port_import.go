package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrImportSource: the import source is neither a directory nor a regular
// file.
var ErrImportSource = errors.New("the import source must be a data directory of the original or a JSONL file written by sovereign export")

// Import reads src — a data directory of the original Sovereign Stack, or
// a JSONL file written by Export — into the engine and reports what it took
// and what it skipped. Records that fail validation are skipped and
// reported, not errors; the error is for what stops the import (src
// unreadable, cancellation). See port.go for the decisions.
func (e *Engine) Import(ctx context.Context, src string, opts ImportOptions) (*ImportReport, error) {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = importMaxFiles
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im := &importer{e: e, ctx: ctx, opts: opts}
	switch {
	case fi.IsDir():
		im.rep = newImportReport(src, "original", opts)
		root, err := os.OpenRoot(src)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		defer root.Close()
		im.fsys = root.FS()
		err = im.run(func() error { return im.original() })
		return im.rep, err
	case fi.Mode().IsRegular():
		im.rep = newImportReport(src, "export", opts)
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		err = im.run(func() error { return im.exportFile(f, fi.Name()) })
		return im.rep, err
	default:
		return nil, fmt.Errorf("import %s: %w", src, ErrImportSource)
	}
}

// importer is one run of Import.
type importer struct {
	e      *Engine
	ctx    context.Context
	opts   ImportOptions
	rep    *ImportReport
	fsys   fs.FS   // DIR, through its os.Root
	outer  *sql.Tx // the dry run's transaction
	walked int
}

// run runs body, in one transaction rolled back at the end for a dry run.
func (im *importer) run(body func() error) error {
	if im.opts.DryRun {
		tx, err := im.e.db.BeginTx(im.ctx, nil)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		im.outer = tx
		defer func() { _ = tx.Rollback() }()
	}
	return body()
}

// fileCounts are the counts of one file, merged into the report when its
// transaction commits.
type fileCounts struct {
	kinds   map[string]*KindCounts
	samples []ImportSkip
}

func (fc *fileCounts) of(kind string) *KindCounts {
	if fc.kinds == nil {
		fc.kinds = map[string]*KindCounts{}
	}
	c := fc.kinds[kind]
	if c == nil {
		c = &KindCounts{}
		fc.kinds[kind] = c
	}
	return c
}

func (fc *fileCounts) skip(kind, file string, line int, reason string) {
	fc.of(kind).Skipped++
	fc.samples = append(fc.samples, ImportSkip{File: file, Line: line, Kind: kind, Reason: reason})
}

// outcome counts one record that was offered to the store.
func (fc *fileCounts) outcome(kind string, inserted bool) {
	if inserted {
		fc.of(kind).Imported++
	} else {
		fc.of(kind).AlreadyPresent++
	}
}

// inFile runs fn in one transaction (a savepoint of the dry run's) and
// merges its counts; a failure rolls the file back and lists it. Only
// cancellation is returned.
func (im *importer) inFile(name string, fn func(tx *sql.Tx, fc *fileCounts) error) error {
	fc := &fileCounts{}
	var err error
	if im.outer != nil {
		if _, err = im.outer.ExecContext(im.ctx, `SAVEPOINT import_file`); err == nil {
			if err = fn(im.outer, fc); err != nil {
				_, _ = im.outer.ExecContext(im.ctx, `ROLLBACK TO import_file`)
			}
			_, _ = im.outer.ExecContext(im.ctx, `RELEASE import_file`)
		}
	} else {
		err = inTx(im.ctx, im.e.db, func(tx *sql.Tx) error { return fn(tx, fc) })
	}
	im.rep.FilesRead++
	if err != nil {
		if ce := im.ctx.Err(); ce != nil {
			return ce
		}
		im.rep.Failed = append(im.rep.Failed, FailedFile{File: name, Error: err.Error()})
		for k, c := range fc.kinds {
			rc := im.rep.kind(k)
			rc.Read += c.Read
			rc.Skipped += c.Read
		}
	} else {
		for k, c := range fc.kinds {
			rc := im.rep.kind(k)
			rc.Read += c.Read
			rc.Imported += c.Imported
			rc.AlreadyPresent += c.AlreadyPresent
			rc.Skipped += c.Skipped
		}
		for _, s := range fc.samples {
			im.rep.sample(s)
		}
	}
	if im.opts.Progress != nil {
		im.opts.Progress(im.rep.FilesRead, name)
	}
	return nil
}

// skipFile records a file that could not be read at all (counted as one
// record read and skipped).
func (im *importer) skipFile(kind, name, reason string) {
	c := im.rep.kind(kind)
	c.Read++
	c.Skipped++
	im.rep.sample(ImportSkip{File: name, Kind: kind, Reason: reason})
}

// storeErr sorts an insert's error: a record the store refuses (validation,
// conflict, not found, limit) is skipped with the reason; anything else
// fails the file.
func storeErr(err error) (reason string, fatal error) {
	var ee *Error
	if errors.As(err, &ee) {
		switch ee.Category {
		case CategoryValidation, CategoryConflict, CategoryNotFound, CategoryLimit:
			return ee.Msg, nil
		}
	}
	return "", err
}

// topLevel says what the entries of an original's data directory are; the
// ones read are handled by original().
var topLevel = map[string]string{
	"spiral_state.json":        "the original's one global spiral state; spiral state is per session now",
	"memory":                   "route's folder tree (folders only, no records)",
	"nape":                     "call observations, honks and acks — replaced by the audit log",
	"comms":                    "channels and letters of the original's comms bridge: not part of the engine",
	"compaction_memory":        "compaction buffer: not part of the engine",
	"reflexive":                "priors and alignment logs of reflexive surfacing: not part of the engine",
	"reflections":              "the synthesis daemon's reflections (a model's output): not part of the engine",
	"self_model.json":          "self-model: not part of the engine",
	"self_model_archive.jsonl": "self-model history: not part of the engine",
	"session_handoff.json":     "spiral_inherit's session summary: the engine leaves work for the next session as handoffs",
	"session_handoffs.jsonl":   "spiral_inherit's session summaries: the engine leaves work for the next session as handoffs",
	"metabolism_log.jsonl":     "metabolism log: not part of the engine",
	"decisions":                "governance decisions of the original: Sovereign records decisions in its audit log",
	"daemons":                  "daemon state: the engine runs no daemons",
	"scribe_threads":           "scribe sessions (calls to a model API): the engine never calls a model API",
	"monitor.log":              "a log of the original's monitor",
	"post_fix":                 "post-fix drift watches: not ported (they ran commands)",
	"policies":                 "the original's policy registry: Sovereign's policies are Rego modules",
	"openai_bridge":            "a bridge to another vendor's models: not part of the engine",
	"grok_bridge":              "a bridge to another vendor's models: not part of the engine",
	"antigravity_connector":    "a bridge to another vendor's models: not part of the engine",
	"bridge":                   "bridge messages: not part of the engine",
	"pending_writes":           "bridge proposals awaiting approval: not part of the engine",
	"audit":                    "an audit log: Sovereign keeps its own, signed",
	"sessions":                 "the original's HTTP sessions: not data",
	"oauth":                    "OAuth codes and tokens: credentials are never imported",
	"oauth_clients.json":       "OAuth clients: credentials are never imported",
	"guardian":                 "Guardian's quarantine: not part of the engine",
	".guardian":                "Guardian's quarantine: not part of the engine",
	"security":                 "the original's security ledgers: not part of the engine",
	Dir:                        "this engine's own database (DIR is Sovereign's data directory too)",
	"keys":                     "Sovereign's own signing keys",
}

// chronicleLevel says what the entries of chronicle/ are, for those not read.
var chronicleLevel = map[string]string{
	"transformations":          "no tool of the original writes it",
	"thread_families.jsonl":    "thread families are not kept (link_threads is not ported)",
	"protected.jsonl":          "the protected-source layer is not ported",
	"protected_declines.jsonl": "the protected-source layer is not ported",
	".archive_test_artifacts":  "test artifacts of the original",
	".migrated_seeds":          "seeds the original had already migrated into the chronicle",
	".write.lock":              "the original's lock file",
}

// Files of the original that import reads.
const (
	origChronicle     = "chronicle"
	origHandoffs      = "handoffs"
	origConsciousness = "consciousness"
)

// original imports a data directory of the original, in dependency order.
func (im *importer) original() error {
	top, err := fs.ReadDir(im.fsys, ".")
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	read := map[string]bool{}
	for _, d := range top {
		name := d.Name()
		switch {
		case name == origChronicle || name == origHandoffs || name == origConsciousness:
			read[name] = true
		case topLevel[name] != "":
			im.rep.notImported(entryName(name, d), topLevel[name])
		case strings.HasPrefix(name, "."):
			im.rep.notImported(entryName(name, d), "hidden: not part of the original's layout")
		default:
			im.rep.notImported(entryName(name, d), "not part of the original's layout that the engine imports")
		}
	}
	if read[origChronicle] {
		if err := im.chronicle(); err != nil {
			return err
		}
	}
	if read[origHandoffs] {
		if err := im.handoffs(); err != nil {
			return err
		}
	}
	if read[origConsciousness] {
		if err := im.consciousness(); err != nil {
			return err
		}
	}
	return nil
}

func entryName(name string, d fs.DirEntry) string {
	if d.IsDir() {
		return name + "/"
	}
	return name
}

// chronicle imports chronicle/: insights, the supersession ledger,
// learnings, the archive, threads and touches, in that order.
func (im *importer) chronicle() error {
	entries, err := fs.ReadDir(im.fsys, origChronicle)
	if err != nil {
		im.rep.notImported(origChronicle+"/", "cannot be read: "+err.Error())
		return nil
	}
	have := map[string]bool{}
	for _, d := range entries {
		name := d.Name()
		full := origChronicle + "/" + name
		switch {
		case slices.Contains([]string{"insights", "learnings", "open_threads", "archives", "thread_touches.jsonl", "supersessions.jsonl"}, name):
			have[name] = true
		case strings.HasPrefix(name, "_quarantine_"):
			im.rep.notImported(entryName(full, d), "records the original took out of circulation (its recall never showed them); "+
				"move a file back under chronicle/insights/<domain>/ to import it")
		case chronicleLevel[name] != "":
			im.rep.notImported(entryName(full, d), chronicleLevel[name])
		default:
			im.rep.notImported(entryName(full, d), "not part of the original's layout that the engine imports")
		}
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"insights", func() error { return im.walkJSONL(origChronicle+"/insights", KindInsight, im.insightLine) }},
		{"supersessions.jsonl", im.supersessions},
		{"learnings", func() error { return im.walkJSONL(origChronicle+"/learnings", KindLearning, im.learningLine) }},
		{"archives", im.archives},
		{"open_threads", func() error { return im.walkJSONL(origChronicle+"/open_threads", KindThread, im.threadLine) }},
		{"thread_touches.jsonl", func() error {
			return im.jsonlFile(origChronicle+"/thread_touches.jsonl", KindTouch, im.touchLine)
		}},
	}
	for _, s := range steps {
		if !have[s.name] {
			continue
		}
		if err := s.fn(); err != nil {
			return err
		}
	}
	return nil
}

// lineFunc imports one decoded line of a JSONL file.
type lineFunc func(tx *sql.Tx, fc *fileCounts, file string, line int, rec fields) error

// walkJSONL imports every *.jsonl file under dir (sorted), one transaction
// per file.
func (im *importer) walkJSONL(dir, kind string, fn lineFunc) error {
	files, err := im.walk(dir, kind, func(p string) bool { return strings.HasSuffix(p, ".jsonl") })
	if err != nil {
		return err
	}
	for _, p := range files {
		if err := im.jsonlFile(p, kind, fn); err != nil {
			return err
		}
	}
	return nil
}

// walk lists the regular files under dir that want accepts, in path order,
// within the walk bound. Symlinks are resolved inside DIR only: one that
// leads outside is skipped (reported), one to a directory is not followed.
func (im *importer) walk(dir, kind string, want func(string) bool) ([]string, error) {
	var out []string
	err := fs.WalkDir(im.fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if cerr := im.ctx.Err(); cerr != nil {
			return cerr
		}
		im.walked++
		if im.walked > im.opts.MaxFiles {
			im.rep.Truncated = true
			return fs.SkipAll
		}
		if err != nil {
			im.skipFile(kind, p, "cannot be read: "+errText(err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err := fs.Stat(im.fsys, p)
			switch {
			case err != nil:
				im.skipFile(kind, p, "a symlink that leads outside the directory imported (or nowhere): not followed")
				return nil
			case fi.IsDir():
				im.rep.notImported(p, "a symlink to a directory: not followed")
				return nil
			}
		} else if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if want(p) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// errText is err's message without the absolute path of DIR.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// jsonlFile imports one JSONL file in one transaction: each line is
// counted as read and decoded; blank lines are ignored.
func (im *importer) jsonlFile(name, kind string, fn lineFunc) error {
	f, err := im.fsys.Open(name)
	if err != nil {
		im.skipFile(kind, name, "cannot be opened: "+errText(err))
		return nil
	}
	defer f.Close()
	return im.inFile(name, func(tx *sql.Tx, fc *fileCounts) error {
		lr := newLineReader(f, importMaxLine)
		for {
			if err := im.ctx.Err(); err != nil {
				return err
			}
			text, n, tooLong, err := lr.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %s", name, errText(err))
			}
			if !tooLong && len(strings.TrimSpace(string(text))) == 0 {
				continue
			}
			fc.of(kind).Read++
			if tooLong {
				fc.skip(kind, name, n, fmt.Sprintf("line longer than %d bytes", importMaxLine))
				continue
			}
			rec, err := decodeObject(text)
			if err != nil {
				fc.skip(kind, name, n, err.Error())
				continue
			}
			if err := fn(tx, fc, name, n, fields(rec)); err != nil {
				return err
			}
		}
	})
}

// readSmall reads a whole file of at most max bytes through DIR's root.
func (im *importer) readSmall(name string, max int64) ([]byte, error) {
	f, err := im.fsys.Open(name)
	if err != nil {
		return nil, errors.New(errText(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.New(errText(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, errors.New(errText(err))
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}

// stem is a file name without its directory and extension.
func stem(p string) string {
	b := path.Base(p)
	return strings.TrimSuffix(b, path.Ext(b))
}
