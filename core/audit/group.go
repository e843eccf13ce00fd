package audit

import (
	"fmt"
	"runtime"
	"time"
)

// maxLinger bounds how long a batch waits for callers (see collect).
const maxLinger = time.Millisecond

// run is the writer goroutine: it takes batches of requests off the queue
// and commits each with one write and one sync, appends the interval
// checkpoints, and ends after Close's request.
func (l *Log) run(interval time.Duration) {
	defer close(l.stopped)
	w := l.w
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case r := <-l.queue:
			batch, closing := l.collect(r)
			err := w.process(batch, closing, false)
			if closing {
				if ferr := w.finish(); err == nil && ferr != nil {
					err = ferr
				}
				if err != nil {
					err = fmt.Errorf("%w: %w", ErrUnavailable, err)
				}
				batch[len(batch)-1].done <- result{err: err}
				return
			}
			clear(batch)
			w.batch = batch[:0]
		case <-ticker.C:
			if !w.failed && w.sinceCheckpoint > 0 {
				_ = w.process(nil, false, true)
			}
		}
	}
}

// collect gathers a batch: first, then whatever is queued (at most a queue's
// worth), stopping at Close's request.
//
// Callers acknowledged together come back together, a moment later. A
// writer that starts the next sync at once takes only those that queued
// during the last sync, and the callers split into two halves that
// alternate, each waiting for two syncs. So when the last batch
// acknowledged several callers, some of whom are coming back, collect waits
// for the others until a quarter of a sync (never more than maxLinger)
// after that acknowledgement, and no longer than it takes them. A lone
// caller never waits, nor do callers that come back later (a proxy's
// callers forward their request first). (A fixed wait would add its whole
// length to every append.)
func (l *Log) collect(first *request) ([]*request, bool) {
	w := l.w
	batch := w.batch[:0]
	// back counts the sync appends queued since the last acknowledgement.
	epoch, back := w.epoch.Load(), 0
	take := func(r *request) bool {
		batch = append(batch, r)
		if r.done != nil && !r.close && r.epoch == epoch {
			back++
		}
		return r.close
	}
	if take(first) {
		return batch, true
	}
	limit := cap(l.queue)
drain:
	for len(batch) < limit {
		select {
		case r := <-l.queue:
			if take(r) {
				return batch, true
			}
		default:
			break drain
		}
	}
	deadline := w.lastAck.Add(min(w.syncTime/4, maxLinger))
	if w.failed || back >= w.lastWaiters || !time.Now().Before(deadline) {
		return batch, false
	}
	// Yield to the callers rather than sleep on a timer: timers are too
	// coarse for waits this short, and the callers need the CPU to come
	// back. If none came back after the first yield, they are not coming
	// soon (they are busy elsewhere): stop.
	for yielded := false; back < w.lastWaiters && len(batch) < limit; {
		select {
		case r := <-l.queue:
			if take(r) {
				return batch, true
			}
			continue
		default:
		}
		if yielded && back == 0 || !time.Now().Before(deadline) {
			break
		}
		runtime.Gosched()
		yielded = true
	}
	return batch, false
}
