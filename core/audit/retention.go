package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// prune applies Options.Retention: it deletes the oldest sealed segments
// whose last record is older than the retention, in order, stopping at the
// first segment kept, and keeping the segment being written and the sealed
// one before it; a segment is deleted only when its successor begins with
// segment_opened carrying the tree state (the log would no longer verify
// without it) and is sealed (its checkpoint vouches for that state). It adds a
// retention_prune record naming what it deleted. Failures are logged: the
// segments stay, which is safe.
func (w *writer) prune(now time.Time) {
	if w.opts.Retention <= 0 {
		return
	}
	segs, err := listSegments(w.path)
	if err != nil {
		w.log.Warn("audit retention: list segments", "error", err)
		return
	}
	cutoff := now.Add(-w.opts.Retention)
	var deleted []string
	var through uint64
	for i := 0; i+1 < len(segs); i++ {
		seg, next := segs[i], segs[i+1]
		// The successor must be sealed too: its rotation checkpoint vouches
		// for the tree state its segment_opened carries.
		if seg.name == w.seg.name || next.name == w.seg.name || next.first == 0 {
			break
		}
		last, err := lastRecordTime(filepath.Join(w.path, seg.name))
		if err != nil || !last.Before(cutoff) {
			break
		}
		if !opensWithTree(filepath.Join(w.path, next.name), next.first) {
			break
		}
		if err := os.Remove(filepath.Join(w.path, seg.name)); err != nil {
			w.log.Warn("audit retention: delete segment", "segment", seg.name, "error", err)
			break
		}
		deleted = append(deleted, seg.name)
		through = next.first - 1
	}
	if len(deleted) == 0 {
		return
	}
	if err := syncDir(w.path); err != nil {
		w.log.Warn("audit retention: sync folder", "error", err)
	}
	w.log.Info("audit segments deleted by retention", "segments", len(deleted), "through_seq", through)
	w.addOwn(Entry{Kind: KindRetentionPrune, Body: map[string]any{"segments": deleted, "through_seq": through}})
}

// lastRecordTime is the ts of a sealed segment's last line, which must be
// segment_sealed.
func lastRecordTime(path string) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	n := min(info.Size(), 64<<10)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, info.Size()-n); err != nil && err != io.EOF {
		return time.Time{}, err
	}
	if len(buf) == 0 || buf[len(buf)-1] != '\n' {
		return time.Time{}, fmt.Errorf("%s does not end with a complete line", path)
	}
	buf = buf[:len(buf)-1]
	start := 0
	for i := len(buf) - 1; i >= 0; i-- {
		if buf[i] == '\n' {
			start = i + 1
			break
		}
	}
	var h struct {
		Kind string `json:"kind"`
		TS   string `json:"ts"`
	}
	if err := json.Unmarshal(buf[start:], &h); err != nil {
		return time.Time{}, err
	}
	if h.Kind != KindSegmentSealed {
		return time.Time{}, fmt.Errorf("%s is not sealed", path)
	}
	return time.Parse(TimeFormat, h.TS)
}

// opensWithTree tells whether the segment at path begins with
// segment_opened at seq first carrying the tree state before it.
func opensWithTree(path string, first uint64) bool {
	line, err := firstLine(path)
	if err != nil {
		return false
	}
	h, _, err := parseOpenedHead(line)
	return err == nil && h.Seq == first
}

// firstLine reads a segment's first complete line, without its "\n".
func firstLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for len(buf) <= maxRecordLine {
		n, err := f.Read(chunk)
		for i, c := range chunk[:n] {
			if c == '\n' {
				return append(buf, chunk[:i]...), nil
			}
		}
		buf = append(buf, chunk[:n]...)
		if err != nil {
			return nil, fmt.Errorf("%s: no complete first line: %w", path, err)
		}
	}
	return nil, fmt.Errorf("%s: first line too long", path)
}
