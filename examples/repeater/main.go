// Command repeater is the Go version of NEMEA's python_example.py: it
// accepts any UniRec format on its input, prints every record as logger
// text on stdout and resends it unchanged on its output. A format change on
// the input is copied to the output.
//
//	repeater -i IN_IFC,OUT_IFC
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name:        "repeater",
	Description: "Example module: receives UniRec records of any format, prints them and sends them unchanged to the output.",
	Inputs:      1,
	Outputs:     1,
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, _ []string, stdout, stderr io.Writer) int {
	if err := repeat(ctx, tc.Input(0), tc.Output(0), stdout); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

func repeat(ctx context.Context, in *trap.Input, out *trap.Output, stdout io.Writer) error {
	in.SetRequiredFormat(trap.FormatUniRec, "")
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	var (
		tmpl *unirec.Template
		line []byte
	)
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if changed {
			f, spec := in.DataFormat()
			if tmpl, err = unirec.ParseTemplate(spec); err != nil {
				return err
			}
			if err := out.SetDataFormat(f, spec); err != nil {
				return err
			}
		}
		if trap.IsEOS(msg) {
			// Like the Python example, stop without forwarding the end of stream.
			return nil
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			return err
		}
		line = append(rec.AppendText(line[:0], ','), '\n')
		w.Write(line)
		if err := out.Send(ctx, msg); err != nil {
			return err
		}
	}
}
