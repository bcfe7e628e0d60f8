package detmod

import (
	"fmt"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/ddos"
	"github.com/flowgate/flowgate/trap"
)

// Ddos is the ddos_detector module. Time is flow time, as in C: it has no
// --clock.
func Ddos() Spec {
	return Spec{
		Module: trap.Module{
			Name: "ddos_detector",
			Description: "Detects extremely intensive flooding attacks: per destination (IPv4, optionally a /d prefix) it keeps seven " +
				"60-s windows of bytes and distinct source /s prefixes, and reports a flood when two consecutive windows exceed -t times " +
				"the bytes and -c times the sources of the windows before and -m kb/s. The flood is re-reported every 5 minutes and " +
				"when it ends; floods still open are reported at end of stream. Time is flow time (TIME_LAST). " +
				"Input fields: " + ddos.InputSpec + " (any template holding them). " +
				"Differences from the C module: EVENT_ID is (flood number << 32) + DST_IP, deterministic (C: rand() << 32); " +
				"end of stream is checked before the record is read (C reads it first and can spin forever); " +
				"-s 0 and -d 0 mask the whole address (undefined in C); " +
				"the destination table is capped (--max-records, default 131072; peak RSS about 100 MiB with a million " +
				"destinations) and evicts a long idle destination, reporting its validated flood first, counted; " +
				"IPv6 destinations are counted as skipped; a message of the wrong size is counted and skipped (C stops). " +
				"The C arithmetic is kept: a flow spanning 3 or more windows feeds only its 2 newest, sources hash by (address % 511).",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				{Short: 'm', Long: "minimal_attack_size", Description: "Minimal attack size (kb/s). Default value is 1000 kb/s.", HasArg: true, ArgType: "uint64"},
				{Short: 'b', Long: "min_traffic_before_attack", Description: "Minimal average traffic before attack (kb/s). Default value is 1 kb/s.", HasArg: true, ArgType: "uint64"},
				{Short: 't', Long: "threshold_flow_rate", Description: "Rate, how many times must increase flow in next 2 windows compared to average of previous windows to be detected as flood attack (default 4).", HasArg: true, ArgType: "uint16"},
				{Short: 'c', Long: "threshold_ip_count_rate", Description: "Rate between the increase of number of unique SRC_IP addresses in next 2 windows and the average from previous windows to consider this behavior as a flood attack (default 4).", HasArg: true, ArgType: "uint16"},
				{Short: 's', Long: "mask_source_addresses", Description: "Get only prefix bits from source addresses corresponding given mask, default value/mask is 24.", HasArg: true, ArgType: "uint8"},
				{Short: 'd', Long: "mask_destination_addresses", Description: "Get only prefix bits from destination addresses corresponding given mask, default value/mask is 32.", HasArg: true, ArgType: "uint8"},
				{Short: 'p', Long: "min_threshold_before_pruning", Description: "Minimal size of flow traffic (average of flow in windows) in kb/s which will not be removed. Entries containing less flow will be removed. Default value is 10kb/s.", HasArg: true, ArgType: "uint64"},
				{Long: "max-records", Description: fmt.Sprintf("Cap of the destination table (default %d).", ddos.DefaultMaxRecords), HasArg: true, ArgType: "uint32"},
			},
		},
		Setup:   setupDdos,
		Options: Options{}, // the C module does not forward the end of stream
		BadArgs: 255,
	}
}

func setupDdos(opts []trap.Opt, _ detectors.Clock) (detectors.Detector, error) {
	cfg := ddos.DefaultConfig()
	var p optValues
	for _, o := range opts {
		switch {
		case o.Short == 'm':
			cfg.MinAttackSize = p.uint(o, 64)
		case o.Short == 'b':
			cfg.MinTrafficBefore = p.uint(o, 64)
		case o.Short == 't':
			cfg.FlowRate = uint16(p.uint(o, 16))
		case o.Short == 'c':
			cfg.IPCountRate = uint16(p.uint(o, 16))
		case o.Short == 's':
			cfg.SrcMask = uint8(p.uint(o, 8))
		case o.Short == 'd':
			cfg.DstMask = uint8(p.uint(o, 8))
		case o.Short == 'p':
			cfg.PruneThreshold = p.uint(o, 64)
		case o.Long == "max-records":
			cfg.MaxRecords = int(p.uint(o, 31))
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	return ddos.New(cfg)
}
