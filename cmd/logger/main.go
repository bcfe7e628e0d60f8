// Command logger prints UniRec records received on one TRAP input as text,
// one line per record, exactly as NEMEA's logger does
// (spec/nemea-modules.md §2.1, spec/unirec.md §5).
//
//	logger -i IFC_SPEC [-t] [-T] [-c N] [-d X] [-w FILE | -a FILE]
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name:        "logger",
	Description: "This module logs all incoming UniRec records to standard output or into a specified file. Each record is written as one line containing values of its fields in human-readable format separated by chosen delimiters (CSV format).",
	Inputs:      1,
	Outputs:     0,
	Params: []trap.Param{
		{Short: 'w', Long: "write", Description: "Write output to FILE instead of stdout (rewrite the file).", HasArg: true, ArgType: "string"},
		{Short: 'a', Long: "append", Description: "Write output to FILE instead of stdout (append to the end).", HasArg: true, ArgType: "string"},
		{Short: 'o', Long: "output_fields", Description: `(currently unavailable)Set of fields included in the output (UniRec data format example:"uint32 FOO,time BAR")`, HasArg: true, ArgType: "string"},
		{Short: 't', Long: "title", Description: "Write names of fields on the first line.", ArgType: "none"},
		{Short: 'T', Long: "time", Description: "Add the time when the record was received as the first field.", ArgType: "none"},
		{Short: 'c', Long: "cut", Description: "Quit after N records are received, 0 can be useful in combination with -t to print UniRec.", HasArg: true, ArgType: "uint32"},
		{Short: 'd', Long: "delimiter", Description: "Optionally modifies delimiter to inserted value X (implicitly ','). Delimiter has to be one character, except for printable escape sequences.", HasArg: true, ArgType: "string"},
	},
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// options are logger's own command-line options.
type options struct {
	file    string
	appendF bool
	title   bool
	recTime bool
	cut     int64 // -1: no limit
	delim   byte
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	o := options{cut: -1, delim: ','}
	opts, _, err := module.Getopt(args)
	if err != nil {
		return o, err
	}
	for _, op := range opts {
		switch op.Short {
		case 'w', 'a':
			if o.file != "" {
				return o, errors.New("Only one output file may be specified")
			}
			o.file, o.appendF = op.Value, op.Short == 'a'
		case 'o':
			fmt.Fprintln(stderr, "Warning: parameter -o is currently not supported and will be ignored.")
		case 't':
			o.title = true
		case 'T':
			o.recTime = true
		case 'c':
			n, err := strconv.ParseUint(op.Value, 10, 32)
			if err != nil {
				return o, fmt.Errorf("invalid -c %q: want a non-negative number of records", op.Value)
			}
			o.cut = int64(n)
		case 'd':
			d, err := parseDelimiter(op.Value)
			if err != nil {
				return o, err
			}
			o.delim = d
		}
	}
	return o, nil
}

// parseDelimiter accepts one character or one of the escapes \f \n \r \t \v.
func parseDelimiter(s string) (byte, error) {
	if len(s) == 1 {
		return s[0], nil
	}
	if len(s) == 2 && s[0] == '\\' {
		switch s[1] {
		case 'f':
			return '\f', nil
		case 'n':
			return '\n', nil
		case 'r':
			return '\r', nil
		case 't':
			return '\t', nil
		case 'v':
			return '\v', nil
		}
	}
	return 0, fmt.Errorf("invalid delimiter %q: want one character or one of \\f \\n \\r \\t \\v", s)
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {

	o, err := parseOptions(rest, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	var out io.Writer = stdout
	if o.file != "" {
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if o.appendF {
			flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
		}
		f, err := os.OpenFile(o.file, flag, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "Error: cannot open output file: %v\n", err)
			return 1
		}
		defer f.Close()
		out = f
	}
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()

	if err := logRecords(ctx, tc.Input(0), w, o, tc.Verbosity(), stdout); err != nil {
		w.Flush()
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// logRecords is logger's receive loop. Lines are flushed whenever the
// current TRAP buffer is drained, so output is as timely as the C logger's
// per-line fflush at a fraction of the system calls.
func logRecords(ctx context.Context, in *trap.Input, w *bufio.Writer, o options, verbosity int, stdout io.Writer) error {
	in.SetRequiredFormat(trap.FormatUniRec, "")
	var (
		tmpl     *unirec.Template
		header   bool
		count    int64
		line           = make([]byte, 0, 1<<16)
		lastSec  int64 = -1
		timeText []byte
	)
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, trap.ErrTimeout) {
				continue
			}
			return err
		}
		if changed {
			_, spec := in.DataFormat()
			if tmpl, err = unirec.ParseTemplate(spec); err != nil {
				return fmt.Errorf("received template %q: %w", spec, err)
			}
			if o.title && !header {
				line = line[:0]
				if o.recTime {
					line = append(line, "time,"...)
				}
				line = tmpl.AppendHeader(line, o.delim)
				line = append(line, '\n')
				w.Write(line)
				header = true
			}
			if o.cut == 0 {
				return w.Flush()
			}
		}
		if trap.IsEOS(msg) {
			if verbosity >= 0 {
				w.Flush()
				fmt.Fprintln(stdout, "Received ending record, terminating.")
			}
			return w.Flush()
		}
		if tmpl == nil {
			return errors.New("record received before its data format")
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			return fmt.Errorf("record %d: %w", count+1, err)
		}
		line = line[:0]
		if o.recTime {
			now := time.Now().Unix()
			if now != lastSec {
				timeText = time.Unix(now, 0).UTC().AppendFormat(timeText[:0], "2006-01-02T15:04:05")
				lastSec = now
			}
			line = append(line, timeText...)
			line = append(line, ',')
		}
		line = rec.AppendText(line, o.delim)
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		count++
		if o.cut > 0 && count >= o.cut {
			return w.Flush()
		}
		if !in.Buffered() {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
	}
}
