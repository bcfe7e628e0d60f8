package detmod

import (
	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/haddrscan"
	"github.com/flowgate/flowgate/trap"
)

// Haddrscan is the haddrscan_detector module.
func Haddrscan() Spec {
	return Spec{
		Module: trap.Module{
			Name: "haddrscan_detector",
			Description: "Detects horizontal TCP SYN scans: a source whose single-packet SYN flows (TCP_FLAGS exactly 0x02) reach -n distinct " +
				"destinations on one port. Input fields: " + haddrscan.InputSpec + " (any template holding them). " +
				"Differences from the C module: the input template must hold the fields read (C accepts any); " +
				"the address counter is wide, so -n above 255 works (C's 8-bit counter wraps and never alerts); " +
				"trailing alerts without any new address (ADDR_CNT 0, DST_IP0..3 0.0.0.0) are not sent unless --empty-trailing is given; " +
				"--clock flow ages keys by flow time instead of the wall clock; " +
				"the key table is capped (--max-keys, default 262144, about 85 MiB at -n 50) and evicts an old key (about the least recently touched), counted; " +
				"IPv6 flows are counted as skipped; the output blocks unless its IFC_SPEC sets a timeout (C never blocks and drops alerts).",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				{Short: 'n', Long: "numaddrs-threshold", Description: "Number of distinct destination addresses that raises an alert (default 50, at least 2).", HasArg: true, ArgType: "uint32"},
				{Short: 'd', Long: "idle-threshold", Description: "Seconds after which an untouched key is pruned (default 300).", HasArg: true, ArgType: "uint16"},
				{Short: 'p', Long: "pruning-interval", Description: "Seconds between prunings (default 60).", HasArg: true, ArgType: "uint16"},
				ClockParam,
				{Long: "max-keys", Description: "Cap of the (source, port) key table (default 262144).", HasArg: true, ArgType: "uint32"},
				{Long: "empty-trailing", Description: "Send the C module's trailing alerts that carry no address."},
			},
		},
		Setup:   setupHaddrscan,
		Options: Options{},
		BadArgs: 255,
	}
}

func setupHaddrscan(opts []trap.Opt, clock detectors.Clock) (detectors.Detector, error) {
	cfg := haddrscan.DefaultConfig()
	var p optValues
	for _, o := range opts {
		switch {
		case o.Short == 'n':
			cfg.Threshold = int(min(p.uint(o, 32), haddrscan.MaxThreshold+1))
		case o.Short == 'd':
			cfg.Idle = int64(p.uint(o, 16))
		case o.Short == 'p':
			cfg.PruneInterval = int64(p.uint(o, 16))
		case o.Long == "max-keys":
			cfg.MaxKeys = int(p.uint(o, 31))
		case o.Long == "empty-trailing":
			cfg.EmptyTrailing = true
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	return haddrscan.New(cfg, clock)
}
