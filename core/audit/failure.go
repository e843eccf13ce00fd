package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The failed state. A write or sync error (or a segment that cannot be
// created) fails the batch: its records are rolled back and cut from the
// file, its sync appends get ErrUnavailable, and so does every append until
// a retry succeeds. Retries happen on an append (there is no timer), at
// most every retryInterval, each on a fresh descriptor. The batch that
// succeeds starts with audit_failure and resumed, then the AppendAsync
// entries held meanwhile.

// fail enters (or stays in) the failed state after err. The segment is cut
// back to its durable length, so no partial line stays in it, and closed:
// after a failed write or sync a descriptor is not trusted again (the
// kernel may have dropped the dirty pages and reports that only once).
func (w *writer) fail(now time.Time, err error) {
	if !w.failed {
		w.failed, w.failSince, w.denied = true, now, 0
		w.log.Error("audit log cannot write; requests are denied until it can", "error", err)
	} else {
		w.log.Debug("audit log retry failed", "error", err)
	}
	w.failErr, w.lastTry = err, now
	if w.f != nil {
		if terr := w.f.Truncate(w.size); terr != nil {
			w.log.Warn("cannot cut the segment back after a failed write; a retry will", "error", terr)
		}
		_ = w.f.Close()
		w.f = nil
	}
}

// reopen is the first step of a retry: a fresh descriptor on the segment,
// cut back to its durable length.
func (w *writer) reopen(now time.Time) error {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.needSegment {
		return w.createSegment(now)
	}
	f, err := w.opts.OpenFile(filepath.Join(w.path, w.seg.name), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := f.Truncate(w.size); err != nil {
		f.Close()
		return err
	}
	w.f = f
	return nil
}

// refuse answers the sync requests of a batch that was not written with
// ErrUnavailable and holds its async entries for after the failure.
func (w *writer) refuse(reqs []*request) {
	for _, r := range reqs {
		if !r.close {
			w.refuseOne(r)
		}
	}
	w.lastWaiters = 0
}

func (w *writer) refuseOne(r *request) {
	switch {
	case r.done != nil:
		w.denied++
		r.done <- result{err: fmt.Errorf("%w: %w", ErrUnavailable, w.failErr)}
	case len(w.held) < w.opts.QueueSize:
		w.held = append(w.held, r)
	default:
		w.lost++
		if w.lost == 1 || w.lost%1000 == 0 {
			w.log.Error("audit records dropped while the log cannot write", "kind", r.pre.kind, "dropped", w.lost)
		}
	}
}
