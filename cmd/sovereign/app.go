package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// loadConfig reads the config file, or returns the defaults when none is
// named.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		cfg := config.Default()
		return cfg, cfg.Validate()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// newLogger builds the one operational logger. It writes to stderr only:
// stdout is the MCP stdio channel.
func newLogger(g *globalFlags, cfg config.Config) hclog.Logger {
	level := cfg.LogLevel
	if g.logLevel != "" {
		level = g.logLevel
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:       "sovereign",
		Level:      hclog.LevelFromString(level),
		Output:     os.Stderr,
		JSONFormat: g.logJSON,
	})
}

// upstreamsFromConfig turns the configured servers into proxy upstreams, in
// name order.
func upstreamsFromConfig(cfg config.Config) []proxy.Upstream {
	names := make([]string, 0, len(cfg.Servers))
	for n := range cfg.Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]proxy.Upstream, 0, len(names))
	for _, name := range names {
		s := cfg.Servers[name]
		out = append(out, proxy.Upstream{
			Spec: upstream.Spec{
				Name:            name,
				Transport:       s.Transport,
				Command:         s.Command,
				Args:            s.Args,
				Env:             s.Env,
				Dir:             s.Cwd,
				URL:             s.URL,
				Headers:         s.Headers,
				Timeout:         s.Timeout.D(),
				MaxMessageBytes: cfg.Limits.MaxMessageBytes,
			},
			Prefix:   s.EffectivePrefix(name),
			Disabled: s.Disabled,
		})
	}
	return out
}

// fronts says how a proxy is served.
type fronts struct {
	stdio      bool
	httpAddr   string
	httpOpts   proxy.HTTPOptions
	maxMessage int64
}

// serveProxy runs the upstreams and the fronts until the stdio client goes
// away (EOF), ctx ends (a signal), or a front fails; then it shuts everything
// down, children included.
func serveProxy(ctx context.Context, p *proxy.Proxy, f fronts, mcpOut *os.File, log hclog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.Run(ctx)
	}()
	defer wg.Wait()
	defer cancel()

	errc := make(chan error, 2)
	var httpSrv *http.Server
	if f.httpAddr != "" {
		h, err := p.HTTPHandler(f.httpOpts)
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", f.httpAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", f.httpAddr, err)
		}
		httpSrv = &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
		}
		log.Info("serving MCP over HTTP", "streamable_http", "http://"+ln.Addr().String()+proxy.PathStreamable,
			"sse", "http://"+ln.Addr().String()+proxy.PathSSE)
		go func() {
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http front: %w", err)
			}
		}()
	}
	if f.stdio {
		go func() {
			err := p.ServeStdio(ctx, os.Stdin, mcpOut, f.maxMessage)
			if err != nil {
				errc <- fmt.Errorf("stdio front: %w", err)
				return
			}
			log.Info("stdio client disconnected; shutting down")
			errc <- nil
		}()
	}
	var err error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
	}
	if httpSrv != nil {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = httpSrv.Shutdown(sctx)
		scancel()
	}
	return err
}

// takeStdout hands the real stdout to the MCP channel and points os.Stdout
// at stderr, so that nothing but JSON-RPC can reach the client on stdout.
func takeStdout() *os.File {
	out := os.Stdout
	os.Stdout = os.Stderr
	return out
}
