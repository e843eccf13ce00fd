package main

import (
	"errors"
	"net"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/proxy"
)

func newServeCommand(g *globalFlags) *cobra.Command {
	var af auditFlags
	var (
		httpAddr    string
		noStdio     bool
		allowRemote bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the configured MCP servers as one, over stdio and optionally HTTP",
		Long: `Serve the configured upstream servers as one MCP server: over stdio (unless
--no-stdio) and, with --http or listen.http in the config, over Streamable HTTP
at /mcp and legacy SSE at /sse (+ /message). With no config it serves an empty
catalog.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mcpOut := takeStdout()
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			if httpAddr != "" {
				cfg.Listen.HTTP = httpAddr
			}
			if allowRemote {
				cfg.Listen.InsecureAllowRemote = true
			}
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			if noStdio && cfg.Listen.HTTP == "" {
				return usageError{errors.New("--no-stdio needs an HTTP front: pass --http ADDR or set listen.http")}
			}
			log := newLogger(g, cfg)
			if cfg.Listen.HTTP != "" && !isLoopback(cfg.Listen.HTTP) {
				log.Warn("HTTP front binds beyond loopback WITHOUT AUTHENTICATION: anyone who can reach it can use every upstream",
					"addr", cfg.Listen.HTTP)
			}
			sink, err := openAudit(cmd.Context(), cfg, af, log)
			if err != nil {
				return err
			}
			defer sink.close(log)
			setup := gateSetup{configPath: g.configPath, servers: cfg.Servers}
			setup.audit = sink
			gate, err := buildGate(cmd.Context(), cfg, setup, log)
			if err != nil {
				return err
			}
			p := proxy.New(proxy.Options{
				Upstreams: upstreamsFromConfig(cfg),
				Gate:      gate,
				Principal: osPrincipal(),
				Logger:    log.Named("proxy"),
				Version:   buildVersion(),
				// Alone on stdio, the proxy has exactly one client, whose
				// capabilities the upstreams mirror.
				SingleClient: !noStdio && cfg.Listen.HTTP == "",
			})
			return serveProxy(cmd.Context(), p, fronts{
				stdio:    !noStdio,
				httpAddr: cfg.Listen.HTTP,
				httpOpts: proxy.HTTPOptions{
					Addr:            cfg.Listen.HTTP,
					AllowedHosts:    cfg.Listen.AllowedHosts,
					AllowedOrigins:  cfg.Listen.AllowedOrigins,
					MaxMessageBytes: cfg.Limits.MaxMessageBytes,
				},
				maxMessage: cfg.Limits.MaxMessageBytes,
			}, mcpOut, log)
		},
	}
	cmd.Flags().StringVar(&httpAddr, "http", "", "also serve Streamable HTTP (/mcp) and SSE (/sse) on this address, e.g. 127.0.0.1:8080")
	cmd.Flags().BoolVar(&noStdio, "no-stdio", false, "do not serve on stdin/stdout (needs --http)")
	af.register(cmd)
	cmd.Flags().BoolVar(&allowRemote, "insecure-allow-remote", false, "allow --http to bind beyond loopback (there is no authentication yet)")
	return cmd
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
