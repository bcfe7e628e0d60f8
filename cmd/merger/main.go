// Command merger joins the records of several TRAP inputs into one output
// stream whose template is the union of the inputs' templates, as NEMEA's
// merger does (spec/nemea-modules.md §2.5): fields an input lacks are
// zero. -u fixes the output template instead; -I ignores the inputs' end
// of stream; one end of stream goes out at the end unless -n.
//
//	merger -i IN1,IN2,...,OUT [-u TEMPLATE] [-I] [-n]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name: "merger",
	Description: "This module merges traffic from multiple input interfaces to one output stream. " +
		"The output template is the union of the input templates unless -u gives it; fields an input does not have are set to zero.",
	Inputs:  -1,
	Outputs: 1,
	Params: []trap.Param{
		{Short: 'u', Long: "unirec", Description: "UniRec specifier of the output data format (\"type NAME,...\"); the union of the inputs' templates if not given.", HasArg: true, ArgType: "string"},
		{Short: 'I', Long: "ignore_eof", Description: "Do not end an input at its end-of-stream message.", ArgType: "none"},
		{Short: 'n', Long: "no_eof", Description: "Do not send the end-of-stream message at the end.", ArgType: "none"},
	},
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {
	opts, _, err := module.Getopt(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	var m merger
	for _, op := range opts {
		switch op.Short {
		case 'u':
			t, err := unirec.ParseTemplate(op.Value)
			if err != nil {
				fmt.Fprintf(stderr, "Error: -u: %v\n", err)
				return 1
			}
			m.out = t
		case 'I':
			m.ignoreEOF = true
		case 'n':
			m.noEOF = true
		}
	}
	for i := 0; i < tc.NumInputs(); i++ {
		m.ins = append(m.ins, tc.Input(i))
	}
	n, err := m.run(ctx, tc.Output(0))
	if tc.Verbosity() >= 0 {
		fmt.Fprintf(stdout, "%d records merged\n", n)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

type merger struct {
	ins       []*trap.Input
	out       *unirec.Template // nil: the union of the inputs'
	ignoreEOF bool
	noEOF     bool
}

// first is an input's first message, received before the union exists.
type first struct {
	msg  []byte
	spec string
	eos  bool
	err  error
}

// run merges until every input has ended and returns the records sent.
func (m *merger) run(ctx context.Context, out *trap.Output) (int64, error) {
	for _, in := range m.ins {
		in.SetRequiredFormat(trap.FormatUniRec, "")
	}
	firsts := make([]first, len(m.ins))
	if m.out == nil {
		// Without -u: one message from each input, then the union.
		var fields []unirec.Field
		for i, in := range m.ins {
			f := &firsts[i]
			msg, _, err := recv(ctx, in)
			if err != nil {
				f.err = err
				continue
			}
			_, f.spec = in.DataFormat()
			f.msg, f.eos = append([]byte(nil), msg...), trap.IsEOS(msg)
			t, err := unirec.ParseTemplate(f.spec)
			if err != nil {
				return 0, fmt.Errorf("input %d template %q: %w", i, f.spec, err)
			}
			fields = append(fields, t.Fields()...)
		}
		t, err := unirec.NewTemplate(fields)
		if err != nil {
			return 0, fmt.Errorf("union of the input templates: %w", err)
		}
		m.out = t
	}
	if err := out.SetDataFormat(trap.FormatUniRec, m.out.Spec()); err != nil {
		return 0, err
	}
	var (
		mu   sync.Mutex
		sent int64
		wg   sync.WaitGroup
		errs = make([]error, len(m.ins))
	)
	send := func(data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		sent++
		return out.Send(ctx, data)
	}
	for i, in := range m.ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.pump(ctx, in, firsts[i], send)
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if !m.noEOF && ctx.Err() == nil {
		if e := out.SendEOS(ctx); e != nil && err == nil {
			err = e
		}
	}
	return sent, err
}

func recv(ctx context.Context, in *trap.Input) ([]byte, bool, error) {
	for {
		msg, changed, err := in.Recv(ctx)
		if errors.Is(err, trap.ErrTimeout) {
			continue
		}
		return msg, changed, err
	}
}

// pump converts one input's records to the output template and sends
// them, starting with the message received before the union was built.
func (m *merger) pump(ctx context.Context, in *trap.Input, f first, send func([]byte) error) error {
	out := m.out.NewRecord()
	var (
		tmpl   *unirec.Template
		copier *unirec.Copier
		spec   string
	)
	handle := func(msg []byte, curSpec string) error {
		if curSpec != spec || tmpl == nil {
			t, err := unirec.ParseTemplate(curSpec)
			if err != nil {
				return fmt.Errorf("input %q template %q: %w", in.Spec().Raw, curSpec, err)
			}
			tmpl, spec, copier = t, curSpec, unirec.NewCopier(m.out, t)
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			return nil // a record that does not fit its template is dropped
		}
		out = out.Reset()
		if err := copier.Copy(&out, rec); err != nil {
			return err
		}
		return send(out.Data)
	}
	if f.err != nil {
		return ignoreEnd(ctx, f.err)
	}
	if f.msg != nil {
		if f.eos && !m.ignoreEOF {
			return nil
		}
		if !f.eos {
			if err := handle(f.msg, f.spec); err != nil {
				return err
			}
		}
	}
	for {
		msg, _, err := recv(ctx, in)
		if err != nil {
			return ignoreEnd(ctx, err)
		}
		if trap.IsEOS(msg) {
			if m.ignoreEOF {
				continue
			}
			return nil
		}
		_, s := in.DataFormat()
		if err := handle(msg, s); err != nil {
			return err
		}
	}
}

// ignoreEnd treats the end of an input (file end, termination) as a
// normal stop.
func ignoreEnd(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, trap.ErrTerminated) || errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
