package detmod

import (
	"errors"
	"strconv"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/detectors/amplification"
	"github.com/flowgate/flowgate/trap"
)

// Amplification is the amplification_detection module.
func Amplification() Spec {
	return Spec{
		Module: trap.Module{
			Name: "amplification_detection",
			Description: "Detects reflection-amplification attacks (DNS, NTP): a server sending many large responses from the service port " +
				"to one victim that sends few, small queries, evaluated per (server, victim) over a sliding window of flow time. " +
				"Input fields: " + amplification.InputSpec + " (any template holding them). " +
				"Differences from the C module: the defaults are the C code's (the C help text lists others); PROTOCOL is not required " +
				"(C requires it and never reads it); templates with variable-length fields are accepted (C stops on them); " +
				"--min-count can be set (in C it cannot); -q 0 and other invalid values are rejected; " +
				"a BIG verdict with a zero-byte query gives no verdict (C divides by zero); -d log files are not written (rejected); " +
				"--fix-histogram counts every flow of a bin (C keeps the count of the bin's largest value, the default here too); " +
				"--clock flow triggers the inactive-pair cleanup by flow time instead of the wall-clock alarm; " +
				"the tables are capped (--max-pairs 65536 pairs, --max-items 4194304 stored flows, about 130 MiB) and evict an old pair (about the least " +
				"recently updated), counted; the exit status after end of stream is 0 (C returns 1).",
			Inputs:  1,
			Outputs: 1,
			Params: []trap.Param{
				{Short: 'p', Long: "port", Description: "Service port: flows to it are queries, flows from it responses (default 53).", HasArg: true, ArgType: "uint16"},
				{Short: 'n', Long: "top", Description: "Number of top histogram bins (default 5).", HasArg: true, ArgType: "int32"},
				{Short: 'q', Long: "step", Description: "Histogram bin width (default 2).", HasArg: true, ArgType: "uint32"},
				{Short: 'a', Long: "min_ampf", Description: "Minimal amplification factor (default 10).", HasArg: true, ArgType: "uint32"},
				{Short: 't', Long: "min_flow", Description: "Minimal number of response flows in the top bins (default 300).", HasArg: true, ArgType: "uint32"},
				{Short: 'y', Long: "min_resp_pack", Description: "Average packets per response must exceed this (default 2).", HasArg: true, ArgType: "uint32"},
				{Short: 'l', Long: "min_resp_byte", Description: "Average bytes per response must exceed this (default 2000).", HasArg: true, ArgType: "uint32"},
				{Short: 'm', Long: "max_query", Description: "Average bytes per query must be below this (default 400).", HasArg: true, ArgType: "uint32"},
				{Short: 'w', Long: "timeout", Description: "Detection window and inactivity timeout in seconds (default 900).", HasArg: true, ArgType: "int32"},
				{Short: 's', Long: "period", Description: "Trimmed part of the window and cleanup period in seconds (default 300).", HasArg: true, ArgType: "int32"},
				{Short: 'S', Long: "record_count", Description: "Flow items kept per direction per pair (default 100000, at least 10000).", HasArg: true, ArgType: "uint32"},
				{Short: 'd', Long: "log_dir", Description: "Per-pair log directory of the C module: not supported.", HasArg: true},
				{Long: "min-count", Description: "Minimal share of response flows in the top bins (default 0.9).", HasArg: true, ArgType: "float"},
				{Long: "fix-histogram", Description: "Count every flow of a histogram bin instead of C's count of the bin's largest value."},
				ClockParam,
				{Long: "max-pairs", Description: "Cap of the (server, victim) pair table (default 65536).", HasArg: true, ArgType: "uint32"},
				{Long: "max-items", Description: "Cap of the flow items stored over all pairs (default 4194304).", HasArg: true, ArgType: "uint32"},
			},
		},
		Setup:   setupAmplification,
		Options: Options{ForwardEOS: true},
		BadArgs: 1,
	}
}

func setupAmplification(opts []trap.Opt, clock detectors.Clock) (detectors.Detector, error) {
	cfg := amplification.DefaultConfig()
	var p optValues
	for _, o := range opts {
		switch o.Short {
		case 'p':
			cfg.Port = uint16(p.uint(o, 16))
		case 'n':
			cfg.TopN = int(p.uint(o, 31))
		case 'q':
			cfg.Step = uint32(p.uint(o, 32))
		case 'a':
			cfg.MinAmpf = uint32(p.uint(o, 32))
		case 't':
			cfg.MinFlows = uint32(p.uint(o, 32))
		case 'y':
			cfg.MinRespPkts = uint32(p.uint(o, 32))
		case 'l':
			cfg.MinRespBytes = uint32(p.uint(o, 32))
		case 'm':
			cfg.MaxQueryB = uint32(p.uint(o, 32))
		case 'w':
			cfg.Window = int64(p.uint(o, 31))
		case 's':
			cfg.Period = int64(p.uint(o, 31))
		case 'S':
			cfg.RecordCount = int(p.uint(o, 31))
		case 'd':
			p.fail(errors.New("-d: per-pair log files are not supported"))
		case 0:
			switch o.Long {
			case "min-count":
				f, e := strconv.ParseFloat(o.Value, 32)
				if e != nil {
					p.fail(errors.New("--min-count: " + strconv.Quote(o.Value) + " is not a number"))
				}
				cfg.MinCount = float32(f)
			case "fix-histogram":
				cfg.FixHistogram = true
			case "max-pairs":
				cfg.MaxPairs = int(p.uint(o, 31))
			case "max-items":
				cfg.MaxItems = int(p.uint(o, 31))
			}
		}
		if p.err != nil {
			return nil, p.err
		}
	}
	return amplification.New(cfg, clock)
}
