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
	"github.com/flowgate/flowgate/trap"
)

var (
	spec   = detmod.Vportscan()
	module = spec.Module
)

func main() { trap.Main(module, spec.Body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, spec.Body)
}
