package audit

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Files in a log folder besides the segments.
const (
	CheckpointFile = "checkpoint" // the newest signed checkpoint of the log
	LockFile       = "LOCK"       // held by the one writer
	QuarantineDir  = "quarantine" // torn tails moved aside by recovery
	segmentExt     = ".jsonl"     // segment files: <16-digit first seq>.jsonl
	segmentDigits  = 16           // digits of a segment name
	segmentNameLen = 16 + len(".jsonl")
)

// ErrNoLogs is returned by Verify for a directory that holds no log.
var ErrNoLogs = errors.New("no audit log here")

// SegmentName is the file name of the segment whose first record is seq.
func SegmentName(seq uint64) string {
	return fmt.Sprintf("%0*d%s", segmentDigits, seq, segmentExt)
}

// ParseSegmentName returns the seq a segment file name stands for.
func ParseSegmentName(name string) (uint64, bool) {
	if len(name) != segmentNameLen || !strings.HasSuffix(name, segmentExt) {
		return 0, false
	}
	digits := name[:segmentDigits]
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	return v, err == nil
}

// segOnDisk is one segment file of a log folder.
type segOnDisk struct {
	name string
	seq  uint64 // the seq its name stands for
	path string
	size int64
}

// logOnDisk is one log folder as found on disk.
type logOnDisk struct {
	path  string
	name  string
	segs  []segOnDisk
	stray []string // files that are neither segments nor known files
	bytes int64
}

// isLogFolder reports whether dir looks like a log folder: it holds a
// segment, a checkpoint file or a LOCK.
func isLogFolder(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if _, ok := ParseSegmentName(e.Name()); ok || e.Name() == CheckpointFile || e.Name() == LockFile {
				return true, nil
			}
		}
	}
	return false, nil
}

// FindLogs resolves dir to the audit directory and its log folders
// (absolute paths, in name order: main, main-2, …, main-10): dir is either
// an audit directory, with log folders below it, or one log folder, whose
// parent is then the audit directory.
func FindLogs(dir string) (auditDir string, logs []string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	info, err := os.Stat(dir)
	if err != nil {
		return "", nil, err
	}
	if !info.IsDir() {
		return "", nil, fmt.Errorf("%s is not a directory", dir)
	}
	if ok, err := isLogFolder(dir); err != nil {
		return "", nil, err
	} else if ok {
		return filepath.Dir(dir), []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if ok, err := isLogFolder(p); err != nil {
			return "", nil, err
		} else if ok {
			logs = append(logs, p)
		}
	}
	slices.SortFunc(logs, func(a, b string) int { return compareLogNames(filepath.Base(a), filepath.Base(b)) })
	return dir, logs, nil
}

// compareLogNames orders "main", "main-2", …, "main-10".
func compareLogNames(a, b string) int {
	split := func(s string) (string, int) {
		if i := strings.LastIndexByte(s, '-'); i > 0 {
			if n, err := strconv.Atoi(s[i+1:]); err == nil && n >= 0 {
				return s[:i], n
			}
		}
		return s, 1
	}
	pa, na := split(a)
	pb, nb := split(b)
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	if na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

// readLogFolder lists a log folder's segments in seq order.
func readLogFolder(path string) (*logOnDisk, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	lf := &logOnDisk{path: path, name: filepath.Base(path)}
	for _, e := range entries {
		name := e.Name()
		if seq, ok := ParseSegmentName(name); ok && e.Type().IsRegular() {
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			lf.segs = append(lf.segs, segOnDisk{name: name, seq: seq, path: filepath.Join(path, name), size: info.Size()})
			lf.bytes += info.Size()
			continue
		}
		switch {
		case name == CheckpointFile, name == LockFile, name == QuarantineDir,
			strings.HasPrefix(name, CheckpointFile+".tmp"), strings.HasPrefix(name, "."):
		default:
			lf.stray = append(lf.stray, name)
		}
	}
	slices.SortFunc(lf.segs, func(a, b segOnDisk) int { return cmp.Compare(a.seq, b.seq) })
	return lf, nil
}

// ReadVerifierKeys reads note verifier keys ("name+hash+base64"), one a
// line; blank lines and lines starting with '#' are skipped.
func ReadVerifierKeys(r io.Reader) ([]note.Verifier, error) {
	var out []note.Verifier
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := note.NewVerifier(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: not a note verifier key: %w", n, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no verifier key")
	}
	return out, nil
}

// LoadVerifierKeys reads the verifier keys in the files at paths.
func LoadVerifierKeys(paths ...string) ([]note.Verifier, error) {
	var out []note.Verifier
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		vs, err := ReadVerifierKeys(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, vs...)
	}
	return out, nil
}

// DefaultVerifierKeys reads auditDir/audit.vkey and the public keys of
// retired signing keys kept next to it (audit.vkey.retired-*, see
// RotateKey), without duplicates.
func DefaultVerifierKeys(auditDir string) ([]note.Verifier, error) {
	p := filepath.Join(auditDir, PublicKeyFile)
	vs, err := LoadVerifierKeys(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no public key %s in %s (give it with --key): %w", PublicKeyFile, auditDir, err)
	}
	if err != nil {
		return nil, err
	}
	retired, err := RetiredPublicKeyFiles(auditDir)
	if err != nil {
		return nil, err
	}
	old, err := LoadVerifierKeys(retired...)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool)
	out := vs[:0:0]
	for _, v := range append(vs, old...) {
		if id := keyID(v.Name(), v.KeyHash()); !seen[id] {
			seen[id] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// boundedLines reads lines of at most max bytes with a bufio.Reader; a longer
// line is reported as too long.
type boundedLines struct {
	r    *bufio.Reader
	max  int
	long []byte
}

var errLineTooLong = errors.New("line too long")

// next returns the next line without its '\n' and whether it had one.
// At the end it returns io.EOF (with a last line without '\n' first, if
// any). The line is valid until the next call.
func (lr *boundedLines) next() (line []byte, complete bool, err error) {
	b, err := lr.r.ReadSlice('\n')
	if err == nil {
		if len(b)-1 > lr.max {
			return nil, false, errLineTooLong
		}
		return b[:len(b)-1], true, nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.long = append(lr.long[:0], b...)
		for {
			b, err = lr.r.ReadSlice('\n')
			if len(lr.long)+len(b) > lr.max+1 {
				return nil, false, errLineTooLong
			}
			lr.long = append(lr.long, b...)
			switch {
			case err == nil:
				return lr.long[:len(lr.long)-1], true, nil
			case errors.Is(err, bufio.ErrBufferFull):
				continue
			case errors.Is(err, io.EOF):
				return lr.long, false, nil
			default:
				return nil, false, err
			}
		}
	}
	if errors.Is(err, io.EOF) {
		if len(b) == 0 {
			return nil, false, io.EOF
		}
		if len(b) > lr.max {
			return nil, false, errLineTooLong
		}
		return b, false, nil
	}
	return nil, false, err
}
