// Command brute_force_detector is the Go port of NEMEA's SSH/RDP/Telnet
// password-guessing detector (detectors.md §4), with the C module's CLI
// and interfaces: one flow input, one alert output.
//
//	brute_force_detector -i IN_IFC,OUT_IFC [-S] [-R] [-T] [-c CONFIG] [-w WHITELIST] [-W]
//	    [--max-hosts N] [--max-telnet-servers N]
//
// SIGUSR1 reloads the configuration file, SIGUSR2 the whitelist.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/detectors/bruteforce"
	"github.com/flowgate/flowgate/trap"
)

var module = trap.Module{
	Name: "brute_force_detector",
	Description: "A module used for detecting brute force dictionary attacks on SSH, RDP and Telnet protocols. " +
		"For detection is used window with N last flows and if threshold of a suspicious flows (packet and byte range is checked) " +
		"is reached, alarm is triggered. Time is flow time (TIME_LAST). " +
		"Input fields: " + bruteforce.InputSpec + " (any template holding them). " +
		"Differences from the C module: TIME_FIRST is not required (C requires it and never reads it); " +
		"templates with variable-length fields are accepted; " +
		"a configuration value that is not a number in range, a whitelist prefix or port that is not a number, " +
		"a port above 65535 and a reversed range are reported with file and line and the line is skipped (C reads them as 0 or truncates); " +
		"a whitelist range with an empty upper bound is rejected (C loops forever); " +
		"a configuration reload starts from the built-in defaults (C keeps values of keywords no longer in the file); " +
		"a reload of a file that cannot be read keeps the old settings; " +
		"the per-protocol host tables, the records all hosts hold and the Telnet server-profile table are capped " +
		"(--max-hosts, --max-records, --max-telnet-servers) and evict old entries, counted (C grows without bound; " +
		"the profiles are never deleted). " +
		"The C quirks are kept: the attack-timeout report is gated on the incoming list only, the Telnet profile counter is " +
		"global, overlapping whitelist port ranges are dropped.",
	Inputs:  1,
	Outputs: 1,
	Params: []trap.Param{
		{Short: 'S', Long: "SSH", Description: "Set detection mode to SSH."},
		{Short: 'R', Long: "RDP", Description: "Set detection mode to RDP."},
		{Short: 'T', Long: "TELNET", Description: "Set detection mode to TELNET."},
		{Short: 'c', Long: "config", Description: "Specify configuration file. Signal SIGUSR1 can be used for reload configuration file. (not required)", HasArg: true},
		{Short: 'w', Long: "whitelist", Description: "Specify whitelist file. Signal SIGUSR2 can be used for whitelist reload. (not required)", HasArg: true},
		{Short: 'W', Long: "verbose", Description: "Set whitelist parser to verbose mode."},
		{Long: "max-hosts", Description: fmt.Sprintf("Cap of each protocol's attacker table (default %d, about 200 bytes a host besides its records).", bruteforce.DefaultMaxHosts), HasArg: true, ArgType: "uint32"},
		{Long: "max-records", Description: fmt.Sprintf("Cap of the records all hosts hold together (default %d, 32 bytes each); the longest idle hosts are evicted.", bruteforce.DefaultMaxRecords), HasArg: true, ArgType: "uint32"},
		{Long: "max-telnet-servers", Description: fmt.Sprintf("Cap of the Telnet server-profile table (default %d, about 400 bytes each).", bruteforce.DefaultMaxTelnetServers), HasArg: true, ArgType: "uint32"},
	},
}

// Exit codes of the C module.
const (
	exitBadArgs = 3 // no detection mode, unknown option
	exitNoFile  = 5 // configuration or whitelist file cannot be opened
)

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// settings are the module's options.
type settings struct {
	opts            bruteforce.Options
	config, wlist   string
	verboseWhitelst bool
}

func parseArgs(args []string) (settings, error) {
	s := settings{opts: bruteforce.DefaultOptions()}
	opts, pos, err := module.Getopt(args)
	if err != nil {
		return s, err
	}
	if len(pos) > 0 {
		return s, fmt.Errorf("unexpected argument %q", pos[0])
	}
	for _, o := range opts {
		var v uint64
		switch {
		case o.Short == 'S':
			s.opts.Protocols[bruteforce.SSH] = true
		case o.Short == 'R':
			s.opts.Protocols[bruteforce.RDP] = true
		case o.Short == 'T':
			s.opts.Protocols[bruteforce.Telnet] = true
		case o.Short == 'c':
			s.config = o.Value
		case o.Short == 'w':
			s.wlist = o.Value
		case o.Short == 'W':
			s.verboseWhitelst = true
		case o.Long == "max-hosts":
			v, err = detmod.Uint(o, 31)
			s.opts.MaxHosts = int(v)
		case o.Long == "max-records":
			v, err = detmod.Uint(o, 31)
			s.opts.MaxRecords = int(v)
		case o.Long == "max-telnet-servers":
			v, err = detmod.Uint(o, 31)
			s.opts.MaxTelnetServers = int(v)
		}
		if err != nil {
			return s, err
		}
		if v == 0 && o.Short == 0 {
			return s, fmt.Errorf("--%s must be at least 1", o.Long)
		}
	}
	if !s.opts.Protocols[bruteforce.SSH] && !s.opts.Protocols[bruteforce.RDP] && !s.opts.Protocols[bruteforce.Telnet] {
		return s, errNoMode
	}
	return s, nil
}

var errNoMode = errors.New("Detection mode is not set.")

// loader reads the configuration and whitelist files and reports their
// bad lines.
type loader struct {
	s      settings
	stderr io.Writer
	mu     sync.Mutex // serialises writes to stderr from the signal goroutine
}

func (l *loader) warn(errs []error) {
	for _, e := range errs {
		fmt.Fprintf(l.stderr, "Warning: %v\n", e)
	}
}

func (l *loader) config() (bruteforce.Config, error) {
	if l.s.config == "" {
		return bruteforce.DefaultConfig(), nil
	}
	f, err := os.Open(l.s.config)
	if err != nil {
		return bruteforce.Config{}, fmt.Errorf("configuration file: %w", err)
	}
	defer f.Close()
	cfg, errs := bruteforce.ParseConfig(f, l.s.config)
	l.warn(errs)
	return cfg, nil
}

func (l *loader) whitelist() (*bruteforce.Whitelist, error) {
	if l.s.wlist == "" {
		return nil, nil
	}
	f, err := os.Open(l.s.wlist)
	if err != nil {
		return nil, fmt.Errorf("whitelist file: %w", err)
	}
	defer f.Close()
	var verbose io.Writer
	if l.s.verboseWhitelst {
		verbose = l.stderr
	}
	wl, errs := bruteforce.ParseWhitelist(f, l.s.wlist, verbose)
	l.warn(errs)
	return wl, nil
}

// reload handles SIGUSR1 (configuration) and SIGUSR2 (whitelist) until
// done closes. A file that cannot be read keeps the settings in force.
func (l *loader) reload(det *bruteforce.Detector, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigs:
			l.mu.Lock()
			switch sig {
			case syscall.SIGUSR1:
				if cfg, err := l.config(); err != nil {
					fmt.Fprintf(l.stderr, "Error: reloading %v; the previous configuration stays\n", err)
				} else {
					det.SetConfig(cfg)
					fmt.Fprintf(l.stderr, "Configuration reloaded from %s\n", l.s.config)
				}
			case syscall.SIGUSR2:
				if wl, err := l.whitelist(); err != nil {
					fmt.Fprintf(l.stderr, "Error: reloading %v; the previous whitelist stays\n", err)
				} else {
					det.SetWhitelist(wl)
					fmt.Fprintf(l.stderr, "Whitelist reloaded from %s: %d rules\n", l.s.wlist, wl.Len())
				}
			}
			l.mu.Unlock()
		}
	}
}

func body(ctx context.Context, tc *trap.Context, args []string, stdout, stderr io.Writer) int {
	// Catch the reload signals from the start: their default action ends the process.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	s, err := parseArgs(args)
	if err == errNoMode {
		fmt.Fprintln(stderr, err)
		return exitBadArgs
	}
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return exitBadArgs
	}
	l := &loader{s: s, stderr: stderr}
	cfg, err := l.config()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitNoFile
	}
	wl, err := l.whitelist()
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return exitNoFile
	}
	det, err := bruteforce.New(cfg, s.opts, wl)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.reload(det, sigs, done) })
	res, err := detmod.Run(ctx, tc, det, detmod.Options{})
	close(done)
	wg.Wait()
	// The C module prints its statistics to stdout at the end.
	detmod.Report(stdout, module.Name, det.Stats(), res, true)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}
