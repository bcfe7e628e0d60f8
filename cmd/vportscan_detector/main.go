// Command vportscan_detector is the Go port of NEMEA's vertical TCP SYN
// port-scan detector (detectors.md §1), with the C module's CLI and
// interfaces: one flow input, one alert output.
//
//	vportscan_detector -i IN_IFC,OUT_IFC [--clock wall|flow] [--max-pairs N]
package main

import (
	"context"
	"io"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/vportscan"
	"github.com/flowgate/flowgate/trap"
)

var module = trap.Module{
	Name: "vportscan_detector",
	Description: "Detects vertical TCP SYN port scans: a source whose SYN-only flows (at most 4 packets, TCP_FLAGS exactly 0x02) " +
		"reach 50 distinct ports of one destination. A port seen again is taken out of the set. " +
		"Input fields: " + vportscan.InputSpec + " (any template holding them). " +
		"Differences from the C module: the input template must hold the fields read (C accepts any and reads garbage); " +
		"--clock flow ages pairs by flow time instead of the wall clock; " +
		"the pair table is capped (--max-pairs, default 262144, about 45 MiB) and evicts an old pair (about the least recently touched), counted; " +
		"IPv6 flows are counted as skipped; the output blocks unless its IFC_SPEC sets a timeout (C never blocks and drops alerts).",
	Inputs:  1,
	Outputs: 1,
	Params: []trap.Param{
		detmod.ClockParam,
		{Long: "max-pairs", Description: "Cap of the (source, destination) pair table (default 262144).", HasArg: true, ArgType: "uint32"},
	},
}

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

func body(ctx context.Context, tc *trap.Context, args []string, _, stderr io.Writer) int {
	return detmod.Body(ctx, tc, args, stderr, setup, detmod.Options{}, 1)
}

func setup(opts []trap.Opt, clock detectors.Clock) (detectors.Detector, error) {
	cfg := vportscan.DefaultConfig()
	for _, o := range opts {
		if o.Long == "max-pairs" {
			v, err := detmod.Uint(o, 31)
			if err != nil {
				return nil, err
			}
			cfg.MaxPairs = int(v)
		}
	}
	return vportscan.New(cfg, clock)
}
