package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/mark3labs/mcp-go/server"
)

// stdioWorkers bounds the client requests the stdio front serves at once.
const stdioWorkers = 32

// ServeStdio serves one client over a newline-delimited JSON-RPC stream until
// in reaches EOF or ctx ends. A line longer than maxMessage bytes is
// discarded and answered with a JSON-RPC error; everything else is mcp-go's.
// Nothing but JSON-RPC is ever written to out.
func (p *Proxy) ServeStdio(ctx context.Context, in io.Reader, out io.Writer, maxMessage int64) error {
	w := &lockedWriter{w: out}
	pr, pw := io.Pipe()
	go func() {
		err := copyBoundedLines(pw, in, w, maxMessage)
		_ = pw.CloseWithError(err)
	}()
	s := server.NewStdioServer(p.srv)
	s.SetErrorLogger(stdLogger(p.log.Named("stdio")))
	server.WithWorkerPoolSize(stdioWorkers)(s)
	err := s.Listen(ctx, pr, w)
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// lockedWriter makes each Write atomic, so the proxy's own error replies
// never interleave with mcp-go's.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// copyBoundedLines copies newline-terminated messages from in to dst. A
// message over max bytes is skipped whole and answered on reply.
func copyBoundedLines(dst io.Writer, in io.Reader, reply io.Writer, max int64) error {
	br := bufio.NewReaderSize(in, 64<<10)
	var line []byte
	tooLong := false
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			n := int64(len(line) + len(chunk))
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				n-- // the newline does not count, and a last line may lack it
			}
			if n > max {
				tooLong, line = true, line[:0]
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && len(line) == 0 && !tooLong:
			return err
		}
		if tooLong {
			msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"message exceeds the limit of %d bytes"}}`+"\n", max)
			if _, werr := io.WriteString(reply, msg); werr != nil {
				return werr
			}
		} else if _, werr := dst.Write(line); werr != nil {
			return werr
		}
		if err != nil {
			return err
		}
		line, tooLong = line[:0], false
	}
}

// stdLogger adapts hclog for mcp-go's *log.Logger error reporting.
func stdLogger(l hclog.Logger) *log.Logger {
	return l.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true, ForceLevel: hclog.Warn})
}
