// Command nfreader sends the flow records of nfdump files as UniRec on one
// TRAP output, as NEMEA's nfreader (binary nfdump_reader) does
// (spec/nemea-modules.md §2.3):
//
//	nfreader -i IFC [-f FILTER] [-n] [-c NUM] [-r NUM] [-R] [-T] [-l MASK] [-D] [-p N] [-F basic|rich] [-w N] FILE [FILE...]
//
// Files are read one after another, in the order given, with package nfdump
// (1.6 and 1.7+ layouts, every compression). -f takes an nfdump filter
// expression (package nfdump/filter). The output template is NEMEA's 14-field
// basic flow; -F rich, our addition (the C module has no -F), selects
// converters.NfdumpRichTemplate instead, which carries every field an nfdump
// record has (AS numbers, interfaces, next hops, exporter, sampling, biflow
// counters). -w N, also ours, sets how many goroutines decompress and
// convert blocks (1: serial); the output does not depend on it.
//
// A file that cannot be opened or that is corrupt is reported on stderr with
// its name and the byte offset of the fault; the records before the fault
// are sent and the next file is read. The exit code is then 3.
//
// Exit codes: 0 success, 2 bad parameters, 3 read, filter or send error,
// 4 TRAP initialisation error. At the end "N flow records sent" is printed on
// stdout and the end-of-stream message is sent unless -n is given or the
// module was interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/nfdump/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name:        "nfreader",
	Description: "This module reads a given nfdump file(s) and outputs flow records in UniRec format. If more files are specified, all flows from the first file are read, then all flows from second file and so on. Usage: nfreader -i IFC [options] FILE [FILE...]",
	Inputs:      0,
	Outputs:     1,
	Params: []trap.Param{
		{Short: 'f', Long: "filter", Description: "A nfdump-like filter expression. Only records matching the filter will be sent to the output.", HasArg: true, ArgType: "string"},
		{Short: 'c', Long: "first", Description: "Read only the first N flow records.", HasArg: true, ArgType: "uint64"},
		{Short: 'n', Long: "no_eof", Description: "Don't send EOF message at the end.", ArgType: "none"},
		{Short: 'T', Long: "actual_timestamps", Description: "Replace original timestamps by the sending time: TIME_LAST becomes now, TIME_FIRST now minus the flow duration.", ArgType: "none"},
		{Short: 'D', Long: "fill_dir_bit_field", Description: "Fill DIR_BIT_FIELD with 1<<(input interface) (0 for interface 0).", ArgType: "none"},
		{Short: 'l', Long: "link_mask", Description: "Hexadecimal link mask written to LINK_BIT_FIELD, e.g. 1, c, ff (default 1).", HasArg: true, ArgType: "string"},
		{Short: 'p', Long: "print_progress", Description: "Show progress - print a dot every N flows.", HasArg: true, ArgType: "uint64"},
		{Short: 'r', Long: "rate", Description: "Rate limiting. Limiting sending flow rate to N records/sec (at least 100).", HasArg: true, ArgType: "uint64"},
		{Short: 'R', Long: "real_time", Description: "Real time re-sending: records are sent at the pace of their original start times (TIME_FIRST). Cannot be combined with -r.", ArgType: "none"},
		{Short: 'w', Long: "workers", Description: "Blocks decompressed (and converted) in parallel by N goroutines, records still in file order: 0 = GOMAXPROCS up to 4 (default), 1 = serial.", HasArg: true, ArgType: "uint64"},
		{Short: 'F', Long: "template", Description: "Output template: basic (the 14-field basic flow, default) or rich (every field of the nfdump record).", HasArg: true, ArgType: "string"},
	},
}

// Exit codes of NEMEA's nfdump_reader.
const (
	exitOK        = 0
	exitBadParams = 2
	exitRead      = 3
	exitTrapInit  = 4
)

// minRate is the smallest -r the C module accepts.
const minRate = 100

func main() {
	// nfreader allocates its block buffers (some 20 MiB) at start and then
	// nothing per record: collecting through that start-up burst at the
	// default GOGC=100 (heap goal 4 MiB) only costs time. Per-file and
	// per-block garbage (iterators, BZ2 tables) is still collected. GOGC,
	// when set, wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	trap.Main(module, body, trap.WithInitExitCode(exitTrapInit))
}

// options are nfreader's own command-line options.
type options struct {
	filter    string
	limit     int64 // -1: no limit
	noEOF     bool
	nowTimes  bool   // -T
	dirBits   bool   // -D
	linkMask  uint64 // -l
	dotEvery  int64  // -p, 0: off
	rate      int64  // -r, 0: off
	realTime  bool   // -R
	files     []string
	templText string
	workers   int // -w, nfdump.File.SetWorkers
}

// parseOptions reads the module's options and positional files.
func parseOptions(args []string) (options, error) {
	o := options{limit: -1, linkMask: 1, templText: converters.NfreaderTemplate}
	opts, files, err := module.Getopt(args)
	if err != nil {
		return o, err
	}
	rateSet := false
	for _, op := range opts {
		switch op.Short {
		case 'f':
			o.filter = op.Value
		case 'c':
			n, err := strconv.ParseUint(op.Value, 10, 63)
			if err != nil || n == 0 {
				return o, fmt.Errorf("invalid -c %q: want a number of records above 0", op.Value)
			}
			o.limit = int64(n)
		case 'n':
			o.noEOF = true
		case 'T':
			o.nowTimes = true
		case 'D':
			o.dirBits = true
		case 'l':
			m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(op.Value, "0x"), "0X"), 16, 64)
			if err != nil {
				return o, fmt.Errorf("invalid -l %q: want a hexadecimal link mask such as 1, c or ff", op.Value)
			}
			o.linkMask = m
		case 'p':
			n, err := strconv.ParseUint(op.Value, 10, 63)
			if err != nil || n == 0 {
				return o, fmt.Errorf("invalid -p %q: want a number of flows above 0", op.Value)
			}
			o.dotEvery = int64(n)
		case 'r':
			n, err := strconv.ParseUint(op.Value, 10, 63)
			if err != nil || n < minRate {
				return o, fmt.Errorf("invalid -r %q: want a rate of at least %d records/s", op.Value, minRate)
			}
			o.rate, rateSet = int64(n), true
		case 'R':
			o.realTime = true
		case 'w':
			n, err := strconv.ParseUint(op.Value, 10, 8)
			if err != nil || n > nfdump.MaxWorkers {
				return o, fmt.Errorf("invalid -w %q: want a number of workers from 0 (default) to %d", op.Value, nfdump.MaxWorkers)
			}
			o.workers = int(n)
		case 'F':
			switch op.Value {
			case "basic":
				o.templText = converters.NfreaderTemplate
			case "rich":
				o.templText = converters.NfdumpRichTemplate
			default:
				return o, fmt.Errorf("invalid -F %q: want basic or rich", op.Value)
			}
		}
	}
	if rateSet && o.realTime {
		return o, errors.New("-r and -R are mutually exclusive")
	}
	if len(files) == 0 {
		return o, errors.New("no nfdump file given: nfreader -i IFC [options] FILE [FILE...]")
	}
	o.files = files
	return o, nil
}

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body, trap.WithInitExitCode(exitTrapInit))
}

// body is nfreader's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitBadParams
	}
	var flt *filter.Filter
	if o.filter != "" {
		if flt, err = filter.Compile(o.filter); err != nil {
			fmt.Fprintf(stderr, "Error: %v\n", err)
			return exitRead
		}
	}
	tmpl, err := unirec.ParseTemplate(o.templText)
	if err != nil {
		fmt.Fprintf(stderr, "Error: output template: %v\n", err)
		return exitBadParams
	}
	conv, err := converters.NewNfdumpConverter(tmpl, converters.NfdumpOptions{LinkBitField: o.linkMask, DirFromInput: o.dirBits})
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitBadParams
	}
	out := tc.Output(0)
	if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitTrapInit
	}

	s := newSender(out, conv, flt, o, stdout, stderr)
	code := exitOK
	for _, name := range o.files {
		done, err := s.sendFile(ctx, name)
		if err != nil {
			var se *sendError
			if errors.As(err, &se) {
				fmt.Fprintf(stderr, "Error: %v\n", err)
				code = exitRead
				break
			}
			// A bad file: report it, keep what was sent, go on with the next.
			fmt.Fprintf(stderr, "Error: %v\n", err)
			code = exitRead
		}
		if done || ctx.Err() != nil {
			break
		}
	}
	if s.dots > 0 {
		fmt.Fprintln(stdout)
	}
	if !o.noEOF && ctx.Err() == nil {
		if err := out.SendEOS(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(stderr, "Error: sending end of stream: %v\n", err)
			code = exitRead
		}
	}
	fmt.Fprintf(stdout, "%d flow records sent\n", s.sent)
	return code
}
