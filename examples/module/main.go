// Command module is the Go version of NEMEA's example module
// (Nemea-Framework examples/module): it receives records holding two
// numbers, FOO and BAR, and sends them on with their sum, BAZ. It walks
// through every step of a NEMEA module in order; the README section
// "Writing a module" reads along with it.
//
//	module -i IN_IFC,OUT_IFC [-n]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// Step 1, module info (C: MODULE_BASIC_INFO and MODULE_PARAMS): name,
// description, how many interfaces of each direction, and the options.
// -h prints it, LIBTRAP_OUTPUT_FORMAT=json prints it as JSON, and the
// supervisor reads it.
var module = trap.Module{
	Name: "Example module",
	Description: "This module serves as an example of module implementation in TRAP platform. " +
		"It receives UniRec containing two numbers FOO and BAR and sends UniRec containing the numbers and their sum BAZ.",
	Inputs:  1,
	Outputs: 1,
	Params: []trap.Param{
		{Short: 'n', Long: "no_eof", Description: "Do not send the end-of-stream message at the end.", ArgType: "none"},
	},
}

// Step 2, the templates (C: UR_FIELDS and ur_create_template). The input
// spec is also the format required from the sender: any superset will do.
const (
	inSpec  = "uint32 FOO,uint32 BAR"
	outSpec = "uint32 FOO,uint32 BAR,uint32 BAZ"
)

// Step 3, TRAP initialisation and signals (C: TRAP_DEFAULT_INITIALIZATION
// and TRAP_REGISTER_DEFAULT_SIGNAL_HANDLER): trap.Main parses -i, -h and -v,
// opens the interfaces, cancels the context on SIGINT/SIGTERM and, after
// body returns, finalizes TRAP (delivering what is still buffered).
func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

func body(ctx context.Context, tc *trap.Context, args []string, stdout, stderr io.Writer) int {
	// Step 4, the module's own options (C: getopt with module_getopt_string).
	opts, _, err := module.Getopt(args)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	noEOF := false
	for _, o := range opts {
		noEOF = noEOF || o.Short == 'n'
	}
	n, err := sum(ctx, tc.Input(0), tc.Output(0), noEOF)
	if tc.Verbosity() >= 0 {
		fmt.Fprintf(stdout, "%d records sent\n", n)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// sum is the main loop (step 5): receive, handle a format change, stop at
// the end of stream, read the fields, fill the output record, send.
func sum(ctx context.Context, in *trap.Input, out *trap.Output, noEOF bool) (int, error) {
	in.SetRequiredFormat(trap.FormatUniRec, inSpec)
	outT, err := unirec.ParseTemplate(outSpec)
	if err != nil {
		return 0, err
	}
	if err := out.SetDataFormat(trap.FormatUniRec, outT.Spec()); err != nil {
		return 0, err
	}
	// Field ids are resolved once per template, never per record.
	var (
		inT    *unirec.Template
		copier *unirec.Copier
		foo    unirec.FieldID
		bar    unirec.FieldID
	)
	baz, _ := outT.Lookup("BAZ")
	rec := outT.NewRecord() // allocated once and reused for every record
	sent := 0
	for {
		msg, changed, err := in.Recv(ctx)
		switch {
		case errors.Is(err, trap.ErrTimeout):
			continue // TRAP_DEFAULT_RECV_ERROR_HANDLING: try again
		case errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil:
			return sent, nil // stopped by a signal
		case err != nil:
			return sent, err
		}
		if changed {
			// The sender's template: FOO and BAR plus anything else it has.
			_, spec := in.DataFormat()
			if inT, err = unirec.ParseTemplate(spec); err != nil {
				return sent, err
			}
			foo, _ = inT.Lookup("FOO")
			bar, _ = inT.Lookup("BAR")
			copier = unirec.NewCopier(outT, inT)
		}
		if trap.IsEOS(msg) { // a message of 1 byte or less ends the stream
			break
		}
		r, err := inT.Wrap(msg) // checks the size against the template
		if err != nil {
			return sent, fmt.Errorf("record %d: %w", sent+1, err)
		}
		// get, copy and set fields (C: ur_get, ur_copy_fields, ur_set).
		if err := copier.Copy(&rec, r); err != nil {
			return sent, err
		}
		rec.SetUint32(baz, r.Uint32(foo)+r.Uint32(bar))
		if err := out.Send(ctx, rec.Data); err != nil {
			return sent, err
		}
		sent++
	}
	// Step 6, the end: pass the end of stream on (C: trap_send with a
	// 1-byte message); trap.Main finalizes TRAP after body returns.
	if noEOF {
		return sent, nil
	}
	return sent, out.SendEOS(ctx)
}
