// Command traffic_repeater forwards every message of its TRAP input to its
// output unchanged, copying the input's data format to the output, as
// NEMEA's traffic_repeater does (spec/nemea-modules.md §2.5). It is used to
// change interface types, e.g. from a file to a socket.
//
//	traffic_repeater -i IN_IFC,OUT_IFC [-n]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowgate/flowgate/trap"
)

var module = trap.Module{
	Name:        "traffic_repeater",
	Description: "This module receives data from input interface and resends it to the output interface; the data format of the input is copied to the output.",
	Inputs:      1,
	Outputs:     1,
	Params: []trap.Param{
		{Short: 'n', Long: "no_eof", Description: "Do not forward the end-of-stream record.", ArgType: "none"},
	},
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	opts, _, err := module.Getopt(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	noEOF := false
	for _, op := range opts {
		noEOF = noEOF || op.Short == 'n'
	}
	n, err := repeat(ctx, tc.Input(0), tc.Output(0), noEOF)
	if tc.Verbosity() >= 0 {
		fmt.Fprintf(stdout, "%d messages forwarded\n", n)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// repeat forwards messages until end of stream or ctx ends and returns
// how many data messages it forwarded. It takes whole received buffers
// (RecvBatch) and hands them to the output in one piece.
func repeat(ctx context.Context, in *trap.Input, out *trap.Output, noEOF bool) (int64, error) {
	in.SetRequiredFormat(trap.FormatUniRec, "")
	var n int64
	for {
		b, changed, err := in.RecvBatch(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return n, nil
			}
			if errors.Is(err, trap.ErrTimeout) {
				continue
			}
			return n, err
		}
		if changed {
			if err := out.SetDataFormat(in.DataFormat()); err != nil {
				return n, err
			}
		}
		if err := out.SendBatch(ctx, b); err != nil {
			return n, err
		}
		n += int64(b.Len())
		if b.EndOfStream() {
			if noEOF {
				return n, nil
			}
			return n, out.SendEOS(ctx)
		}
	}
}
