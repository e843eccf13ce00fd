package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/config"
)

func newConfigCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with the config file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a config file and print every problem in it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.configPath
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				return usageError{errors.New("name a config file: sovereign config validate FILE")}
			}
			cfg, err := config.Load(path)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return silentError{code: exitFailure}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: OK (%d servers)\n", path, len(cfg.Servers))
			return err
		},
	})
	return cmd
}
