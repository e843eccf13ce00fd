package main

import (
	"errors"
	"net"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/policygate"
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
		Short: "Serve the built-in tools and the configured MCP servers as one, over stdio and optionally HTTP",
		Long: `Serve the configured upstream servers as one MCP server: over stdio (unless
--no-stdio) and, with --http or listen.http in the config, over Streamable HTTP
at /mcp and legacy SSE at /sse (+ /message). The built-in sovereign tools
(memory, threads, handoffs, routing, governance) are served beside them,
under their own names, unless engine.enabled is false: with no config at
all, serve offers those tools under the default policy.`,
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
			// The engine is built before the gate (the gate needs its
			// tools' effects); govern's judge is bound to the gate after.
			judge := policygate.NewJudge()
			builtinEng, err := startEngine(cmd.Context(), cfg, gateRoots(cfg, setup), judge, log)
			if err != nil {
				return err
			}
			defer builtinEng.close(log)
			upstreams := upstreamsFromConfig(cfg)
			if builtinEng != nil {
				setup.engine = builtinEng
				upstreams = append([]proxy.Upstream{builtinEng.upstream}, upstreams...)
			}
			gate, err := buildGate(cmd.Context(), cfg, setup, log)
			if err != nil {
				return err
			}
			judge.Bind(gate)
			p := proxy.New(proxy.Options{
				Upstreams: upstreams,
				Gate:      gate,
				Principal: osPrincipal(),
				Logger:    log.Named("proxy"),
				Version:   buildVersion(),
				// Alone on stdio, the proxy has exactly one client, whose
				// capabilities the upstreams mirror.
				SingleClient: !noStdio && cfg.Listen.HTTP == "",
			})
			judge.UseTools(p)
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
