package audit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/internal/anchorspec"
)

// anchorTimeout bounds one publication to an anchor, and how long Close
// waits for the anchors to take the last checkpoint. A variable for tests.
var anchorTimeout = 5 * time.Second

// anchorStopGrace is how long stop still waits, after anchorTimeout, for
// the anchors it cancelled to return.
const anchorStopGrace = 250 * time.Millisecond

// anchorWarnEvery bounds the warnings of an anchor that keeps failing: the
// first failure, then one a minute with the count, then one when it works
// again.
const anchorWarnEvery = time.Minute

// anchor is a place outside the log every new checkpoint note is published
// to (Options.Anchors): a directory, syslog or an HTTP endpoint. An anchor
// is used by one goroutine at a time (its anchorWorker).
type anchor interface {
	// publish hands over one note of the log with this origin; ctx bounds
	// it (anchorTimeout).
	publish(ctx context.Context, origin string, note []byte) error
	// close releases a connection the anchor keeps.
	close() error
	// String names the anchor for the operational log, without credentials.
	String() string
}

// parseAnchors builds the anchors of Options.Anchors (the grammar is
// core/internal/anchorspec's); hostname is the one of syslog messages.
func parseAnchors(entries []string, hostname string) ([]anchor, error) {
	var (
		out      []anchor
		problems []error
	)
	for i, e := range entries {
		spec, err := anchorspec.Parse(e)
		if err == nil {
			var a anchor
			a, err = newAnchor(spec, hostname)
			if err == nil {
				out = append(out, a)
				continue
			}
		}
		problems = append(problems, fmt.Errorf("anchor %d %w", i+1, err))
	}
	return out, errors.Join(problems...)
}

func newAnchor(s anchorspec.Spec, hostname string) (anchor, error) {
	switch s.Kind {
	case anchorspec.Dir:
		return dirAnchor(s.Path), nil
	case anchorspec.LocalSyslog:
		return newLocalSyslogAnchor()
	case anchorspec.RemoteSyslog:
		return &remoteSyslogAnchor{network: s.Network, addr: s.Addr, hostname: hostname}, nil
	case anchorspec.HTTP:
		return newHTTPAnchor(s), nil
	}
	return nil, fmt.Errorf("has an unknown kind %d", s.Kind)
}

// dirAnchor is a directory: each note is written there atomically as
// anchorFileName(origin), replacing the previous one.
type dirAnchor string

func (d dirAnchor) publish(_ context.Context, origin string, note []byte) error {
	return writeFileAtomic(filepath.Join(string(d), anchorFileName(origin)), note, 0o644)
}

func (d dirAnchor) close() error   { return nil }
func (d dirAnchor) String() string { return string(d) }

// anchorFileName is the name of a log's checkpoint in an anchor directory,
// one per origin so that logs (and machines) sharing an anchor directory
// do not overwrite each other.
func anchorFileName(origin string) string {
	return strings.NewReplacer("/", "_", "\\", "_").Replace(origin) + ".checkpoint"
}

// anchorWorker publishes the notes of one log to one anchor on its own
// goroutine, so that a slow or hung anchor holds up neither the writer, the
// checkpoint file nor the other anchors. One publication is in flight at a
// time and only the newest note waits: notes submitted meanwhile replace
// each other. A failed publication is not repeated; the next note retries.
type anchorWorker struct {
	a      anchor
	origin string
	log    hclog.Logger

	ctx    context.Context // cancelled when stop stops waiting
	cancel context.CancelFunc

	mu      sync.Mutex
	pending []byte

	kick chan struct{} // capacity 1
	quit chan struct{} // closed by stop: publish what is pending and return
	done chan struct{} // closed when run returns

	// Owned by run.
	failures int       // consecutive failed publications
	warned   time.Time // when they were last warned about
}

func newAnchorWorkers(anchors []anchor, origin string, logger hclog.Logger) []*anchorWorker {
	out := make([]*anchorWorker, 0, len(anchors))
	for _, a := range anchors {
		ctx, cancel := context.WithCancel(context.Background())
		out = append(out, &anchorWorker{
			a: a, origin: origin, log: logger, ctx: ctx, cancel: cancel,
			kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		})
	}
	return out
}

// submit makes note the next one to publish; it never blocks.
func (w *anchorWorker) submit(note []byte) {
	w.mu.Lock()
	w.pending = note
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// run publishes the submitted notes until stop, then the last one.
func (w *anchorWorker) run() {
	defer close(w.done)
	defer func() {
		if err := w.a.close(); err != nil {
			w.log.Debug("cannot close an audit anchor", "anchor", w.a.String(), "error", err)
		}
	}()
	for {
		select {
		case <-w.kick:
			w.publishPending()
		case <-w.quit:
			w.publishPending()
			return
		}
	}
}

func (w *anchorWorker) publishPending() {
	w.mu.Lock()
	note := w.pending
	w.pending = nil
	w.mu.Unlock()
	if note == nil {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, anchorTimeout)
	err := w.a.publish(ctx, w.origin, note)
	cancel()
	w.report(err)
}

// report logs a failure (boundedly, see anchorWarnEvery) or a recovery.
func (w *anchorWorker) report(err error) {
	if err == nil {
		if w.failures > 0 {
			w.log.Info("audit anchor works again", "anchor", w.a.String(), "failed_checkpoints", w.failures)
			w.failures = 0
		}
		return
	}
	w.failures++
	if now := time.Now(); w.failures == 1 || now.Sub(w.warned) >= anchorWarnEvery {
		w.log.Warn("cannot publish the audit checkpoint to an anchor; the next checkpoint retries",
			"anchor", w.a.String(), "failed_checkpoints", w.failures, "error", err)
		w.warned = now
	}
}

// stopAnchorWorkers asks the workers to publish their last note and waits
// for them at most anchorTimeout (plus anchorStopGrace once the ones still
// busy are cancelled). A worker stuck in a call that ignores cancellation
// (a file on a hung mount, a blocked local syslog socket) is left behind:
// it is a single goroutine that returns when the call does.
func stopAnchorWorkers(workers []*anchorWorker, started bool, logger hclog.Logger) {
	if !started {
		for _, w := range workers {
			w.cancel()
		}
		return
	}
	for _, w := range workers {
		close(w.quit)
	}
	defer func() {
		for _, w := range workers {
			w.cancel()
		}
	}()
	timer := time.NewTimer(anchorTimeout)
	defer timer.Stop()
	cancelled, late := false, false
next:
	for _, w := range workers {
		for !late {
			select {
			case <-w.done:
				continue next
			case <-timer.C:
				if cancelled {
					late = true
					break
				}
				for _, x := range workers {
					x.cancel()
				}
				cancelled = true
				timer.Reset(anchorStopGrace)
			}
		}
		select {
		case <-w.done:
		default:
			logger.Warn("an audit anchor did not take the last checkpoint in time; left behind", "anchor", w.a.String(), "timeout", anchorTimeout)
		}
	}
}
