package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/mod/sumdb/note"
)

// writer is the state of the log owned by the writer goroutine (and by Open
// before the goroutine starts): the chain, the tree, the segment being
// written and the failure state. Nothing else touches it.
type writer struct {
	opts   *Options
	log    hclog.Logger
	path   string // the log folder
	folder string
	origin string

	f           SegmentFile // the open segment; nil after a failure until a retry
	seg         segmentRef  // the segment records go to
	size        int64       // its durable length: what a write starts from
	opened      time.Time   // when its first record was written
	needSegment bool        // seg is a new segment: create it and start with segment_opened
	prevSegment string      // the sealed segment before seg, for segment_opened
	pruneDue    bool        // a rotation happened: apply retention with the next batch

	next            uint64 // seq of the next record
	last            Hash   // leaf hash of the last record
	tree            *Tree
	sinceCheckpoint int // records since the last checkpoint record

	// The batch being built: its bytes, its records, its newest checkpoint.
	buf   []byte
	items []batchItem
	note  []byte
	saved savedState
	own   preparedEntry // scratch for the log's own records

	// Failure state: writes failed at failSince; appends are refused until a
	// retry (at most every retryInterval) succeeds.
	failed    bool
	failSince time.Time
	failErr   error
	lastTry   time.Time
	denied    uint64     // sync appends refused since failSince
	held      []*request // AppendAsync entries kept for after the failure
	lost      uint64     // AppendAsync entries dropped (held was full)

	publisher *checkpointPublisher

	// Group commit pacing (see collect).
	lastWaiters int           // sync appends the last batch acknowledged
	lastAck     time.Time     // when
	epoch       atomic.Uint64 // counts the acknowledgements; appends note it when queued
	syncTime    time.Duration // moving average of write+sync
	batch       []*request
}

// batchItem is a record of the batch being built.
type batchItem struct {
	req *request // nil for the log's own records
	seq uint64
}

// savedState is what a failed batch rolls back to.
type savedState struct {
	next            uint64
	last            Hash
	tree            *Tree
	sinceCheckpoint int
	size            int64
	needSegment     bool
	opened          time.Time
}

func newWriter(opts *Options, logger hclog.Logger, path string, rec *recovery) (*writer, error) {
	w := &writer{
		opts:   opts,
		log:    logger,
		path:   path,
		folder: filepath.Base(path),
		origin: rec.origin,
		next:   rec.records,
		last:   rec.last,
		tree:   rec.tree,
		buf:    make([]byte, 0, 64<<10),
	}
	if w.origin == "" {
		o, err := newOrigin(opts.Hostname, w.folder)
		if err != nil {
			return nil, err
		}
		w.origin = o
	}
	w.publisher = newCheckpointPublisher(filepath.Join(path, CheckpointFile), logger)
	w.publisher.anchors = newAnchorWorkers(opts.anchors, w.origin, logger)
	return w, nil
}

// start makes the recovered folder ready to append (quarantining a torn
// tail, opening or creating the segment) and writes the records that open
// the log: segment_opened when a new segment starts, log_opened, then
// recovered_torn_tail and tamper_accepted when recovery found them.
func (w *writer) start(rec *recovery) error {
	now := w.opts.Now()
	if rec.torn != nil {
		if err := w.quarantine(rec.torn, now); err != nil {
			return fmt.Errorf("%w: quarantine a torn tail: %w", ErrUnavailable, err)
		}
	}
	reason := "reopened"
	switch {
	case rec.records == 0:
		reason = "created"
		w.seg = segmentRef{name: SegmentName(0)}
		w.needSegment = true // created (or emptied): no segment_opened in the first segment
	case rec.lastKind == KindSegmentSealed || rec.size == 0:
		// The newest segment is sealed, or was created and is still empty
		// (or misnamed, when damage was accepted): start the next one.
		w.seg = segmentRef{name: SegmentName(rec.records), first: rec.records}
		w.needSegment, w.prevSegment = true, rec.lastSegment
	default:
		w.seg, w.size, w.opened = rec.current, rec.size, rec.opened
		f, err := w.opts.OpenFile(filepath.Join(w.path, w.seg.name), os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%w: open segment: %w", ErrUnavailable, err)
		}
		w.f = f
		if w.opened.IsZero() {
			w.opened = now
		}
	}
	if w.needSegment {
		if err := w.createSegment(now); err != nil {
			return fmt.Errorf("%w: create segment: %w", ErrUnavailable, err)
		}
	}
	w.begin()
	if w.needSegment && w.seg.first > 0 {
		w.addSegmentOpened()
	}
	w.needSegment = false
	w.addOwn(Entry{Kind: KindLogOpened, Body: map[string]any{
		"pid":      os.Getpid(),
		"version":  w.opts.Version,
		"hostname": w.opts.Hostname,
		"key":      fmt.Sprintf("%s+%08x", w.opts.Keys.Verifier.Name(), w.opts.Keys.Verifier.KeyHash()),
		"reason":   reason,
	}})
	if err := w.addKeyRotation(rec.lastNote); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	w.prune(now)
	if t := rec.torn; t != nil {
		w.addOwn(Entry{Kind: KindRecoveredTornTail, Body: map[string]any{
			"segment":    t.segment,
			"offset":     t.offset,
			"bytes":      t.length,
			"quarantine": quarantineName(t, now),
		}})
	}
	if d := rec.damage; d != nil {
		// The chain goes on from the last line: seq is the number of lines,
		// so that every later checkpoint (size = its seq) is the root of
		// the lines as they are. A checkpoint right away replaces a
		// checkpoint file the damaged log no longer matches.
		w.addOwn(Entry{Kind: KindTamperAccepted, Body: map[string]any{
			"segment":       d.Segment,
			"first_bad_seq": d.Seq,
			"category":      d.Category,
			"detail":        d.Detail,
		}})
		if err := w.addCheckpoint(); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if rec.damage != nil {
		if err := w.publisher.write(); err != nil {
			return fmt.Errorf("%w: write checkpoint file: %w", ErrUnavailable, err)
		}
	}
	go w.publisher.run()
	return nil
}

// quarantine moves a torn tail aside: its bytes to quarantine/, then the
// segment is cut to the last complete record.
func (w *writer) quarantine(t *tornTail, now time.Time) error {
	dir := filepath.Join(w.path, QuarantineDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	name := filepath.Join(dir, quarantineName(t, now))
	src, err := os.Open(filepath.Join(w.path, t.segment))
	if err != nil {
		return err
	}
	defer src.Close()
	qf, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(qf, io.NewSectionReader(src, t.offset, t.length))
	if err == nil && n != t.length {
		err = fmt.Errorf("torn tail of %s: read %d bytes of %d", t.segment, n, t.length)
	}
	if err == nil {
		err = qf.Sync()
	}
	if cerr := qf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err == nil {
		err = syncDir(w.path)
	}
	if err != nil {
		return err
	}
	f, err := w.opts.OpenFile(filepath.Join(w.path, t.segment), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(t.offset)
	if err == nil {
		err = f.Datasync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		w.log.Warn("torn tail of the audit log quarantined", "segment", t.segment, "offset", t.offset, "bytes", t.length, "quarantine", name)
	}
	return err
}

func quarantineName(t *tornTail, now time.Time) string {
	return fmt.Sprintf("%s.%d.torn", t.segment, now.UnixNano())
}

// createSegment creates (or empties) the file of w.seg and makes its
// directory entry durable.
func (w *writer) createSegment(now time.Time) error {
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			w.log.Warn("closing the sealed segment", "error", err)
		}
		w.f = nil
	}
	f, err := w.opts.OpenFile(filepath.Join(w.path, w.seg.name), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return err
	}
	if err := syncDir(w.path); err != nil {
		f.Close()
		return err
	}
	w.f, w.size, w.opened = f, 0, now
	return nil
}

// begin starts a batch, saving the state a failure rolls back to.
func (w *writer) begin() {
	w.buf = w.buf[:0]
	w.items = w.items[:0]
	w.note = nil
	w.saved = savedState{
		next:            w.next,
		last:            w.last,
		tree:            w.tree.clone(),
		sinceCheckpoint: w.sinceCheckpoint,
		size:            w.size,
		needSegment:     w.needSegment,
		opened:          w.opened,
	}
}

// rollback undoes the records of a batch that was not made durable.
func (w *writer) rollback() {
	s := w.saved
	w.next, w.last, w.tree, w.sinceCheckpoint = s.next, s.last, s.tree, s.sinceCheckpoint
	w.size, w.needSegment, w.opened = s.size, s.needSegment, s.opened
	w.buf, w.items, w.note = w.buf[:0], w.items[:0], nil
}

// add appends p as the next record of the batch.
func (w *writer) add(p *preparedEntry, req *request) {
	ts := p.time
	if ts.IsZero() {
		ts = w.opts.Now()
	}
	start := len(w.buf)
	w.buf = appendPrepared(w.buf, w.origin, w.next, w.last, ts, p)
	leaf := LeafHash(w.buf[start:])
	w.buf = append(w.buf, '\n')
	if err := w.tree.Append(leaf); err != nil {
		panic(err) // cannot happen: a range from 0 only grows
	}
	w.items = append(w.items, batchItem{req: req, seq: w.next})
	w.last = leaf
	w.next++
	if p.kind == KindCheckpoint {
		w.sinceCheckpoint = 0
	} else {
		w.sinceCheckpoint++
	}
}

// addOwn adds a record of the log's own making.
func (w *writer) addOwn(e Entry) {
	if err := w.own.prepare(e); err != nil {
		// Its fields are built here: a bug, not a condition to handle.
		panic(fmt.Errorf("audit: record %s of the log itself: %w", e.Kind, err))
	}
	w.add(&w.own, nil)
}

// addCheckpoint adds a checkpoint record: the signed tree head of every
// record before it (size = its own seq), signed by the log's key, or by
// signers when given (a key rotation's co-signature).
func (w *writer) addCheckpoint(signers ...note.Signer) error {
	root, err := w.tree.Root()
	if err != nil {
		return err
	}
	if len(signers) == 0 {
		signers = []note.Signer{w.opts.Keys.Signer}
	}
	msg, err := Checkpoint{Origin: w.origin, Size: w.next, Root: root}.Sign(signers...)
	if err != nil {
		return fmt.Errorf("sign checkpoint: %w", err)
	}
	w.addOwn(Entry{Kind: KindCheckpoint, Body: map[string]any{
		"size": w.next,
		"root": encodeRoot(root),
		"note": string(msg),
	}})
	w.note = msg
	return nil
}

// flush writes the batch with one write and one fdatasync. On success the
// records are durable and the newest checkpoint goes to the checkpoint
// file; on failure the batch is rolled back and nothing of it stays in the
// file (as far as truncating allows: see fail).
func (w *writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	t0 := time.Now()
	if _, err := w.f.WriteAt(w.buf, w.size); err != nil {
		w.rollback()
		return fmt.Errorf("write %s: %w", w.seg.name, err)
	}
	if err := w.f.Datasync(); err != nil {
		w.rollback()
		return fmt.Errorf("sync %s: %w", w.seg.name, err)
	}
	d := time.Since(t0)
	w.syncTime += (d - w.syncTime) / 8
	w.size += int64(len(w.buf))
	if w.note != nil {
		w.publisher.publish(w.note)
		w.note = nil
	}
	return nil
}

// rotationDue tells whether the segment is full or old enough to seal.
func (w *writer) rotationDue(now time.Time) bool {
	return !w.needSegment && w.next > w.seg.first &&
		(w.size >= w.opts.MaxSegmentBytes || now.Sub(w.opened) >= w.opts.MaxSegmentAge)
}

// rotate seals the segment (a checkpoint, then segment_sealed as its last
// line, synced) and creates the next one, which the next batch starts with
// segment_opened.
func (w *writer) rotate(now time.Time) error {
	w.begin()
	if err := w.addCheckpoint(); err != nil {
		w.rollback()
		return err
	}
	sealed := w.seg.name
	w.addOwn(Entry{Kind: KindSegmentSealed, Body: map[string]any{
		"segment": sealed,
		"records": w.next - w.seg.first + 1, // with this line
		"next":    SegmentName(w.next + 1),
	}})
	if err := w.flush(); err != nil {
		return err
	}
	w.log.Info("audit segment sealed", "segment", sealed, "records", w.next-w.seg.first, "bytes", w.size)
	w.seg = segmentRef{name: SegmentName(w.next), first: w.next}
	w.needSegment, w.prevSegment = true, sealed
	w.pruneDue = w.opts.Retention > 0
	return w.createSegment(now)
}

// addSegmentOpened adds the first record of a new segment: the segment
// before it and the tree state of every record before it, which lets the
// log verify once the segments before are deleted.
func (w *writer) addSegmentOpened() {
	w.addOwn(Entry{Kind: KindSegmentOpened, Body: map[string]any{
		"segment":  w.seg.name,
		"previous": w.prevSegment,
		"tree":     w.tree.State().recordValue(),
	}})
}

// process commits one batch of requests: rotation or a retry first when due,
// then the records the log owes (segment_opened, audit_failure and resumed
// after a failure, the entries held meanwhile), the requests' records, the
// checkpoints due, and, when closing, log_closed and the final checkpoint.
//
// One batch is synced at a time. (Two fdatasyncs under way together do
// complete more syncs a second, but measured with the Append benchmark
// the batches then split in two and records/s drop: see collect.)
func (w *writer) process(reqs []*request, closing, tick bool) error {
	now := w.opts.Now()
	if w.failed && !closing && now.Sub(w.lastTry) < retryInterval {
		w.refuse(reqs)
		return w.failErr
	}
	if err := w.prepare(now); err != nil {
		w.fail(now, err)
		w.refuse(reqs)
		return err
	}
	w.begin()
	if w.needSegment {
		w.addSegmentOpened()
		w.needSegment = false
	}
	if w.pruneDue {
		w.pruneDue = false
		w.prune(now)
	}
	if w.failed {
		failureSeq := w.next
		w.addOwn(Entry{Kind: KindAuditFailure, Body: map[string]any{
			"since":  w.failSince.UTC().Format(TimeFormat),
			"until":  now.UTC().Format(TimeFormat),
			"error":  w.failErr.Error(),
			"denied": w.denied,
		}})
		w.addOwn(Entry{Kind: KindResumed, Body: map[string]any{"after_failure_seq": failureSeq}})
		for _, r := range w.held {
			w.add(&r.pre, r)
			w.maybeCheckpoint()
		}
	}
	for _, r := range reqs {
		if r.close {
			continue
		}
		w.add(&r.pre, r)
		w.maybeCheckpoint()
	}
	var err error
	switch {
	case closing:
		w.addOwn(Entry{Kind: KindLogClosed, Body: map[string]any{"pid": os.Getpid()}})
		if w.sinceCheckpoint > 0 {
			err = w.addCheckpoint()
		}
	case tick && w.sinceCheckpoint > 0:
		err = w.addCheckpoint()
	}
	if err != nil {
		w.rollback()
	} else {
		err = w.flush()
	}
	if err != nil {
		w.fail(now, err)
		w.refuse(reqs)
		return err
	}
	if w.failed {
		w.log.Info("audit log writes again", "since", w.failSince, "denied", w.denied, "held", len(w.held), "lost", w.lost)
		clear(w.held)
		w.held = w.held[:0]
		w.failed, w.failErr, w.denied, w.lost = false, nil, 0, 0
	}
	w.ack(w.items)
	return nil
}

// maybeCheckpoint adds a checkpoint when CheckpointEvery records were added
// since the last one.
func (w *writer) maybeCheckpoint() {
	if w.sinceCheckpoint >= w.opts.CheckpointEvery {
		if err := w.addCheckpoint(); err != nil {
			w.log.Error("audit checkpoint not signed", "error", err)
		}
	}
}

// prepare gets the segment ready for a batch: after a failure a fresh
// descriptor (or the new segment), otherwise a rotation when due.
func (w *writer) prepare(now time.Time) error {
	if w.failed {
		w.lastTry = now
		return w.reopen(now)
	}
	if w.f == nil && w.needSegment {
		return w.createSegment(now)
	}
	if w.rotationDue(now) {
		return w.rotate(now)
	}
	return nil
}

// ack answers the requests of a durable batch.
func (w *writer) ack(items []batchItem) {
	waiters := 0
	for i := range items {
		p := &items[i]
		if p.req == nil || p.req.done == nil {
			continue
		}
		waiters++
		p.req.done <- result{seq: p.seq}
		p.req = nil
	}
	w.lastWaiters = waiters
	w.lastAck = time.Now()
	w.epoch.Add(1)
}

// finish closes the writer after the close request: the checkpoint file
// gets the newest checkpoint, the segment is closed.
func (w *writer) finish() error {
	if w.failed && len(w.held)+int(w.lost) > 0 {
		w.log.Error("audit records lost: the log could not write them before it closed", "records", len(w.held)+int(w.lost))
	}
	err := w.publisher.stop(true)
	if err != nil {
		err = fmt.Errorf("write checkpoint file: %w", err)
	}
	if w.f != nil {
		if cerr := w.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close segment: %w", cerr)
		}
		w.f = nil
	}
	return err
}

// shutdown releases what start opened when Open fails.
func (w *writer) shutdown() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}

// clone copies the tree (its compact range: at most 64 hashes).
func (t *Tree) clone() *Tree {
	r, err := rangeFactory.NewRange(t.r.Begin(), t.r.End(), slices.Clone(t.r.Hashes()))
	if err != nil {
		panic(errors.New("audit: copy of a valid range refused: " + err.Error()))
	}
	return &Tree{r: r}
}
