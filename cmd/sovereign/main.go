// Command sovereign is the Sovereign MCP proxy. See `sovereign --help`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the program ran and failed
	exitUsage   = 2 // bad flags, arguments or configuration
)

// usageError marks errors that are the caller's to fix.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var silent silentError
	if !errors.As(err, &silent) {
		fmt.Fprintln(os.Stderr, "sovereign:", err)
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	if errors.As(err, &silent) {
		return silent.code
	}
	return exitFailure
}

// silentError carries an exit code for an error already reported.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
