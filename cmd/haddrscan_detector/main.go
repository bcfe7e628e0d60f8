// Command haddrscan_detector is the Go port of NEMEA's horizontal TCP SYN
// address-scan detector (detectors.md §2), with the C module's CLI and
// interfaces: one flow input, one alert output.
//
//	haddrscan_detector -i IN_IFC,OUT_IFC [-n N] [-d SEC] [-p SEC] [--clock wall|flow]
package main

import (
	"context"
	"io"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/trap"
)

var (
	spec   = detmod.Haddrscan()
	module = spec.Module
)

func main() { trap.Main(module, spec.Body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, spec.Body)
}
