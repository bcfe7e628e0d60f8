package trap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Body is a module's work once TRAP is set up. args are what Init left for
// the module's own options (parse them with Module.Getopt); stdout and
// stderr are the module's streams. It returns the process exit code.
type Body func(ctx context.Context, c *Context, args []string, stdout, stderr io.Writer) int

// Run sets a module up the NEMEA way and runs body: -h and -h trap print
// help and return 0; a TRAP setup error (bad or missing -i, wrong number of
// IFCs) is printed to stderr and returns 1 (or WithInitExitCode's code).
// After body, Finalize delivers everything buffered to the module's
// clients; once ctx has ended (SIGTERM) it gives up after
// DefaultShutdownGrace. Run suits tests; Main wraps it
// for a module's main function.
func Run(ctx context.Context, m Module, args []string, stdout, stderr io.Writer, body Body, opts ...Option) int {
	opts = append([]Option{WithStdout(stdout), WithStderr(stderr)}, opts...)
	c, rest, err := Init(ctx, m, args, opts...)
	if errors.Is(err, ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ERROR in TRAP initialization: %v\n", err)
		var o options
		for _, opt := range opts {
			opt(&o)
		}
		if o.initExit != 0 {
			return o.initExit
		}
		return 1
	}
	defer c.FinalizeAfter(ctx, DefaultShutdownGrace)
	return body(ctx, c, rest, stdout, stderr)
}

// Main is a module's main function: it runs Run with os.Args and the
// standard streams under a context that SIGINT and SIGTERM cancel, and
// exits with its code.
func Main(m Module, body Body, opts ...Option) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, m, os.Args, os.Stdout, os.Stderr, body, opts...)
	stop()
	os.Exit(code)
}
