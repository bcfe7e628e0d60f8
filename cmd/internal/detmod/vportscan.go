package detmod

import (
	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/vportscan"
	"github.com/flowgate/flowgate/trap"
)

// Vportscan is the vportscan_detector module.
func Vportscan() Spec {
	return Spec{
		Module: trap.Module{
			Name: "vportscan_detector",
			Description: "Detects vertical TCP SYN port scans: a source whose SYN-only flows (at most 4 packets, TCP_FLAGS exactly 0x02) " +
				"reach 50 distinct ports of one destination. A port seen again is taken out of the set. " +
				"Input fields: " + vportscan.InputSpec + " (any template holding them). " +
				"Differences from the C module: the input template must hold the fields read (C accepts any and reads garbage); " +
				"--clock flow ages pairs by flow time instead of the wall clock; " +
				"the pair table is capped (--max-pairs, default 262144, about 60 MiB) and evicts an old pair (about the least recently touched), counted; " +
				"IPv6 flows are counted as skipped; the output blocks unless its IFC_SPEC sets a timeout (C never blocks and drops alerts).",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				ClockParam,
				{Long: "max-pairs", Description: "Cap of the (source, destination) pair table (default 262144).", HasArg: true, ArgType: "uint32"},
			},
		},
		Setup:   setupVportscan,
		Options: Options{},
		BadArgs: 1,
	}
}

func setupVportscan(opts []trap.Opt, clock detectors.Clock) (detectors.Detector, error) {
	cfg := vportscan.DefaultConfig()
	for _, o := range opts {
		if o.Long == "max-pairs" {
			v, err := Uint(o, 31)
			if err != nil {
				return nil, err
			}
			cfg.MaxPairs = int(v)
		}
	}
	return vportscan.New(cfg, clock)
}
