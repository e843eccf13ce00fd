package audit

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Names inside a log folder (verify_dir.go has the same as CheckpointFile,
// LockFile, QuarantineDir and SegmentName; the writer keeps its own so the
// two could be written side by side).
const (
	lockFileName       = "LOCK"       // flock'ed by the process writing the log
	checkpointFileName = "checkpoint" // the newest signed checkpoint (a signed note)
	quarantineDirName  = "quarantine" // torn tails moved aside by recovery
	segmentNameSuffix  = ".jsonl"
	segmentNameDigits  = 16
)

// segmentFileName is the name of the segment whose first record has seq
// first: 16 decimal digits and ".jsonl".
func segmentFileName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segmentNameDigits, first, segmentNameSuffix)
}

// parseSegmentFileName returns the first seq a segment file name stands
// for, and false for a name that is not a segment's.
func parseSegmentFileName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentNameSuffix)
	if !ok || len(digits) != segmentNameDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// SegmentFile is what the log writes a segment through. The default is an
// *os.File whose Datasync is fdatasync(2); Options.OpenFile replaces it, for
// instance to inject faults in tests.
type SegmentFile interface {
	// WriteAt writes all of p at off, or returns an error (the file may
	// then hold part of p).
	WriteAt(p []byte, off int64) (int, error)
	// Truncate cuts the file to size bytes.
	Truncate(size int64) error
	// Datasync makes the written data and the file size durable.
	Datasync() error
	Close() error
}

// OpenFileFunc opens a segment file for writing (flag is os.O_WRONLY,
// with os.O_CREATE when the segment is new).
type OpenFileFunc func(name string, flag int, perm fs.FileMode) (SegmentFile, error)

// openOSFile is the default OpenFileFunc.
func openOSFile(name string, flag int, perm fs.FileMode) (SegmentFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osSegmentFile{f}, nil
}

type osSegmentFile struct{ *os.File }

func (f osSegmentFile) Datasync() error { return datasync(f.File) }

// segmentRef is a segment file of the log folder.
type segmentRef struct {
	name  string
	first uint64 // the seq its name stands for
}

// listSegments returns the segment files of a log folder in seq order.
// Other names are ignored.
func listSegments(folder string) ([]segmentRef, error) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, err
	}
	var segs []segmentRef
	for _, e := range entries {
		if first, ok := parseSegmentFileName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, segmentRef{name: e.Name(), first: first})
		}
	}
	slices.SortFunc(segs, func(a, b segmentRef) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return segs, nil
}

// syncDir makes the entries of a directory (files created, renamed or
// removed in it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeFileAtomic replaces path with data: a temporary file, fsync, rename,
// fsync of the directory. A reader sees the old or the new content, never
// a mix, also after a crash.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
