package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Reading records, for people (sovereign audit show, tail, export). A
// LogReader decodes the complete lines of one log folder in order and
// checks nothing else: whether the log is intact is Verify's question.

// ErrNotRecord is wrapped by the *ReadError of a line that is not a record.
var ErrNotRecord = errors.New("not an audit record")

// ErrCutBack is wrapped by the *ReadError a follower gets when the segment
// it reads became shorter: the writer cut back a batch whose write failed
// (or recovery cut a torn tail). Records already returned from the part cut
// off were never durable.
var ErrCutBack = errors.New("segment cut back")

// ReadError is a line a LogReader could not decode, or a cut-back
// segment. The reader goes on with the next line.
type ReadError struct {
	Log     string // the log folder's name
	Segment string // the segment file
	Line    int64  // 1-based line number in the segment (0 for ErrCutBack)
	Err     error
}

func (e *ReadError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s/%s: %v", e.Log, e.Segment, e.Err)
	}
	return fmt.Sprintf("%s/%s line %d: %v", e.Log, e.Segment, e.Line, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// Record is one record as read from a log.
type Record struct {
	Log     string    // the log folder's name ("main", "main-2", …)
	Segment string    // the segment file it is in
	Line    []byte    // the line exactly as stored, without "\n"
	Seq     uint64    // "seq"
	Time    time.Time // "ts"
	Kind    string    // "kind"
	// Fields is the decoded record, numbers as json.Number.
	Fields map[string]any
}

// Field returns the value at path (keys of nested objects), or nil.
func (r *Record) Field(path ...string) any {
	var v any = r.Fields
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// Str returns the string at path, or "".
func (r *Record) Str(path ...string) string {
	s, _ := r.Field(path...).(string)
	return s
}

// Bool returns the boolean at path and whether there is one.
func (r *Record) Bool(path ...string) (value, ok bool) {
	value, ok = r.Field(path...).(bool)
	return value, ok
}

// Int returns the integer at path and whether there is one.
func (r *Record) Int(path ...string) (int64, bool) {
	n, ok := r.Field(path...).(json.Number)
	if !ok {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// Strings returns the strings of the array at path (other elements are
// skipped).
func (r *Record) Strings(path ...string) []string {
	arr, _ := r.Field(path...).([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// ParseRecord decodes one line (without "\n") into a Record. It checks the
// line is a JSON object with an integer "seq", a "ts" and a "kind"; not that
// it is canonical or chained (Verify does).
func ParseRecord(line []byte) (*Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the object", ErrNotRecord)
	}
	if fields == nil {
		return nil, fmt.Errorf("%w: not an object", ErrNotRecord)
	}
	r := &Record{Line: line, Fields: fields}
	n, ok := fields[FieldSeq].(json.Number)
	if !ok {
		return nil, fmt.Errorf("%w: no seq", ErrNotRecord)
	}
	seq, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: seq %s", ErrNotRecord, n)
	}
	r.Seq = seq
	ts, _ := fields[FieldTime].(string)
	if r.Time, err = time.Parse(TimeFormat, ts); err != nil {
		if r.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return nil, fmt.Errorf("%w: ts %q", ErrNotRecord, ts)
		}
	}
	if r.Kind, _ = fields[FieldKind].(string); r.Kind == "" {
		return nil, fmt.Errorf("%w: no kind", ErrNotRecord)
	}
	return r, nil
}

// LogReader reads the records of one log folder in order, across its
// segments. At the end it returns io.EOF; called again later, it returns
// what was appended meanwhile, following the writer into new segments (tail
// -f). A last line without "\n" (a write in progress, or a torn tail that
// recovery has not moved yet) is left for later. A LogReader is not safe
// for concurrent use.
type LogReader struct {
	folder, name string
	segs         []segOnDisk
	cur          int // index in segs of the open segment; the next to open when f is nil
	f            *os.File
	br           *bufio.Reader
	off          int64 // offset of the next unread line in the open segment
	lineNo       int64
	newer        bool // a later segment than the open one exists
	line         []byte
}

// OpenLogReader opens the log folder for reading from its first segment.
func OpenLogReader(folder string) (*LogReader, error) {
	lf, err := readLogFolder(folder)
	if err != nil {
		return nil, err
	}
	return &LogReader{folder: folder, name: filepath.Base(folder), segs: lf.segs}, nil
}

// Name is the log folder's name.
func (r *LogReader) Name() string { return r.name }

// Segments lists the segment files known to the reader, in seq order.
func (r *LogReader) Segments() []string {
	out := make([]string, len(r.segs))
	for i, s := range r.segs {
		out[i] = s.name
	}
	return out
}

// SeekSegment positions the reader at the start of the segment file name.
func (r *LogReader) SeekSegment(name string) error {
	for i, s := range r.segs {
		if s.name == name {
			r.closeSegment()
			r.cur = i
			return nil
		}
	}
	return fmt.Errorf("%s: no segment %s", r.folder, name)
}

// SeekTime positions the reader at the start of the last segment whose
// first record is not later than t (the first segment if there is none), so
// that reading on finds every record from t on, as long as the records' ts
// do not go back in time across segments.
func (r *LogReader) SeekTime(t time.Time) error {
	at := 0
	for i := len(r.segs) - 1; i > 0; i-- {
		first, err := firstRecord(r.segs[i].path)
		if err != nil || first == nil {
			continue // unreadable or empty: not a place to start from
		}
		if !first.Time.After(t) {
			at = i
			break
		}
	}
	if len(r.segs) == 0 {
		return nil
	}
	return r.SeekSegment(r.segs[at].name)
}

// firstRecord reads the first record of a segment; nil for an empty one.
func firstRecord(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64<<10).ReadSlice('\n')
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseRecord(bytes.Clone(line[:len(line)-1]))
}

// Close releases the open segment.
func (r *LogReader) Close() error {
	r.closeSegment()
	return nil
}

func (r *LogReader) closeSegment() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.off, r.lineNo, r.newer = 0, 0, false
}

// refresh adds the segments created since the reader listed them.
func (r *LogReader) refresh() error {
	lf, err := readLogFolder(r.folder)
	if err != nil {
		return err
	}
	var last uint64
	if n := len(r.segs); n > 0 {
		last = r.segs[n-1].seq
	}
	for _, s := range lf.segs {
		if len(r.segs) == 0 || s.seq > last {
			r.segs = append(r.segs, s)
		}
	}
	return nil
}

// Next returns the next record. It returns io.EOF when there is no complete
// line more for now, and a *ReadError for a line that is not a record (the
// reader then goes on with the next line).
func (r *LogReader) Next() (*Record, error) {
	for {
		if r.f == nil {
			if r.cur >= len(r.segs) {
				if err := r.refresh(); err != nil {
					return nil, err
				}
				if r.cur >= len(r.segs) {
					return nil, io.EOF
				}
			}
			f, err := os.Open(r.segs[r.cur].path)
			if errors.Is(err, fs.ErrNotExist) {
				r.cur++ // deleted since it was listed (retention)
				continue
			}
			if err != nil {
				return nil, err
			}
			r.f = f
			if r.br == nil {
				r.br = bufio.NewReaderSize(f, 256<<10)
			} else {
				r.br.Reset(f)
			}
		}
		line, state, err := r.readLine()
		if err != nil {
			return nil, err
		}
		seg := r.segs[r.cur].name
		switch state {
		case lineTooLong:
			r.lineNo++
			return nil, &ReadError{Log: r.name, Segment: seg, Line: r.lineNo, Err: fmt.Errorf("%w: longer than %d bytes", ErrNotRecord, DefaultMaxLine)}
		case lineComplete:
			r.off += int64(len(line)) + 1
			r.lineNo++
			rec, err := ParseRecord(bytes.Clone(line))
			if err != nil {
				return nil, &ReadError{Log: r.name, Segment: seg, Line: r.lineNo, Err: err}
			}
			rec.Log, rec.Segment = r.name, seg
			return rec, nil
		}
		// No complete line left in this segment for now: read the
		// partial one again later.
		if err := r.rewind(); err != nil {
			return nil, err
		}
		if cut, err := r.cutBack(); err != nil {
			return nil, err
		} else if cut {
			return nil, &ReadError{Log: r.name, Segment: seg, Err: ErrCutBack}
		}
		if !r.newer {
			if err := r.refresh(); err != nil {
				return nil, err
			}
			if r.cur+1 < len(r.segs) {
				// The writer seals a segment before it creates the next one:
				// read this one to its end once more, then move on.
				r.newer = true
				continue
			}
			return nil, io.EOF
		}
		r.closeSegment()
		r.cur++
		if state == linePartial {
			return nil, &ReadError{Log: r.name, Segment: seg, Line: r.lineNo + 1, Err: fmt.Errorf("%w: an incomplete last line in a segment that is not the newest", ErrNotRecord)}
		}
	}
}

// What readLine found.
type lineState int

const (
	lineNone     lineState = iota // nothing more in the file
	lineComplete                  // a line and its "\n"
	lineTooLong                   // a complete line longer than DefaultMaxLine (consumed)
	linePartial                   // the start of a line without "\n" (not consumed)
)

// readLine reads the next line at r.off: a complete one (its "\n" is not
// returned), or tells there is none or only the start of one. A line
// longer than DefaultMaxLine is consumed and reported as too long.
func (r *LogReader) readLine() ([]byte, lineState, error) {
	r.line = r.line[:0]
	n, tooLong := 0, false
	for {
		b, err := r.br.ReadSlice('\n')
		n += len(b)
		if !tooLong {
			if n > DefaultMaxLine+1 {
				tooLong, r.line = true, r.line[:0]
			} else {
				r.line = append(r.line, b...)
			}
		}
		switch {
		case err == nil && tooLong:
			r.off += int64(n)
			return nil, lineTooLong, nil
		case err == nil:
			return r.line[:len(r.line)-1], lineComplete, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && n == 0:
			return nil, lineNone, nil
		case errors.Is(err, io.EOF):
			return nil, linePartial, nil
		default:
			return nil, lineNone, err
		}
	}
}

// rewind puts the reader back at r.off, the start of the first line not
// returned.
func (r *LogReader) rewind() error {
	if _, err := r.f.Seek(r.off, io.SeekStart); err != nil {
		return err
	}
	r.br.Reset(r.f)
	return nil
}

// cutBack reports whether the open segment is now shorter than what was
// read, and if so goes on from its new end.
func (r *LogReader) cutBack() (bool, error) {
	info, err := r.f.Stat()
	if err != nil {
		return false, err
	}
	if info.Size() >= r.off {
		return false, nil
	}
	r.off = info.Size()
	return true, r.rewind()
}
