// Command vportscan_detector is the Go port of NEMEA's vertical TCP SYN
// port-scan detector (detectors.md §1), with the C module's CLI and
// interfaces: one flow input, one alert output.
//
//	vportscan_detector -i IN_IFC,OUT_IFC [--clock wall|flow] [--max-pairs N]
package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

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
		"the pair table is capped (--max-pairs, default 262144, about 45 MiB) and evicts the least recently touched pair, counted; " +
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
	cfg := vportscan.DefaultConfig()
	clockName := ""
	opts, _, err := module.Getopt(args)
	for _, o := range opts {
		if err != nil {
			break
		}
		switch o.Long {
		case "clock":
			clockName = o.Value
		case "max-pairs":
			cfg.MaxPairs, err = strconv.Atoi(o.Value)
		}
	}
	var clock detectors.Clock
	if err == nil {
		clock, err = detectors.ParseClock(clockName)
	}
	var det *vportscan.Detector
	if err == nil {
		det, err = vportscan.New(cfg, clock)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return 1
	}
	res, err := detmod.Run(ctx, tc, det, detmod.Options{})
	detmod.Report(stderr, module.Name, det.Stats(), res, tc.Verbosity() > 0)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}
