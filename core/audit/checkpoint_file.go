package audit

import (
	"encoding/base64"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// checkpointPublisher writes the newest checkpoint note to the log's
// checkpoint file, off the writer goroutine (a rename and two fsyncs would
// hold up the next batch). Only the newest note matters: notes published
// while a write is under way replace each other.
type checkpointPublisher struct {
	path    string
	anchors []string // more files the note is copied to (Options.Anchors)
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
		if aerr := writeFileAtomic(a, note, 0o644); aerr != nil {
			p.log.Warn("cannot copy the audit checkpoint to an anchor; the next checkpoint retries", "anchor", a, "error", aerr)
		}
	}
	return err
}

// anchorFiles are the files in the anchor directories a log's checkpoints
// are copied to, one name per origin so that logs (and machines) sharing an
// anchor directory do not overwrite each other.
func anchorFiles(dirs []string, origin string) []string {
	name := strings.NewReplacer("/", "_", "\\", "_").Replace(origin) + ".checkpoint"
	out := make([]string, 0, len(dirs))
	for _, d := range dirs {
		out = append(out, filepath.Join(d, name))
	}
	return out
}

// stop ends run (if it was started) and writes the last note: after it, the
// file holds the newest checkpoint.
func (p *checkpointPublisher) stop(started bool) error {
	close(p.kick)
	if started {
		<-p.done
	}
	return p.write()
}

func encodeRoot(root Hash) string { return base64.StdEncoding.EncodeToString(root[:]) }
