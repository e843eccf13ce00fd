package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// lineReader reads lines of at most max bytes; a longer line is reported
// (tooLong) and skipped to its end without being held in memory.
type lineReader struct {
	r    *bufio.Reader
	max  int
	line int
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next line (without its newline) and its number. io.EOF
// ends the file.
func (l *lineReader) next() (text []byte, n int, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := l.r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > l.max+1 { // +1: the newline
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, 0, false, io.EOF
			}
			l.line++
			return bytes.TrimRight(buf, "\r\n"), l.line, tooLong, nil
		case err != nil:
			return nil, 0, false, err
		}
		l.line++
		return bytes.TrimRight(buf, "\r\n"), l.line, tooLong, nil
	}
}

// decodeObject decodes a JSON object into a map, numbers as json.Number.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if d.More() {
		return nil, errors.New("more than one JSON value on the line")
	}
	return m, nil
}

// fields reads the fields of an original's record (a decoded JSON object).
// Each getter removes what it reads, so that rest() is the unknown fields.
type fields map[string]any

// str is a string field: "" when absent or null; an error for another type.
func (f fields) str(key string) (string, error) {
	v, ok := f[key]
	delete(f, key)
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	default:
		if !ok {
			return "", nil
		}
		return "", fmt.Errorf("%s is not a string", key)
	}
}

// preimage is the original's _preimage_field: absent or null "", a string
// as is, anything else as Python's str() would show a JSON number (the
// only other type that could reach a claim preimage in practice).
func (f fields) preimage(key string) string {
	switch x := f[key].(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "True"
		}
		return "False"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// num is a number field; def when absent or null.
func (f fields) num(key string, def float64) (float64, error) {
	v := f[key]
	delete(f, key)
	switch x := v.(type) {
	case nil:
		return def, nil
	case json.Number:
		n, err := x.Float64()
		if err != nil {
			return 0, fmt.Errorf("%s is not a number", key)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%s is not a number", key)
	}
}

// optNum is a number field that may be absent (nil).
func (f fields) optNum(key string) (*float64, error) {
	if f[key] == nil {
		delete(f, key)
		return nil, nil
	}
	n, err := f.num(key, 0)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// boolean is a boolean field; def when absent or null.
func (f fields) boolean(key string, def bool) (bool, error) {
	v := f[key]
	delete(f, key)
	switch x := v.(type) {
	case nil:
		return def, nil
	case bool:
		return x, nil
	default:
		return false, fmt.Errorf("%s is not true or false", key)
	}
}

// strings_ is a list of strings; nil when absent or null.
func (f fields) strList(key string) ([]string, error) {
	v := f[key]
	delete(f, key)
	if v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is not a list", key)
	}
	out := make([]string, 0, len(arr))
	for _, it := range arr {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("%s holds an item that is not a string", key)
		}
		out = append(out, s)
	}
	return out, nil
}

// originalTS converts an original's timestamp to the stored form. A
// timestamp without a zone is read in loc; a date alone is its midnight.
func originalTS(s string, loc *time.Location) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no timestamp")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return formatTS(t), nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return formatTS(t), nil
		}
	}
	return "", fmt.Errorf("timestamp %q is not ISO 8601", s)
}
