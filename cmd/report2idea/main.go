// Command report2idea converts the alerts of the NEMEA detectors to IDEA
// JSON, as NEMEA's Python reporters (<name>2idea.py) do, with their
// options; the reporter is chosen with --reporter NAME:
//
//	report2idea --reporter NAME -i IN_IFC[,IDEA_IFC] [-c config.yaml] [-D] [-n NODE] [-T]
//	    [--aggrwin HH:MM:SS] [--blacklist-config bl_downloader_config.xml]
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowgate/flowgate/detectors/idea"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var module = trap.Module{
	Name: "report2idea",
	Description: "Converts detector alerts to IDEA JSON and runs the reporter_config rules on them (file and trap actions). " +
		"Reporters: " + strings.Join(idea.Names(), ", ") + ". " +
		"vportscan and blacklist read their aggregators' JSON (aggregated_portscan, aggregated_blacklist), vportscan_detector the " +
		"detector's own alerts (one target each), haddrscan the aggregator's UniRec or the detector's own alerts, the others the " +
		"detectors' UniRec alerts. " +
		"Differences from the Python reporters: one binary for all; rule conditions are only Null/True/False; only file and trap " +
		"actions (warden, mongo, email, syslog and mark are rejected); ddos's Node.Name is <namespace>.ddos; a bruteforce alert with " +
		"a protocol other than 1/6/17 is counted and skipped (Python stops).",
	Inputs:  1,
	Outputs: -1,
	Params: []trap.Param{
		{Long: "reporter", Description: "Reporter to run: " + strings.Join(idea.Names(), ", ") + ".", HasArg: true},
		{Short: 'c', Long: "config", Description: "reporter_config YAML file (default ./config.yaml).", HasArg: true},
		{Short: 'T', Long: "trap", Description: "Also send the IDEA messages to the output IFC (JSON, format \"IDEA\")."},
		{Short: 'D', Long: "dontvalidate", Description: "Do not skip alerts whose times lie outside the day before CreateTime (needed for replays)."},
		{Short: 'n', Long: "name", Description: "Node.Name of the alerts (default <namespace>.<reporter module>).", HasArg: true},
		{Short: 'd', Long: "dry", Description: "Print the parsed configuration and exit."},
		{Short: 'a', Long: "autoreload", Description: "Reload the configuration when it changes, checked every SEC seconds.", HasArg: true, ArgType: "int32"},
		{Short: 'W', Long: "warden", Description: "Warden client configuration: not supported.", HasArg: true},
		{Long: "aggrwin", Description: "Node.AggrWin of vportscan and haddrscan alerts (default 00:05:00).", HasArg: true},
		{Long: "blacklist-config", Description: "bl_downloader_config.xml of the blacklist reporter.", HasArg: true},
	},
}

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

type options struct {
	reporter, config, node, blConfig string
	trap, validate, dry              bool
	autoreload                       time.Duration
	conv                             idea.Options
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{config: "./config.yaml", validate: true}
	opts, _, err := module.Getopt(args)
	if err != nil {
		return o, err
	}
	for _, op := range opts {
		switch {
		case op.Long == "reporter":
			o.reporter = op.Value
		case op.Short == 'c':
			o.config = op.Value
		case op.Short == 'T':
			o.trap = true
		case op.Short == 'D':
			o.validate = false
		case op.Short == 'n':
			o.node = op.Value
		case op.Short == 'd':
			o.dry = true
		case op.Short == 'a':
			n, err := strconv.Atoi(op.Value)
			if err != nil || n < 1 {
				return o, fmt.Errorf("-a: %q is not a positive number of seconds", op.Value)
			}
			o.autoreload = time.Duration(n) * time.Second
		case op.Short == 'W':
			return o, errors.New("-W: Warden output is not supported")
		case op.Long == "aggrwin":
			o.conv.AggrWin = op.Value
		case op.Long == "blacklist-config":
			o.blConfig = op.Value
		}
	}
	if o.reporter == "" {
		return o, fmt.Errorf("--reporter is required: one of %s", strings.Join(idea.Names(), ", "))
	}
	if o.blConfig != "" {
		f, err := os.Open(o.blConfig)
		if err != nil {
			return o, err
		}
		defer f.Close()
		if o.conv.Blacklist, err = idea.ParseBlacklistConfig(f, func(s string) { fmt.Fprintln(stderr, s) }); err != nil {
			return o, err
		}
	}
	o.conv.Services = idea.LoadServices("/etc/services")
	return o, nil
}

func body(ctx context.Context, tc *trap.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return 1
	}
	rep, ok := idea.Reporters()[o.reporter]
	if !ok {
		fmt.Fprintf(stderr, "Invalid arguments: unknown reporter %q (want one of %s)\n", o.reporter, strings.Join(idea.Names(), ", "))
		return 1
	}
	cfg, err := idea.LoadConfig(o.config)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if o.dry {
		fmt.Fprintf(stdout, "namespace: %s\n", cfg.Namespace)
		for _, r := range cfg.Rules {
			fmt.Fprintf(stdout, "rule %s: always %v, actions %v, else %v\n", r.ID, r.Always, r.Actions, r.ElseActions)
		}
		return 0
	}
	if o.trap != (tc.NumOutputs() == 1) || tc.NumOutputs() > 1 {
		fmt.Fprintf(stderr, "Invalid arguments: -T needs exactly one output IFC, and an output IFC needs -T\n")
		return 1
	}
	w := bufio.NewWriter(stdout)
	st, err := report(ctx, tc, rep, cfg, o, w, stderr)
	if ferr := w.Flush(); ferr != nil && err == nil {
		// IDEA lines still in the buffer are lost: say so and fail.
		err = fmt.Errorf("writing IDEA output: %w", ferr)
	}
	if st.failed+st.skipped > 0 || tc.Verbosity() >= 0 {
		fmt.Fprintf(stderr, "report2idea: %d alerts, %d reported, %d skipped, %d failed\n", st.alerts, st.reported, st.skipped, st.failed)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

type stats struct{ alerts, reported, skipped, failed uint64 }

func report(ctx context.Context, tc *trap.Context, rep *idea.Reporter, cfg *idea.Config, o options, stdout *bufio.Writer, stderr io.Writer) (stats, error) {
	var st stats
	in := tc.Input(0)
	if rep.JSONFormat != "" {
		in.SetRequiredFormat(trap.FormatJSON, rep.JSONFormat)
	} else {
		in.SetRequiredFormat(trap.FormatUniRec, rep.Spec)
	}
	disp := &idea.Dispatcher{Config: cfg, Stdout: stdout}
	defer disp.Close()
	var out *trap.Output
	if o.trap {
		out = tc.Output(0)
		if err := out.SetDataFormat(trap.FormatJSON, "IDEA"); err != nil {
			return st, err
		}
		disp.Trap = func(msg []byte) error { return out.Send(ctx, msg) }
	}
	nodeName := func() string {
		if o.node != "" {
			return o.node
		}
		return disp.Config.Namespace + "." + rep.ModuleName
	}
	cfgStamp, lastCheck := modTime(o.config), time.Now()
	var conv idea.Converter
	var tmpl *unirec.Template
	var line []byte
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return st, nil
			}
			if errors.Is(err, trap.ErrTimeout) {
				continue
			}
			return st, err
		}
		if trap.IsEOS(msg) {
			if out != nil {
				return st, out.SendEOS(ctx)
			}
			return st, nil
		}
		if o.autoreload > 0 && time.Since(lastCheck) >= o.autoreload {
			lastCheck = time.Now()
			if m := modTime(o.config); !m.Equal(cfgStamp) {
				cfgStamp = m
				if c, err := idea.LoadConfig(o.config); err != nil {
					fmt.Fprintf(stderr, "config reload failed, keeping the old one: %v\n", err)
				} else {
					disp.Config = c
				}
			}
		}
		st.alerts++
		var obj *idea.Object
		if rep.JSONFormat != "" {
			obj, err = rep.ConvertJSON(msg, &o.conv)
		} else {
			if changed || tmpl == nil {
				_, spec := in.DataFormat()
				if tmpl, err = unirec.ParseTemplate(spec); err != nil {
					return st, fmt.Errorf("input template %q: %w", spec, err)
				}
				if conv, err = rep.Bind(tmpl); err != nil {
					return st, err
				}
			}
			rec, werr := tmpl.Wrap(msg)
			if werr != nil {
				err = werr
			} else {
				obj, err = conv(rec, &o.conv)
			}
		}
		var skip *idea.ErrSkip
		switch {
		case errors.As(err, &skip):
			fmt.Fprintln(stdout, skip.Reason)
			st.skipped++
			continue
		case err != nil:
			fmt.Fprintf(stderr, "alert %d: %v\n", st.alerts, err)
			st.failed++
			continue
		case obj == nil:
			st.skipped++
			continue
		}
		idea.SetNodeName(obj, nodeName())
		if o.validate && !idea.ValidTimes(obj) {
			line = idea.AppendJSON(line[:0], obj)
			fmt.Fprintf(stdout, "Invalid timestamps in skipped message: %s\n", line)
			st.skipped++
			continue
		}
		if err := disp.Dispatch(obj); err != nil {
			return st, err
		}
		st.reported++
		if !in.Buffered() {
			stdout.Flush()
		}
	}
}

func modTime(path string) time.Time {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}
