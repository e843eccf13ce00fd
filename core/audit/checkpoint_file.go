package audit

import (
	"encoding/base64"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// checkpointPublisher writes the newest checkpoint note to the log's
// checkpoint file, off the writer goroutine (a rename and two fsyncs would
// hold up the next batch), and hands it to the anchors, each of which
// publishes on a goroutine of its own (anchorWorker). Only the newest note
// matters: notes published while a write is under way replace each other.
type checkpointPublisher struct {
	path    string
	anchors []*anchorWorker // where the note also goes (Options.Anchors)
	log     hclog.Logger

	mu      sync.Mutex
	pending []byte // the newest note not yet written

	kick chan struct{}
	done chan struct{}
}

func newCheckpointPublisher(path string, logger hclog.Logger) *checkpointPublisher {
	return &checkpointPublisher{path: path, log: logger, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// publish hands over a note whose checkpoint record is durable.
func (p *checkpointPublisher) publish(note []byte) {
	p.mu.Lock()
	p.pending = note
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// run writes the published notes until stop.
func (p *checkpointPublisher) run() {
	defer close(p.done)
	for _, a := range p.anchors {
		go a.run()
	}
	for range p.kick {
		if err := p.write(); err != nil {
			p.log.Error("cannot write the audit checkpoint file; the next checkpoint retries", "path", p.path, "error", err)
		}
	}
}

// write writes the pending note, if any, atomically. A note that could not
// be written stays pending unless a newer one arrived.
func (p *checkpointPublisher) write() error {
	p.mu.Lock()
	note := p.pending
	p.pending = nil
	p.mu.Unlock()
	if note == nil {
		return nil
	}
	err := writeFileAtomic(p.path, note, 0o644)
	if err != nil {
		p.mu.Lock()
		if p.pending == nil {
			p.pending = note
		}
		p.mu.Unlock()
	}
	for _, a := range p.anchors {
		a.submit(note)
	}
	return err
}

// stop ends run (if it was started) and writes the last note: after it, the
// file holds the newest checkpoint, and the anchors have taken it or were
// given up on after anchorTimeout (stopAnchorWorkers).
func (p *checkpointPublisher) stop(started bool) error {
	close(p.kick)
	if started {
		<-p.done
	}
	err := p.write()
	stopAnchorWorkers(p.anchors, started, p.log)
	return err
}

func encodeRoot(root Hash) string { return base64.StdEncoding.EncodeToString(root[:]) }
