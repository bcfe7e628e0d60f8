// Command detgen writes synthetic flows for bench/detectors.sh as a TRAP
// file capture (f: IFC) ending with the end-of-stream message:
//
//	detgen -kind scan|amp|brute|ddos|blacklist [-n 1000000] [-lists DIR] -o FILE
//
// "scan" is vportscan/haddrscan traffic (internal/flowgen.ScanFlows, an
// exporter's superset template), "amp" DNS reflection attacks among
// ordinary DNS (flowgen.AmplificationFlows, amplification_detection's
// exact C template, which the C module requires), "brute" login attacks
// (flowgen.BruteForceFlows), "ddos" floods (flowgen.DDoSFlows) and
// "blacklist" flows to and from listed addresses (flowgen.BlacklistFlows;
// the lists go to DIR/ip4.blist and DIR/ip6.blist). Generated batches
// follow each other in time.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

func main() {
	kind := flag.String("kind", "scan", "traffic kind: scan or amp")
	n := flag.Int("n", 1000000, "number of flows")
	out := flag.String("o", "", "output file")
	lists := flag.String("lists", ".", "folder of the blacklist files (kind blacklist)")
	flag.Parse()
	if err := write(*kind, *n, *out, *lists); err != nil {
		fmt.Fprintln(os.Stderr, "detgen:", err)
		os.Exit(1)
	}
}

// shift moves flows later by sec seconds.
func shift(flows []flowgen.Flow, sec uint32) []flowgen.Flow {
	d := unirec.Time(uint64(sec) << 32)
	for i := range flows {
		flows[i].First += d
		flows[i].Last += d
	}
	return flows
}

func write(kind string, n int, path, lists string) error {
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
	switch kind {
	case "amp":
		spec = flowgen.AmplificationSpec
	case "scan", "brute", "ddos":
	case "blacklist":
		_, bl := flowgen.BlacklistFlows(1, false)
		if err := os.WriteFile(filepath.Join(lists, "ip4.blist"), []byte(bl.V4), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(lists, "ip6.blist"), []byte(bl.V6), 0o644); err != nil {
			return err
		}
	default:
		return fmt.Errorf("kind %q: want scan, amp, brute, ddos or blacklist", kind)
	}
	if err := o.SetDataFormat(trap.FormatUniRec, spec); err != nil {
		return err
	}
	left := n
	for seed := uint64(1); left > 0; seed++ {
		var flows []flowgen.Flow
		switch kind {
		case "amp":
			flows = flowgen.AmplificationFlows(seed, 53, flowgen.Base+uint32(seed)*3600)
		case "brute":
			flows = shift(flowgen.BruteForceFlows(seed), uint32(seed)*4*3600)
		case "ddos":
			flows = shift(flowgen.DDoSFlows(seed), uint32(seed)*3600)
		case "blacklist":
			// The lists of seed 1, its flows again and again.
			flows, _ = flowgen.BlacklistFlows(1, false)
			flows = shift(flows, uint32(seed)*3600)
		default:
			// Batches of 100000 flows over the same scanners.
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
