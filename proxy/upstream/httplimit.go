package upstream

import (
	"fmt"
	"io"
	"mime"
	"net/http"
)

// limitedTransport bounds what an HTTP upstream can make the proxy read: each
// line of an event stream (one SSE field, so one message) and each whole
// non-streaming body are limited to max bytes.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func newLimitedClient(max int64) *http.Client {
	return &http.Client{Transport: &limitedTransport{base: http.DefaultTransport, max: max}}
}

func (l *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "text/event-stream" {
		resp.Body = readCloser{&lineLimitReader{r: resp.Body, max: l.max}, resp.Body}
	} else {
		resp.Body = readCloser{&bodyLimitReader{r: resp.Body, left: l.max}, resp.Body}
	}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// bodyLimitReader fails once more than its limit has been read.
type bodyLimitReader struct {
	r    io.Reader
	left int64
}

func (b *bodyLimitReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, fmt.Errorf("%w: response body too large", ErrTooLarge)
	}
	return n, err
}
