package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Errors of the log. ErrUnavailable is the one callers act on: the record
// was not made durable, so the request it describes must be denied.
var (
	// ErrUnavailable: the record was not written and synced (disk full, I/O
	// error, the log closed or failed). Fail closed.
	ErrUnavailable = errors.New("audit log unavailable")
	// ErrClosed: the log was closed; it comes wrapped with ErrUnavailable.
	ErrClosed = errors.New("audit log closed")
	// ErrInvalidOptions: Options that Open cannot work with (operator).
	ErrInvalidOptions = errors.New("invalid audit log options")
	// ErrInvalidEntry: an entry that cannot become a record (a reserved or
	// non-canonical field, no kind): a bug in the caller.
	ErrInvalidEntry = errors.New("invalid audit entry")
)

// Defaults of Options.
const (
	DefaultName               = "main"
	DefaultMaxSegmentBytes    = 64 << 20
	DefaultMaxSegmentAge      = 24 * time.Hour
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Second
	DefaultQueueSize          = 4096
)

// retryInterval is how often, at most, a failed log tries to write again
// (on an append: a failed log has no timer of its own).
const retryInterval = 250 * time.Millisecond

// Options configure Open. Dir and Keys are required.
type Options struct {
	// Dir is the audit directory (<data_dir>/audit); log folders are
	// created under it.
	Dir string
	// Name is the base log name, default "main": the log used is the first
	// of main, main-2, main-3… whose LOCK this process can flock.
	Name string
	// Keys sign the checkpoints (Signer) and check the log at Open
	// (Verifier); see LoadOrCreateKeys.
	Keys Keys
	// Version is sovereign's version, recorded in log_opened.
	Version string
	// MaxSegmentBytes rotates a segment once it is this long (default 64 MiB).
	MaxSegmentBytes int64
	// MaxSegmentAge rotates a segment once its first record is this old
	// (default 24h), at the next write.
	MaxSegmentAge time.Duration
	// CheckpointEvery appends a checkpoint after this many records
	// (default 1000; checkpoint records do not count).
	CheckpointEvery int
	// CheckpointInterval appends a checkpoint this often when records were
	// added since the last one (default 1s).
	CheckpointInterval time.Duration
	// Retention deletes whole sealed segments whose last record is older
	// than this, at rotation and at Open (0, the default, keeps them all).
	Retention time.Duration
	// Anchors are where every new checkpoint of the log is also published,
	// ideally places the proxy's user cannot change afterwards; what verify
	// --checkpoint takes to detect truncation. Each entry is a directory
	// (the note is written there as <origin with "/" replaced by
	// "_">.checkpoint), "syslog:" (the local syslog),
	// "syslog+udp://host[:port]" or "syslog+tcp://host[:port]" (a syslog
	// server; port 514 by default) or an "http://" or "https://" URL the
	// note is POSTed to (docs/audit-format.md, "Anchors"); anything else
	// with a scheme is ErrInvalidOptions. Each anchor publishes on its own
	// goroutine, at most 5s a note; a failure is logged and the next
	// checkpoint retries; it never stops the log. Close waits at most 5s
	// for the anchors to take the last checkpoint.
	Anchors []string
	// AcceptDamage starts over a damaged log instead of refusing to open,
	// appending tamper_accepted (the operator's --audit-accept-damage).
	AcceptDamage bool
	// QueueSize bounds the appends waiting for the writer (default 4096);
	// when it is full, Append and AppendAsync wait.
	QueueSize int
	// Logger is the operational log (stderr); nil discards.
	Logger hclog.Logger
	// Now is the clock of the records' ts, segment age and failure retries
	// (default time.Now).
	Now func() time.Time
	// OpenFile opens segment files for writing (default: os.OpenFile, with
	// fdatasync as Datasync). Tests replace it to inject faults.
	OpenFile OpenFileFunc
	// Hostname goes into the origin of a new log and log_opened (default
	// os.Hostname).
	Hostname string

	anchors []anchor // Anchors, parsed by setDefaults
}

func (o *Options) setDefaults() error {
	var problems []error
	if o.Dir == "" {
		problems = append(problems, errors.New("no audit directory"))
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if strings.ContainsAny(o.Name, `/\`) || o.Name == "." || o.Name == ".." {
		problems = append(problems, fmt.Errorf("log name %q is not a plain name", o.Name))
	}
	if o.Keys.Signer == nil || o.Keys.Verifier == nil {
		problems = append(problems, errors.New("no signing or verifier key"))
	}
	if o.MaxSegmentBytes == 0 {
		o.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if o.MaxSegmentAge == 0 {
		o.MaxSegmentAge = DefaultMaxSegmentAge
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxSegmentBytes < 0 || o.MaxSegmentAge < 0 || o.CheckpointEvery < 0 || o.CheckpointInterval < 0 || o.QueueSize < 0 || o.Retention < 0 {
		problems = append(problems, errors.New("negative size, age, interval or count"))
	}
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenFile == nil {
		o.OpenFile = openOSFile
	}
	if o.Hostname == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "unknown"
		}
		o.Hostname = h
	}
	o.Hostname = originSafe(o.Hostname)
	anchors, err := parseAnchors(o.Anchors, o.Hostname)
	if err != nil {
		problems = append(problems, err)
	}
	o.anchors = anchors
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	return nil
}

// Log is the durable writer of one audit log: one goroutine assigns seq,
// prev and ts, encodes the records in order and commits each batch of
// pending appends with one write and one fdatasync (group commit). It holds
// the log folder's lock until Close.
type Log struct {
	folder string // the folder's name, e.g. "main-2"
	origin string
	lock   *os.File
	log    hclog.Logger

	queue   chan *request
	mu      sync.RWMutex // held for reading while enqueueing; Close takes it to stop appends
	closed  bool
	stopped chan struct{} // closed when the writer goroutine has returned
	w       *writer

	closeOnce sync.Once
	closeErr  error
}

// request is one append on its way to the writer.
type request struct {
	pre   preparedEntry
	done  chan result // nil for AppendAsync
	close bool        // Close's request, always the last one
	epoch uint64      // the writer's epoch when queued (see collect)
}

type result struct {
	seq uint64
	err error
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan result, 1)} }}

// Open takes a log folder under opts.Dir (see Options.Name), recovers it as
// docs/audit-format.md says ("Recovery at start": it reads the newest
// segment, starting from the chain head and Merkle tree state its
// segment_opened carries, which a signed checkpoint in it must vouch for;
// it quarantines a torn tail and refuses a damaged log unless
// opts.AcceptDamage), appends log_opened and starts the writer. It does
// not check the segments before the newest: that is Verify's job. A
// damaged log gives a *DamageError (errors.Is ErrDamaged).
func Open(ctx context.Context, opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit directory: %w", err)
	}
	folder, lock, err := lockFolder(opts.Dir, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	path := filepath.Join(opts.Dir, folder)
	logger := opts.Logger.With("log", folder)
	rec, err := recoverLog(ctx, path, folder, opts.Keys)
	if err == nil && rec.damage != nil && !opts.AcceptDamage {
		err = rec.damage
	}
	if err != nil {
		lock.Close()
		return nil, err
	}
	if rec.damage != nil {
		logger.Error("audit log is damaged; continuing because damage is accepted",
			"segment", rec.damage.Segment, "seq", rec.damage.Seq, "category", rec.damage.Category, "detail", rec.damage.Detail)
	}
	w, err := newWriter(&opts, logger, path, rec)
	if err != nil {
		lock.Close()
		return nil, err
	}
	if err := w.start(rec); err != nil {
		w.shutdown()
		lock.Close()
		return nil, err
	}
	l := &Log{
		folder:  folder,
		origin:  w.origin,
		lock:    lock,
		log:     logger,
		queue:   make(chan *request, opts.QueueSize),
		stopped: make(chan struct{}),
		w:       w,
	}
	checkedFrom := uint64(0) // the first record recovery read and checked
	if rec.imported {
		checkedFrom = rec.importSeq
	}
	logger.Info("audit log opened", "folder", path, "origin", w.origin, "records", w.next, "checked_from_seq", checkedFrom)
	go l.run(opts.CheckpointInterval)
	return l, nil
}

// Origin is the log's origin, in every record and checkpoint.
func (l *Log) Origin() string { return l.origin }

// Folder is the name of the log folder in use ("main", "main-2"…).
func (l *Log) Folder() string { return l.folder }

// Append writes e as the next record and returns its seq once the record is
// written and fdatasync'ed, sharing the write and the sync with the appends
// pending at the same time. Any error means the record is not known to be
// durable and the request it describes must be denied: it wraps
// ErrUnavailable when the log cannot write (and until a retry succeeds) or
// when ctx ended first (then with ctx's error; the record may still be
// written), or it is ErrInvalidEntry. The body is encoded before Append
// queues it.
func (l *Log) Append(ctx context.Context, e Entry) (uint64, error) {
	if ctx.Err() != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
	}
	r := requestPool.Get().(*request)
	err := r.pre.prepare(e)
	if err == nil {
		err = l.enqueue(ctx, r)
	}
	if err != nil {
		requestPool.Put(r)
		return 0, err
	}
	select {
	case res := <-r.done:
		requestPool.Put(r)
		return res.seq, res.err
	case <-ctx.Done():
		// The writer still owns r; it is left to the garbage collector.
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
	}
}

// AppendAsync queues e to be written, in order with the other appends, by
// the next group commit; nothing reports whether it became durable. It
// does not wait for the write, only for room in the bounded queue: when the
// queue is full (the disk is slower than the appends) it blocks until the
// writer takes a batch. While the log is failed, async entries are held (as
// many as the queue holds) and written once writing works again; beyond
// that they are dropped with an error in the operational log. After Close,
// or when e is not a valid entry, it drops e (logged). The body is encoded
// before AppendAsync returns.
func (l *Log) AppendAsync(e Entry) {
	r := &request{}
	err := r.pre.prepare(e)
	if err == nil {
		err = l.enqueue(context.Background(), r)
	}
	if err != nil {
		l.log.Error("audit record dropped", "kind", e.Kind, "error", err)
	}
}

func (l *Log) enqueue(ctx context.Context, r *request) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return fmt.Errorf("%w: %w", ErrUnavailable, ErrClosed)
	}
	r.epoch = l.w.epoch.Load()
	select {
	case l.queue <- r:
		return nil
	default:
	}
	select {
	case l.queue <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
	}
}

// Close writes the pending appends, log_closed and a final checkpoint,
// syncs them, writes the checkpoint file and releases the log folder.
// Appends after Close fail with ErrClosed. It returns the first error of
// these steps (the folder is released regardless).
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		r := &request{done: make(chan result, 1), close: true}
		l.queue <- r // no append can be queued after it
		res := <-r.done
		<-l.stopped
		l.closeErr = res.err
		if err := l.lock.Close(); err != nil && l.closeErr == nil {
			l.closeErr = fmt.Errorf("audit: unlock: %w", err)
		}
		if l.closeErr != nil {
			l.log.Error("audit log closed with an error", "error", l.closeErr)
		} else {
			l.log.Info("audit log closed", "records", l.w.next)
		}
	})
	return l.closeErr
}

// newOrigin is the origin of a new log:
// sovereign/<hostname>/<log folder>/<16 hex random>.
func newOrigin(hostname, folder string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("audit origin: %w", err)
	}
	return "sovereign/" + hostname + "/" + originSafe(folder) + "/" + hex.EncodeToString(b[:]), nil
}

// originSafe keeps an origin component printable and free of the
// separators of origins and notes ('/', '+', spaces, newlines).
func originSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
