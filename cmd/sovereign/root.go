package main

import (
	"os"

	"github.com/spf13/cobra"
)

// globalFlags are accepted by every command.
type globalFlags struct {
	configPath string
	logLevel   string
	logJSON    bool
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "sovereign",
		Short: "A policy-enforcing proxy for the Model Context Protocol",
		Long: `Sovereign sits between an MCP client and the MCP servers it uses. It aggregates
the servers into one catalog, passes every request through a gate, and forwards
what the gate allows.

  sovereign serve --config sovereign.yaml     serve the configured servers over stdio
  sovereign run -- npx -y @modelcontextprotocol/server-filesystem ~/work
                                              wrap one stdio server (the drop-in)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(os.Stdout)
	root.SetErr(os.Stderr)
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configPath, "config", "c", os.Getenv("SOVEREIGN_CONFIG"), "config file (YAML or JSON; default $SOVEREIGN_CONFIG)")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (overrides the config)")
	pf.BoolVar(&g.logJSON, "log-json", false, "write the log (on stderr) as JSON lines")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCommand(g), newRunCommand(g), newConfigCommand(g), newPolicyCommand(g), newAuditCommand(g), newVersionCommand())
	root.AddCommand(newImportCommand(g), newExportCommand(g))
	return root
}
