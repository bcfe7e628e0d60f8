// Command ddos_detector is the Go port of NEMEA's volumetric flood
// detector (detectors.md §6), with the C module's CLI and interfaces: one
// flow input, one alert output. Its options and detector are
// detmod.Ddos, shared with the flowgate daemon.
//
//	ddos_detector -i IN_IFC,OUT_IFC [-m KBPS] [-b KBPS] [-t RATE] [-c RATE] [-s MASK] [-d MASK] [-p KBPS] [--max-records N]
package main

import (
	"context"
	"io"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/trap"
)

var (
	spec   = detmod.Ddos()
	module = spec.Module
)

func main() { trap.Main(module, spec.Body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, spec.Body)
}
