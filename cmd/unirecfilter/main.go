// Command unirecfilter sends the records of its TRAP input that pass a
// filter expression to its outputs, each output with its own filter and
// output template, as NEMEA's unirecfilter does (spec/nemea-modules.md §2.6).
//
//	unirecfilter -i IN,OUT [-O TEMPLATE] [-F FILTER] [-c N] [-n]
//	unirecfilter -i IN,OUT1,OUT2,... -f FILE [-c N] [-n]
//
// FILE holds one "TEMPLATE:FILTER;" item per output and is read again on
// SIGUSR1. The language is package filter's.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name: "unirecfilter",
	Description: "This NEMEA module selects records according to parameters in filter and sends only fields specified in output template. " +
		"Unirecfilter expects unirec format of messages on input. Output format is specified with -O flag, filter is specified with -F flag " +
		"and contains expressions (<=, ==, &&, ...). You can also specify output format and filter in a FILE, which allows sending output to multiple interfaces.",
	Inputs:  1,
	Outputs: -1,
	Params: []trap.Param{
		{Short: 'O', Long: "unirec_out", Description: `Specify UniRec data format expected on the output interface. (UniRec data format example:"uint32 FOO,string BAR")`, HasArg: true, ArgType: "string"},
		{Short: 'F', Long: "filter", Description: "Specify filter.", HasArg: true, ArgType: "string"},
		{Short: 'n', Long: "no_eof", Description: "Don't send 'EOF message' at the end.", ArgType: "none"},
		{Short: 'f', Long: "file", Description: "Read template and filter from file.", HasArg: true, ArgType: "string"},
		{Short: 'c', Long: "cut", Description: "Quit after N records are received.", HasArg: true, ArgType: "int32"},
	},
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

type options struct {
	outTemplate string
	filter      string
	file        string
	cut         int64 // -1: no limit
	noEOF       bool
}

func parseOptions(args []string) (options, error) {
	o := options{cut: -1}
	opts, _, err := module.Getopt(args)
	if err != nil {
		return o, err
	}
	for _, op := range opts {
		switch op.Short {
		case 'O':
			o.outTemplate = op.Value
		case 'F':
			o.filter = op.Value
		case 'f':
			o.file = op.Value
		case 'n':
			o.noEOF = true
		case 'c':
			n, err := strconv.ParseInt(op.Value, 10, 32)
			if err != nil || n < 0 {
				return o, fmt.Errorf("invalid -c %q: want a non-negative number of records", op.Value)
			}
			o.cut = n
		}
	}
	return o, nil
}

// loadSpecs returns one output spec per output: from the file, or from -O
// and -F for the single output.
func loadSpecs(o options, outputs int) ([]filter.OutputSpec, error) {
	if o.file != "" {
		text, err := os.ReadFile(o.file)
		if err != nil {
			return nil, err
		}
		specs, err := filter.ParseFilterFile(string(text))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.file, err)
		}
		if len(specs) < outputs {
			return nil, fmt.Errorf("%s: %d output items for %d output interfaces", o.file, len(specs), outputs)
		}
		return specs[:outputs], nil
	}
	if outputs > 1 {
		return nil, errors.New("for more than one output interface use parameter -f FILE")
	}
	var spec filter.OutputSpec
	if o.outTemplate != "" {
		p, err := filter.ParseProjection(o.outTemplate)
		if err != nil {
			return nil, fmt.Errorf("-O %q: %w", o.outTemplate, err)
		}
		spec.Projection = p
	}
	e, err := filter.Parse(o.filter)
	if err != nil {
		var se *filter.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("-F: %w\n%s", err, se.Caret())
		}
		return nil, err
	}
	spec.Filter = e
	return []filter.OutputSpec{spec}, nil
}

func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	specs, err := loadSpecs(o, tc.NumOutputs())
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	var reload atomic.Bool
	if o.file != "" {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGUSR1)
		defer signal.Stop(sig)
		go func() {
			for {
				select {
				case <-sig:
					reload.Store(true)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	outs := make([]*trap.Output, tc.NumOutputs())
	for i := range outs {
		outs[i] = tc.Output(i)
	}
	f := &filterer{
		in: tc.Input(0), outs: outs, specs: specs, verbose: tc.Verbosity(),
		stdout: stdout, stderr: stderr, cut: o.cut, noEOF: o.noEOF,
		reload: func() ([]filter.OutputSpec, error) {
			if !reload.Swap(false) {
				return nil, nil
			}
			return loadSpecs(o, len(outs))
		},
	}
	if err := f.run(ctx); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// route is one output compiled for the current input template.
type route struct {
	out  *trap.Output
	prog *filter.Program
	proj *filter.Projector // nil: send the input record as is
	rec  unirec.Record     // projection buffer
}

type filterer struct {
	in      *trap.Input
	outs    []*trap.Output
	specs   []filter.OutputSpec
	verbose int
	stdout  io.Writer
	stderr  io.Writer
	cut     int64
	noEOF   bool
	reload  func() ([]filter.OutputSpec, error) // new specs after SIGUSR1, or nil

	tmpl   *unirec.Template
	routes []route
	bad    uint64 // records that do not fit the input template
}

// compile builds the routes for the input template t.
func (f *filterer) compile(t *unirec.Template) error {
	f.routes = f.routes[:0]
	for i, spec := range f.specs {
		prog, warns, err := spec.Filter.Compile(t)
		for _, w := range warns {
			fmt.Fprintf(f.stderr, "Warning: output %d filter %s\n", i, w)
		}
		if err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
		r := route{out: f.outs[i], prog: prog}
		outSpec := t.Spec()
		if spec.Projection != nil {
			r.proj = spec.Projection.For(t)
			r.rec = spec.Projection.T.NewRecord()
			outSpec = spec.Projection.T.Spec()
		}
		if err := r.out.SetDataFormat(trap.FormatUniRec, outSpec); err != nil {
			return err
		}
		if f.verbose >= 0 {
			fmt.Fprintf(f.stdout, "[%s] Filter: %s\n", r.out.Spec().Raw, spec.Filter)
		}
		f.routes = append(f.routes, r)
	}
	return nil
}

func (f *filterer) run(ctx context.Context) error {
	f.in.SetRequiredFormat(trap.FormatUniRec, "")
	var received int64
	for f.cut < 0 || received < f.cut {
		msg, changed, err := f.in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, trap.ErrTimeout) {
				continue
			}
			return err
		}
		if trap.IsEOS(msg) {
			break
		}
		if specs, err := f.reload(); err != nil {
			fmt.Fprintf(f.stderr, "Error: reloading the filter file: %v (keeping the old filters)\n", err)
		} else if specs != nil {
			f.specs, changed = specs, true
		}
		if changed || f.tmpl == nil {
			_, spec := f.in.DataFormat()
			t, err := unirec.ParseTemplate(spec)
			if err != nil {
				return fmt.Errorf("input template %q: %w", spec, err)
			}
			f.tmpl = t
			if err := f.compile(t); err != nil {
				return err
			}
		}
		received++
		rec, err := f.tmpl.Wrap(msg)
		if err != nil {
			f.bad++
			if f.bad&(f.bad-1) == 0 { // 1, 2, 4, ...: rate-limited
				fmt.Fprintf(f.stderr, "Warning: %d records do not fit the input template, dropped; last: %v\n", f.bad, err)
			}
			continue
		}
		for i := range f.routes {
			r := &f.routes[i]
			if !r.prog.MatchData(rec.Data) {
				continue
			}
			data := rec.Data
			if r.proj != nil {
				if err := r.proj.Project(&r.rec, rec); err != nil {
					return err
				}
				data = r.rec.Data
			}
			if err := r.out.Send(ctx, data); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
	if f.noEOF {
		return nil
	}
	for _, out := range f.outs {
		if _, spec := out.DataFormat(); spec == "" && f.tmpl == nil {
			// No record came: announce the input's format, if any, so the EOF can go out.
			if fm, s := f.in.DataFormat(); s != "" {
				if err := out.SetDataFormat(fm, s); err != nil {
					return err
				}
			} else {
				continue
			}
		}
		if err := out.SendEOS(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}
