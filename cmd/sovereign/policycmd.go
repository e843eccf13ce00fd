package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sovereign-stack/sovereign/core/config"
	"github.com/sovereign-stack/sovereign/core/policy"
	"github.com/sovereign-stack/sovereign/policies"
)

// policyOptions builds engine options from the config plus extra dirs.
func policyOptions(cfg config.Config, dirs []string) policy.Options {
	return policy.Options{
		Builtin:   policies.FS,
		NoBuiltin: !cfg.Policy.Builtin,
		Paths:     append(append([]string(nil), cfg.Policy.Paths...), dirs...),
		DataFiles: cfg.Policy.Data,
		Mode:      cfg.Policy.Mode,
		Timeout:   cfg.Policy.Timeout.D(),
	}
}

func newPolicyCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Test, check and evaluate Rego policies"}

	var verbose, coverage, library bool
	var threshold float64
	var run string
	test := &cobra.Command{
		Use:   "test [DIR...]",
		Short: "Run the Rego tests of the configured policy paths and DIRs (like opa test), or the library's when there are none",
		RunE: func(cmd *cobra.Command, dirs []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			opts := policyOptions(cfg, dirs)
			topts := policy.TestOptions{Paths: opts.Paths, DataFiles: opts.DataFiles, Verbose: verbose, Coverage: coverage || threshold > 0, Out: cmd.OutOrStdout(),
				Run: run, LibraryTests: library}
			if !opts.NoBuiltin {
				topts.Builtin = policies.FS
			}
			sum, err := policy.RunTests(cmd.Context(), topts)
			if err != nil {
				return err
			}
			if sum.Failed+sum.Errored > 0 {
				return silentError{code: exitFailure}
			}
			if threshold > 0 && sum.Coverage < threshold {
				fmt.Fprintf(cmd.ErrOrStderr(), "coverage %.2f%% is below the threshold %.2f%%\n", sum.Coverage, threshold)
				return silentError{code: exitFailure}
			}
			return nil
		},
	}
	test.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every test")
	test.Flags().StringVarP(&run, "run", "r", "", "run only the tests whose name (data.<package>.<rule>) matches this regular expression")
	test.Flags().BoolVar(&library, "library", false, "run the embedded library's own tests too (they always run when there are no user policies)")
	test.Flags().BoolVar(&coverage, "coverage", false, "report coverage per file")
	test.Flags().Float64Var(&threshold, "threshold", 0, "fail when total coverage is below this percentage")

	check := &cobra.Command{
		Use:   "check [DIR...]",
		Short: "Compile the library, the configured policy paths and DIRs strictly, as the proxy would",
		RunE: func(cmd *cobra.Command, dirs []string) error {
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			e, err := policy.New(cmd.Context(), policyOptions(cfg, dirs))
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), err)
				return silentError{code: exitFailure}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "OK: policy revision %s\n", e.Revision())
			return err
		},
	}

	var inputPath string
	var explain bool
	eval := &cobra.Command{
		Use:   "eval --input FILE [DIR...]",
		Short: "Evaluate the decision for one input document and print it",
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if inputPath == "" {
				return usageError{errors.New("--input FILE is required (a JSON policy input; see policies/README.md)")}
			}
			raw, err := os.ReadFile(inputPath)
			if err != nil {
				return usageError{err}
			}
			var input map[string]any
			if err := json.Unmarshal(raw, &input); err != nil {
				return usageError{fmt.Errorf("%s: %w", inputPath, err)}
			}
			cfg, err := loadConfig(g.configPath)
			if err != nil {
				return err
			}
			e, err := policy.New(cmd.Context(), policyOptions(cfg, dirs))
			if err != nil {
				return err
			}
			d := e.Decide(cmd.Context(), input)
			out := cmd.OutOrStdout()
			if explain {
				verdict := "ALLOW"
				if !d.Allow {
					verdict = "DENY"
				}
				fmt.Fprintf(out, "%s (revision %s, mode %s, %s)\n", verdict, d.Revision, d.Mode, d.Duration)
				for _, r := range d.Reasons {
					fmt.Fprintf(out, "  rule %s: %s\n", r.ID, r.Msg)
				}
				for _, o := range d.Obligations {
					b, _ := json.Marshal(o)
					fmt.Fprintf(out, "  obligation %s\n", b)
				}
			} else {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(d); err != nil {
					return err
				}
			}
			if !d.Allow {
				return silentError{code: exitFailure}
			}
			return nil
		},
	}
	eval.Flags().StringVarP(&inputPath, "input", "i", "", "JSON file holding the policy input")
	eval.Flags().BoolVar(&explain, "explain", false, "print the verdict and the rules that fired, readably")

	cmd.AddCommand(test, check, eval)
	return cmd
}
