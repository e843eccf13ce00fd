package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/sovereign-stack/sovereign/core/internal/anchorspec"
)

// maxAnchorResponse bounds what is read of an HTTP anchor's answer (to
// reuse the connection); the rest is dropped with it.
const maxAnchorResponse = 64 << 10

// originHeader carries the log's origin in an HTTP anchor's POST.
const originHeader = "X-Sovereign-Audit-Origin"

// httpAnchor POSTs each note to a URL: the note as the body (Content-Type
// text/plain; charset=utf-8), the origin in originHeader. Any 2xx answer
// is success; redirects are not followed (a 3xx is a failure). The proxy
// from the environment (HTTPS_PROXY…) is used; user information in the URL
// is sent as basic authentication.
type httpAnchor struct {
	url    string
	shown  string // the URL without user information and query
	client *http.Client
}

func newHTTPAnchor(s anchorspec.Spec) *httpAnchor {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	return &httpAnchor{
		url:   s.URL.String(),
		shown: s.String(),
		client: &http.Client{
			Transport: tr,
			Timeout:   anchorTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

func (a *httpAnchor) publish(ctx context.Context, origin string, note []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(note))
	if err != nil {
		return fmt.Errorf("request: %w", stripURL(err))
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set(originHeader, origin)
	req.Header.Set("User-Agent", syslogTag)
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", stripURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnchorResponse))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post: answered %s", resp.Status)
	}
	return nil
}

// stripURL drops the URL a *url.Error repeats (its query may hold a
// token); String names the anchor instead.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (a *httpAnchor) close() error {
	a.client.CloseIdleConnections()
	return nil
}

func (a *httpAnchor) String() string { return a.shown }
