package audit

import (
	"cmp"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

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
		if first, ok := ParseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, segmentRef{name: e.Name(), first: first})
		}
	}
	slices.SortFunc(segs, func(a, b segmentRef) int { return cmp.Compare(a.first, b.first) })
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
	if err := writeSyncClose(f, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeSyncClose writes data to f, syncs and closes it; f is closed
// whatever happens.
func writeSyncClose(f *os.File, data []byte) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
