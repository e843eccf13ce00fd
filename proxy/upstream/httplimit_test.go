package upstream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLimitedClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json-small":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		case "/json-big":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":"`+strings.Repeat("x", 5000)+`"}`)
		case "/sse-ok":
			// many small events: the stream as a whole may exceed the limit
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 0; i < 100; i++ {
				_, _ = io.WriteString(w, "data: "+strings.Repeat("y", 100)+"\n\n")
			}
		case "/sse-big":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: "+strings.Repeat("z", 5000)+"\n\n")
		}
	}))
	defer srv.Close()
	c := newLimitedClient(1024)
	tests := []struct {
		path    string
		tooLong bool
	}{
		{"/json-small", false},
		{"/json-big", true},
		{"/sse-ok", false},
		{"/sse-big", true},
	}
	for _, tc := range tests {
		resp, err := c.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := errors.Is(err, ErrTooLarge); got != tc.tooLong {
			t.Errorf("%s: read error %v, want too-large %v", tc.path, err, tc.tooLong)
		}
	}
}
