// Command flowgate is the Flowgate daemon: it receives NetFlow v5/v9,
// IPFIX and sFlow v5 (and replays nfdump files, pcaps and logger CSV archives) and sends
// UniRec records to NEMEA modules over TRAP interfaces.
//
//	flowgate                       run the embedded default configuration
//	flowgate -c FILE               run a YAML configuration (see package config)
//	flowgate -l udp://HOST:PORT [-l tcp://HOST:PORT -l sflow://HOST:PORT ...] -i IFC_SPEC [-t FIELDS]
//	                               collect on the given addresses into the
//	                               given output interfaces, without a file
//	flowgate --metrics ADDR        serve /metrics on ADDR (overrides metrics.listen)
//	flowgate -v                    debug logging (-vv and -vvv too)
//	flowgate -h trap               the IFC_SPEC syntax of outputs
//
// Every configuration key can be overridden by a FLOWGATE_ environment
// variable. SIGTERM and SIGINT stop: queued datagrams are drained, every
// output is flushed and ends its stream. SIGHUP reloads the configuration:
// sources and outputs whose configuration did not change go on untouched
// (sockets, connections, files and counters), changed ones are drained
// and replaced; a configuration that does not load keeps the running one. Prometheus metrics are served on metrics.listen
// (default 127.0.0.1:9464/metrics).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/trap"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

// options are the command line.
type options struct {
	configFile string
	listen     []string
	ifc        string
	fields     string
	verbose    bool
	metrics    string
	metricsSet bool
	helpTrap   bool
}

type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}
func (l listFlag) Set(s string) error { *l.p = append(*l.p, s); return nil }

const usageHead = `usage: flowgate [-c FILE] [-l udp://HOST:PORT | tcp://HOST:PORT | sflow://HOST:PORT]... [-i IFC_SPEC [-t FIELDS]] [--metrics ADDR] [-v]
       flowgate -h trap      (the IFC_SPEC syntax of -i and outputs[].ifc)

Flowgate receives NetFlow v5/v9, IPFIX and sFlow v5 (and replays nfdump files,
pcaps and logger CSV archives) and sends UniRec records to NEMEA modules over TRAP
output interfaces.

`

const usageTail = `
Environment:
  FLOWGATE_LOG_LEVEL, FLOWGATE_LOG_FORMAT, FLOWGATE_METRICS_LISTEN,
  FLOWGATE_SOCKET_DIR, FLOWGATE_SOURCES, FLOWGATE_OUTPUTS
                override the configuration keys of the same name (the lists
                as YAML); FLOWGATE_METRICS_LISTEN= turns the metrics off.
  TRAP_SOCKET_DIR
                where u: output sockets live when socket_dir is not set
                (default /var/run/libtrap; as non-root, point it or
                socket_dir at a directory you may write).

Metrics: Prometheus text on http://ADDR/metrics, ADDR from --metrics or
  metrics.listen (default 127.0.0.1:9464): records in and out per source,
  exporter and output, and every counter of dropped or lost records.
Signals: SIGHUP reloads the configuration; sources and outputs that did not
  change go on untouched (sockets, connections, files, counters), changed
  ones are drained and replaced, and a configuration that fails keeps the
  running one. SIGTERM or SIGINT drain the sockets, flush every output, end
  the streams and exit.
`

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	for i, a := range args {
		if (a == "-h" || a == "--help" || a == "-help") && i+1 < len(args) && args[i+1] == "trap" {
			o.helpTrap = true
			return o, flag.ErrHelp
		}
	}
	fs := flag.NewFlagSet("flowgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configFile, "c", "", "YAML configuration `FILE` (default: the embedded configuration)")
	fs.Var(listFlag{&o.listen}, "l", "collector listen `ADDRESS` udp://HOST:PORT or tcp://HOST:PORT, sFlow on sflow://HOST:PORT (port 6343 when omitted; repeatable); replaces the configured sources")
	fs.StringVar(&o.ifc, "i", "", "output `IFC_SPEC` (comma-separated TRAP output interfaces); replaces the configured outputs")
	fs.StringVar(&o.fields, "t", "", "UniRec `FIELDS` of the -i outputs (default: "+config.DefaultTemplate+")")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on `ADDR` (host:port; empty turns them off); overrides metrics.listen")
	var vv, vvv bool
	fs.BoolVar(&o.verbose, "v", false, "debug logging")
	fs.BoolVar(&vv, "vv", false, "debug logging (as -v)")
	fs.BoolVar(&vvv, "vvv", false, "debug logging (as -v)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(stderr, usageTail)
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.verbose = o.verbose || vv || vvv
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "metrics" {
			o.metricsSet = true
		}
	})
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.fields != "" && o.ifc == "" {
		return o, errors.New("-t needs -i: it sets the template of the -i outputs")
	}
	return o, nil
}

// loadConfig builds the configuration from the file (or the embedded
// default), the environment and the command line.
func loadConfig(o options) (config.Configuration, error) {
	c, err := config.Load(o.configFile)
	if err != nil {
		return c, err
	}
	if len(o.listen) > 0 {
		c.Sources = cliSources(o.listen)
	}
	if o.ifc != "" {
		specs, err := trap.ParseIFCSpec(o.ifc)
		if err != nil {
			return c, fmt.Errorf("-i: %w", err)
		}
		c.Outputs = nil
		for _, sp := range specs {
			c.Outputs = append(c.Outputs, config.OutputConfig{IFC: sp.Raw, Template: o.fields})
		}
	}
	if o.verbose {
		c.Log.Level = "debug"
	}
	if o.metricsSet {
		c.Metrics.Listen = o.metrics
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("command line: %w", err)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		if o.helpTrap {
			fmt.Fprint(stderr, trap.IFCSpecHelp())
		}
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "flowgate: %v\n", err)
		return 2
	}
	cfg, err := loadConfig(o)
	if err != nil {
		fmt.Fprintf(stderr, "flowgate: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "flowgate: %v\n", err)
		return 2
	}
	defer log.Sync()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	d := &daemon{log: log, reload: func() (config.Configuration, error) { return loadConfig(o) }}
	if err := d.serve(ctx, cfg, sigs); err != nil {
		log.Error("flowgate stopped", errField(err))
		return 1
	}
	return 0
}
