package main

import (
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/proxy"
	"github.com/sovereign-stack/sovereign/proxy/upstream"
)

// defaultRunTimeout is the per-request timeout of a server wrapped by run.
const defaultRunTimeout = 60 * time.Second

func newRunCommand(g *globalFlags) *cobra.Command {
	var timeout time.Duration
	var af auditFlags
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARGS...]",
		Short: "Wrap one stdio MCP server: the one-line drop-in for a client config",
		Long: `Start COMMAND as an MCP server over stdio and serve it, unchanged and without a
name prefix, on this process's stdin/stdout, with every request passing the
gate. Put it in a client config in place of the server's own command:

  "command": "sovereign", "args": ["run", "--", "npx", "-y", "@modelcontextprotocol/server-filesystem", "/home/me/work"]

The wrapped server inherits this process's environment. Servers in --config
are not started; the config's limits and log level apply.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mcpOut := takeStdout()
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			log := newLogger(g, cfg)
			if len(cfg.Servers) > 0 {
				log.Warn("run wraps one command; the servers in the config file are not started and their tool settings do not apply",
					"servers", len(cfg.Servers))
			}
			name := filepath.Base(args[0])
			// The directories the wrapped command was given are roots: the
			// user already allowed that server to work there.
			sink, err := openAudit(cmd.Context(), cfg, af, log)
			if err != nil {
				return err
			}
			defer sink.close(log)
			setup := gateSetup{configPath: g.configPath, extraRoots: commandDirs(args[1:])}
			setup.audit = sink
			gate, err := buildGate(cmd.Context(), cfg, setup, log)
			if err != nil {
				return err
			}
			p := proxy.New(proxy.Options{
				Gate:      gate,
				Principal: osPrincipal(),
				Upstreams: []proxy.Upstream{{Spec: upstream.Spec{
					Name:            name,
					Transport:       upstream.TransportStdio,
					Command:         args[0],
					Args:            args[1:],
					InheritEnv:      true,
					Timeout:         timeout,
					MaxMessageBytes: cfg.Limits.MaxMessageBytes,
				}}},
				Logger:       log.Named("proxy"),
				Version:      buildVersion(),
				SingleClient: true,
			})
			return serveProxy(cmd.Context(), p, fronts{stdio: true, maxMessage: cfg.Limits.MaxMessageBytes}, mcpOut, log)
		},
	}
	af.register(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", defaultRunTimeout, "per-request timeout of the wrapped server")
	cmd.Flags().SetInterspersed(false)
	return cmd
}
