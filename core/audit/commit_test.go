package audit

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultFS opens segment files whose writes, syncs or creation fail on
// demand: a failing write writes half of its bytes first, as a full disk
// does.
type faultFS struct {
	mu       sync.Mutex
	writeErr error
	syncErr  error
	openErr  error // for new files (os.O_CREATE)
	writes   int   // WriteAt calls
}

func (f *faultFS) set(write, sync, open error) {
	f.mu.Lock()
	f.writeErr, f.syncErr, f.openErr = write, sync, open
	f.mu.Unlock()
}

func (f *faultFS) open(name string, flag int, perm fs.FileMode) (SegmentFile, error) {
	f.mu.Lock()
	err := f.openErr
	f.mu.Unlock()
	if err != nil && flag&os.O_CREATE != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	file, err := openOSFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{SegmentFile: file, fs: f}, nil
}

func (f *faultFS) writeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

type faultFile struct {
	SegmentFile
	fs *faultFS
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	err := f.fs.writeErr
	f.fs.writes++
	f.fs.mu.Unlock()
	if err != nil {
		n, _ := f.SegmentFile.WriteAt(p[:len(p)/2], off)
		return n, &os.PathError{Op: "write", Path: "segment", Err: err}
	}
	return f.SegmentFile.WriteAt(p, off)
}

func (f *faultFile) Datasync() error {
	f.fs.mu.Lock()
	err := f.fs.syncErr
	f.fs.mu.Unlock()
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: "segment", Err: err}
	}
	return f.SegmentFile.Datasync()
}

// checkClean checks that every segment ends with a whole line, and that
// no record after the last acknowledged one is a caller's (the log's own
// records of a rotation may follow it).
func checkClean(t *testing.T, folder string, acked uint64) []record {
	t.Helper()
	recs := readLog(t, folder)
	if uint64(len(recs)) < acked+1 {
		t.Fatalf("the log holds %d records, %d were acknowledged", len(recs), acked+1)
	}
	for _, r := range recs[acked+1:] {
		switch r.kind() {
		case KindCheckpoint, KindSegmentSealed:
		default:
			t.Fatalf("a record was written but not acknowledged: %s", r.line)
		}
	}
	return recs
}

func TestWriteFailures(t *testing.T) {
	for _, tc := range []struct {
		name              string
		write, sync, open error
		rotate            bool
		want              error
	}{
		{name: "disk full on write", write: syscall.ENOSPC, want: syscall.ENOSPC},
		{name: "disk full on sync", sync: syscall.ENOSPC, want: syscall.ENOSPC},
		{name: "I/O error on sync", sync: syscall.EIO, want: syscall.EIO},
		{name: "next segment cannot be created", open: syscall.ENOSPC, rotate: true, want: syscall.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			folder := filepath.Join(dir, "main")
			clock := newFakeClock()
			faults := &faultFS{}
			opts := testOptions(t, dir)
			opts.Now, opts.OpenFile = clock.Now, faults.open
			if tc.rotate {
				opts.MaxSegmentBytes = 1 // every batch starts a segment
			}
			ctx := context.Background()
			l := mustOpen(t, opts)
			var acked uint64
			for i := range 3 {
				seq, err := l.Append(ctx, decision(i))
				if err != nil {
					t.Fatal(err)
				}
				acked = seq
			}
			checkClean(t, folder, acked)

			faults.set(tc.write, tc.sync, tc.open)
			denied := 0
			mustFail := func(what string) {
				t.Helper()
				_, err := l.Append(ctx, decision(100+denied))
				if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tc.want) {
					t.Fatalf("%s: err = %v, want ErrUnavailable and %v", what, err, tc.want)
				}
				denied++
				checkClean(t, folder, acked)
			}
			mustFail("the failing append")
			failedAt := clock.Now()

			writes := faults.writeCount()
			clock.Add(100 * time.Millisecond)
			mustFail("an append before the retry interval")
			l.AppendAsync(Entry{Kind: KindOutcome, Body: map[string]any{"decision_id": "held", "status": "ok"}})
			if faults.writeCount() != writes {
				t.Fatal("the log retried within 250ms")
			}
			clock.Add(200 * time.Millisecond)
			mustFail("a retry while the fault lasts")
			if !tc.rotate && faults.writeCount() == writes {
				t.Fatal("no retry after 250ms")
			}

			faults.set(nil, nil, nil)
			mustFail("an append within 250ms of the failed retry")
			clock.Add(300 * time.Millisecond)
			seq, err := l.Append(ctx, decision(1000))
			if err != nil {
				t.Fatalf("after the fault cleared: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			recs := readLog(t, folder)
			var failure, resumed, held record
			for _, r := range recs[acked+1:] {
				switch {
				case r.kind() == KindAuditFailure:
					failure = r
				case r.kind() == KindResumed:
					resumed = r
				case r.str("decision_id") == "held":
					held = r
				}
			}
			if failure.line == nil || resumed.line == nil || held.line == nil {
				t.Fatalf("after the failure: %v", kinds(recs[acked+1:]))
			}
			fseq := failure.num(FieldSeq)
			if resumed.num(FieldSeq) != fseq+1 || resumed.num("after_failure_seq") != fseq || held.num(FieldSeq) <= fseq+1 || int64(seq) <= held.num(FieldSeq) {
				t.Fatalf("audit_failure %d, resumed %s, held %d, decision %d", fseq, resumed.line, held.num(FieldSeq), seq)
			}
			if failure.num("denied") != int64(denied) || failure.str("since") != failedAt.Format(TimeFormat) ||
				failure.str("until") != clock.Now().Format(TimeFormat) || !bytes.Contains([]byte(failure.str("error")), []byte(tc.want.Error())) {
				t.Fatalf("audit_failure %s, want denied %d since %s", failure.line, denied, failedAt.Format(TimeFormat))
			}
			if recs[seq].str("decision_id") != "d-1000" {
				t.Fatalf("seq %d is %s", seq, recs[seq].line)
			}
			if tc.rotate && countKind(recs, KindSegmentSealed) == 0 {
				t.Fatal("no rotation")
			}
			// The next process finds an intact log.
			l = mustOpen(t, opts)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			readLog(t, folder)
		})
	}
}

// TestCloseWhileFailed: Close tries once more; when that fails too it
// reports ErrUnavailable and leaves no partial line.
func TestCloseWhileFailed(t *testing.T) {
	dir := t.TempDir()
	faults := &faultFS{}
	opts := testOptions(t, dir)
	opts.OpenFile = faults.open
	l := mustOpen(t, opts)
	seq, err := l.Append(context.Background(), decision(1))
	if err != nil {
		t.Fatal(err)
	}
	faults.set(syscall.ENOSPC, nil, nil)
	if _, err := l.Append(context.Background(), decision(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close = %v", err)
	}
	checkClean(t, filepath.Join(dir, "main"), seq)
	faults.set(nil, nil, nil)
	l = mustOpen(t, opts) // the folder was released
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	readLog(t, filepath.Join(dir, "main"))
}
