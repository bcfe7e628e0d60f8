// Command amplification_detection is the Go port of NEMEA's DNS/NTP
// reflection-amplification detector (detectors.md §3), with the C
// module's CLI and interfaces: one flow input, one alert output.
//
//	amplification_detection -i IN_IFC,OUT_IFC [-p PORT] [-n N] [-q STEP] [-a AMPF] [-t FLOWS]
//	    [-y PKTS] [-l BYTES] [-m BYTES] [-w SEC] [-s SEC] [-S COUNT] [--min-count F] [--clock wall|flow]
package main

import (
	"context"
	"io"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/trap"
)

var (
	spec   = detmod.Amplification()
	module = spec.Module
)

func main() { trap.Main(module, spec.Body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, spec.Body)
}
