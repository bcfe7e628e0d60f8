// Package detmod runs a detector (package detectors) as a NEMEA module:
// one UniRec input, one alert output, the detector's required fields as
// the input's required format (the subset rule), alerts sent as the C
// module's template. The cmd/<detector> binaries only parse their options
// and call Run.
package detmod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// ClockParam is the --clock option every detector module has.
var ClockParam = trap.Param{Long: "clock", Description: detectors.ClockHelp, HasArg: true}

// Options say how a module treats its streams where the C modules differ.
type Options struct {
	// ForwardEOS sends the end-of-stream message on after the input's
	// (amplification_detection, ipblacklistfilter do; the others do not).
	ForwardEOS bool
}

// Result is what a run counted besides the detector's own stats.
type Result struct {
	Malformed uint64 // messages too short for the template, skipped
	Dropped   uint64 // alerts the output refused on timeout (non-blocking IFC)
}

// Run feeds the module's input 0 to det and sends its alerts to output
// 0 until end of stream or ctx ends. A sender template without a field
// the detector reads fails the negotiation with an error naming it.
func Run(ctx context.Context, tc *trap.Context, det detectors.Detector, opts Options) (Result, error) {
	in, out := tc.Input(0), tc.Output(0)
	in.SetRequiredFormat(trap.FormatUniRec, det.InputSpec())
	ot, err := unirec.ParseTemplate(det.OutputSpec())
	if err != nil {
		return Result{}, err
	}
	if err := out.SetDataFormat(trap.FormatUniRec, ot.Spec()); err != nil {
		return Result{}, err
	}
	var res Result
	emit := func(a unirec.Record) error {
		err := out.Send(ctx, a.Data)
		if errors.Is(err, trap.ErrTimeout) {
			res.Dropped++
			return nil
		}
		return err
	}
	var tmpl *unirec.Template
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			switch {
			case errors.Is(err, trap.ErrTimeout):
				continue
			case errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil:
				return res, nil
			}
			return res, err
		}
		if changed || (tmpl == nil && !trap.IsEOS(msg)) {
			// An exact match of the required spec is not announced as a change.
			_, spec := in.DataFormat()
			t, err := unirec.ParseTemplate(spec)
			if err != nil {
				return res, fmt.Errorf("input template %q: %w", spec, err)
			}
			if err := det.Bind(t); err != nil {
				return res, err
			}
			tmpl = t
		}
		if trap.IsEOS(msg) {
			if err := det.Finish(emit); err != nil {
				return res, err
			}
			if opts.ForwardEOS {
				return res, out.SendEOS(ctx)
			}
			return res, nil
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			res.Malformed++
			continue
		}
		if err := det.Process(rec, emit); err != nil {
			return res, err
		}
	}
}

// Report prints the run's counters to w: always when something was lost
// or skipped, otherwise only when verbose.
func Report(w io.Writer, name string, st detectors.Stats, res Result, verbose bool) {
	lossy := res.Malformed+res.Dropped+st.Evicted+st.IPv6Skipped > 0
	if !lossy && !verbose {
		return
	}
	fmt.Fprintf(w, "%s: records %d, alerts %d, IPv6 skipped %d, malformed %d, alerts dropped %d, entries %d, evicted %d, expired %d",
		name, st.Records, st.Alerts, st.IPv6Skipped, res.Malformed, res.Dropped, st.Entries, st.Evicted, st.Expired)
	for _, k := range slices.Sorted(maps.Keys(st.Extra)) {
		fmt.Fprintf(w, ", %s %d", k, st.Extra[k])
	}
	fmt.Fprintln(w)
}

// Setup builds a module's detector from its options (other than --clock,
// which Body handles) and the clock.
type Setup func(opts []trap.Opt, clock detectors.Clock) (detectors.Detector, error)

// Body is the trap.Body of a detector module: it parses the options,
// builds the detector with setup, runs it and reports its counters. An
// option error prints "Invalid arguments" and returns badArgs (the C
// modules differ: 1 or 255).
func Body(ctx context.Context, tc *trap.Context, args []string, stderr io.Writer, setup Setup, opts Options, badArgs int) int {
	name := tc.Module().Name
	mopts, _, err := tc.Module().Getopt(args)
	var det detectors.Detector
	var clock detectors.Clock
	if err == nil {
		if clock, err = detectors.ParseClock(clockOption(mopts)); err == nil {
			det, err = setup(mopts, clock)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return badArgs
	}
	if wc, ok := clock.(*detectors.WallClock); ok {
		cctx, stop := context.WithCancel(ctx)
		defer stop()
		go wc.Run(cctx)
	}
	res, err := Run(ctx, tc, det, opts)
	Report(stderr, name, det.Stats(), res, tc.Verbosity() >= 0)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// Uint parses an option value as an unsigned integer of at most bits bits.
func Uint(o trap.Opt, bits int) (uint64, error) {
	v, err := strconv.ParseUint(o.Value, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("option %s: %q is not an unsigned %d-bit integer", optName(o), o.Value, bits)
	}
	return v, nil
}

// optValues parses option values in a loop over the options, keeping
// the first error: a setup parses each option, then stops at p.err.
type optValues struct{ err error }

// uint is Uint, the error kept in p.
func (p *optValues) uint(o trap.Opt, bits int) uint64 {
	v, err := Uint(o, bits)
	p.fail(err)
	return v
}

// fail keeps err unless an error is kept already.
func (p *optValues) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func optName(o trap.Opt) string {
	if o.Short != 0 {
		return "-" + string(rune(o.Short))
	}
	return "--" + o.Long
}
