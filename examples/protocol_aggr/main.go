// Command protocol_aggr is the Go version of NEMEA's protocol_aggr.py: it
// sums PACKETS per PROTOCOL of basic flow records until its duration has
// passed or the input ends, closes its input, and prints "<proto> <packets>"
// lines sorted by packet count, ascending.
//
//	protocol_aggr -i IN_IFC [-D DURATION]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name:        "protocol_aggr",
	Description: "Example module: counts packets per protocol for a given time and prints the sorted totals.",
	Inputs:      1,
	Outputs:     0,
	Params: []trap.Param{
		{Short: 'D', Long: "duration", Description: "How long to aggregate, as a Go duration (default 5m, as the Python example).", HasArg: true, ArgType: "string"},
	},
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	duration := 5 * time.Minute
	opts, _, err := module.Getopt(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	for _, op := range opts {
		if op.Short == 'D' {
			if duration, err = time.ParseDuration(op.Value); err != nil || duration <= 0 {
				fmt.Fprintf(stderr, "Error: invalid duration %q\n", op.Value)
				return 1
			}
		}
	}
	actx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	totals, err := aggregate(actx, tc.Input(0))
	tc.Input(0).Close()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	printTotals(stdout, totals)
	return 0
}

// aggregate sums packets per protocol until end of stream or ctx ends.
func aggregate(ctx context.Context, in *trap.Input) (totals [256]uint64, err error) {
	const required = "uint8 PROTOCOL,uint32 PACKETS"
	in.SetRequiredFormat(trap.FormatUniRec, required)
	// A sender offering exactly the required fields negotiates without a
	// format change, so start from the required template.
	tmpl, err := unirec.ParseTemplate(required)
	if err != nil {
		return totals, err
	}
	protoID, _ := tmpl.Lookup("PROTOCOL")
	pktsID, _ := tmpl.Lookup("PACKETS")
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return totals, nil
			}
			return totals, err
		}
		if changed {
			_, spec := in.DataFormat()
			if tmpl, err = unirec.ParseTemplate(spec); err != nil {
				return totals, err
			}
			protoID, _ = tmpl.Lookup("PROTOCOL")
			pktsID, _ = tmpl.Lookup("PACKETS")
		}
		if trap.IsEOS(msg) {
			return totals, nil
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			return totals, err
		}
		totals[rec.Uint8(protoID)] += uint64(rec.Uint32(pktsID))
	}
}

func printTotals(w io.Writer, totals [256]uint64) {
	type row struct {
		proto   int
		packets uint64
	}
	var rows []row
	for p, n := range totals {
		if n > 0 {
			rows = append(rows, row{p, n})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].packets < rows[j].packets })
	for _, r := range rows {
		fmt.Fprintf(w, "%d %d\n", r.proto, r.packets)
	}
}
