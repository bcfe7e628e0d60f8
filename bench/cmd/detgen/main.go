// Command detgen writes synthetic flows for bench/detectors.sh as a TRAP
// file capture (f: IFC) ending with the end-of-stream message:
//
//	detgen -kind scan|amp [-n 1000000] -o FILE
//
// "scan" is vportscan/haddrscan traffic (internal/flowgen.ScanFlows, an
// exporter's superset template), "amp" DNS reflection attacks among
// ordinary DNS (flowgen.AmplificationFlows, amplification_detection's
// exact C template, which the C module requires).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/trap"
)

func main() {
	kind := flag.String("kind", "scan", "traffic kind: scan or amp")
	n := flag.Int("n", 1000000, "number of flows")
	out := flag.String("o", "", "output file")
	flag.Parse()
	if err := write(*kind, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "detgen:", err)
		os.Exit(1)
	}
}

func write(kind string, n int, path string) error {
	if path == "" {
		return fmt.Errorf("-o FILE is required")
	}
	sp, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		return err
	}
	o, err := trap.OpenOutput(sp[0], "", nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	spec := flowgen.FlowSpec
	if kind == "amp" {
		spec = flowgen.AmplificationSpec
	} else if kind != "scan" {
		return fmt.Errorf("kind %q: want scan or amp", kind)
	}
	if err := o.SetDataFormat(trap.FormatUniRec, spec); err != nil {
		return err
	}
	left := n
	for seed := uint64(1); left > 0; seed++ {
		var flows []flowgen.Flow
		if kind == "amp" {
			flows = flowgen.AmplificationFlows(seed, 53, flowgen.Base+uint32(seed)*3600)
		} else {
			// Batches of 100000 flows, each a fresh population of scanners.
			flows = flowgen.ScanFlows(seed, 100000, 200, 64, 400)
		}
		recs, err := flowgen.Records(spec, flows)
		if err != nil {
			return err
		}
		if len(recs) > left {
			recs = recs[:left]
		}
		for _, r := range recs {
			if err := o.Send(ctx, r.Data); err != nil {
				return err
			}
		}
		left -= len(recs)
	}
	if err := o.SendEOS(ctx); err != nil {
		return err
	}
	return o.Close(ctx)
}
