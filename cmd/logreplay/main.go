// Command logreplay sends the records of a logger CSV file (the output of
// `logger -t`, optionally with `-T`) as UniRec on one TRAP output, as
// NEMEA's logreplay does (spec/nemea-modules.md §2.2, spec/unirec.md §6).
//
//	logreplay -i IFC_SPEC -f FILE [-c N] [-n] [-d]
package main

import (
	"bufio"
	"bytes"
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
	Name:        "logreplay",
	Description: "This module converts output of logger back to UniRec records and sends them to the output interface. The first line of the input file must contain the UniRec template (logger -t), optionally preceded by the time column (logger -T).",
	Inputs:      0,
	Outputs:     1,
	Params: []trap.Param{
		{Short: 'f', Long: "file", Description: "Specify the input file with records in the logger format (mandatory).", HasArg: true, ArgType: "string"},
		{Short: 'c', Long: "cut", Description: "Send at most N records.", HasArg: true, ArgType: "uint32"},
		{Short: 'n', Long: "no_eof", Description: "Do not send the end-of-stream record at the end.", ArgType: "none"},
		{Short: 'd', Long: "disable_timing", Description: "Do not wait between records by the differences of their time column; send as fast as possible.", ArgType: "none"},
	},
}

// Exit codes of the C logreplay.
const (
	exitOK       = 0
	exitBadArgs  = 1
	exitBadField = 3
	exitOpen     = 4
)

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

type options struct {
	file   string
	cut    int64 // -1: all
	noEOF  bool
	noWait bool
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, rest []string, stdout, stderr io.Writer) int {

	o := options{cut: -1}
	opts, _, err := module.Getopt(rest)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitBadArgs
	}
	for _, op := range opts {
		switch op.Short {
		case 'f':
			o.file = op.Value
		case 'c':
			n, err := strconv.ParseUint(op.Value, 10, 32)
			if err != nil {
				fmt.Fprintf(stderr, "Error: invalid -c %q\n", op.Value)
				return exitBadArgs
			}
			o.cut = int64(n)
		case 'n':
			o.noEOF = true
		case 'd':
			o.noWait = true
		}
	}
	if o.file == "" {
		fmt.Fprintln(stderr, "Error: input file must be specified (-f).")
		return exitBadArgs
	}
	f, err := os.Open(o.file)
	if err != nil {
		fmt.Fprintf(stderr, "Error: cannot open input file: %v\n", err)
		return exitOpen
	}
	defer f.Close()

	code := replay(ctx, tc.Output(0), bufio.NewReaderSize(f, 1<<20), o, stderr)
	if code == exitOK && tc.Verbosity() >= 0 {
		fmt.Fprintln(stdout, "Exiting ...")
	}
	return code
}

// replay sends every row of r. It returns the process exit code.
func replay(ctx context.Context, out *trap.Output, r *bufio.Reader, o options, stderr io.Writer) int {
	first, err := readLine(r)
	if err != nil && len(first) == 0 {
		fmt.Fprintf(stderr, "Error: input file has no header line: %v\n", err)
		return exitBadField
	}
	h, err := unirec.ParseCSVHeader(string(first))
	if err != nil {
		fmt.Fprintf(stderr, "Error: Invalid unirec field: %v\n", err)
		return exitBadField
	}
	if err := out.SetDataFormat(trap.FormatUniRec, h.T.Spec()); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitBadArgs
	}
	rec := h.T.NewRecord()
	var (
		sent, rowNo int64
		lastTime    int64
		haveTime    bool
	)
	for o.cut < 0 || sent < o.cut {
		line, err := readLine(r)
		if len(line) == 0 && err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(stderr, "Error: reading %s: %v\n", o.file, err)
			}
			break
		}
		rowNo++
		if len(line) == 0 {
			continue
		}
		ts, perr := h.ParseRow(line, &rec)
		if perr != nil {
			fmt.Fprintf(stderr, "Warning: invalid field (%v), record %d skipped\n", perr, rowNo)
			continue
		}
		if h.HasTime && !o.noWait {
			if t, err := time.Parse("2006-01-02T15:04:05", ts); err == nil {
				sec := t.Unix()
				if haveTime && sec > lastTime {
					select {
					case <-time.After(time.Duration(sec-lastTime) * time.Second):
					case <-ctx.Done():
						return exitOK
					}
				}
				lastTime, haveTime = sec, true
			}
		}
		if err := out.Send(ctx, rec.Data); err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			fmt.Fprintf(stderr, "Error: sending record %d: %v\n", rowNo, err)
			return exitBadArgs
		}
		sent++
	}
	if !o.noEOF && ctx.Err() == nil {
		if err := out.SendEOS(ctx); err != nil {
			fmt.Fprintf(stderr, "Error: sending end of stream: %v\n", err)
		}
	}
	return exitOK
}

// readLine returns the next line without its "\n" (and "\r\n"). The slice
// is valid until the next call.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A row longer than the buffer: collect it whole.
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, err
}
