// Command ipblacklistfilter is the Go port of NEMEA's IP blacklist filter
// (detectors.md §5), with the C module's CLI and interfaces: one flow
// input, one output of the flows that touch a blacklisted address.
//
//	ipblacklistfilter -i IN_IFC,OUT_IFC [-c CONFIG.xml] [-4 IP4.blist] [-6 IP6.blist] [-n]
//	    [--watch true|false] [--c-search]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/detectors/ipblacklist"
	"github.com/flowgate/flowgate/trap"
)

// Defaults of the C module's shipped configuration.
const (
	defaultV4 = "/tmp/blacklistfilter/ip4.blist"
	defaultV6 = "/tmp/blacklistfilter/ip6.blist"
)

var module = trap.Module{
	Name: "ipblacklistfilter",
	Description: "Module receives the UniRec record and checks if the source address or destination address is present in any " +
		"blacklist that are available. If any of the addresses is blacklisted the record is changed by adding an index of the " +
		"blacklist(s) which blacklisted the address. The lists are files in the bl_downloader format " +
		"(ADDRESS[/PREFIX],BITMAP[;ID:PORT,...]..., adaptive entries ADDRESS,999,IDS), reloaded when a file changes " +
		"(watch_blacklists in the XML configuration, or --watch). Flows from or to port 53 are ignored. " +
		"Input fields: " + ipblacklist.InputSpec + " (any template holding them). " +
		"Differences from the C module: addresses are found by longest-prefix match (C's binary search can miss a containing " +
		"prefix; --c-search restores it); the bitmap of the side that did not match is always 0 (C leaves a stale value from an " +
		"earlier flow); every ;ID:PORTS group of a line is honoured (C reads only the first) and a line without groups has none " +
		"(C inherits the previous line's); IPv6 prefixes that are not a multiple of 8 are masked correctly; each address is " +
		"looked up in its own family's list (C uses the source's family for both); a bad list line is reported with file and " +
		"line and skipped (C adds what it parsed), and the same prefix on a later line is ignored; a reload that cannot read " +
		"the IPv4 file keeps the lists in force; without -c no XML file is read (the files default to the C module's shipped " +
		"values); templates with variable-length fields are accepted. As in C, an entry whose address has bits set after its " +
		"prefix never matches.",
	Inputs:  1,
	Outputs: 1,
	Params: []trap.Param{
		{Short: 'c', Description: "Specify user configuration file for IPBlacklistFilter (ipdetect_config.xml). [Default: none]", HasArg: true},
		{Short: '4', Description: "Specify IPv4 blacklist file (overrides config file). [Default: " + defaultV4 + "]", HasArg: true},
		{Short: '6', Description: "Specify IPv6 blacklist file (overrides config file). [Default: " + defaultV6 + "]", HasArg: true},
		{Short: 'n', Description: "Do not send terminating Unirec when exiting program."},
		{Long: "watch", Description: "Reload the lists when a file changes: true or false (overrides watch_blacklists; default true).", HasArg: true},
		{Long: "c-search", Description: "Use the C module's binary search instead of longest-prefix match."},
	},
}

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

type settings struct {
	cfg     ipblacklist.Config
	noEOS   bool
	cSearch bool
}

func parseArgs(args []string) (settings, error) {
	s := settings{cfg: ipblacklist.Config{Files: ipblacklist.Files{V4: defaultV4, V6: defaultV6}, Watch: true}}
	opts, pos, err := module.Getopt(args)
	if err != nil {
		return s, err
	}
	if len(pos) > 0 {
		return s, fmt.Errorf("unexpected argument %q", pos[0])
	}
	var v4, v6, watch *string
	for _, o := range opts {
		switch {
		case o.Short == 'c':
			f, err := os.Open(o.Value)
			if err != nil {
				return s, fmt.Errorf("configuration: %w", err)
			}
			s.cfg, err = ipblacklist.ParseXMLConfig(f)
			f.Close()
			if err != nil {
				return s, fmt.Errorf("%s: %w", o.Value, err)
			}
		case o.Short == '4':
			v4 = &o.Value
		case o.Short == '6':
			v6 = &o.Value
		case o.Short == 'n':
			s.noEOS = true
		case o.Long == "watch":
			watch = &o.Value
		case o.Long == "c-search":
			s.cSearch = true
		}
	}
	if v4 != nil {
		s.cfg.V4 = *v4
	}
	if v6 != nil {
		s.cfg.V6 = *v6
	}
	if watch != nil {
		switch *watch {
		case "true":
			s.cfg.Watch = true
		case "false":
			s.cfg.Watch = false
		default:
			return s, fmt.Errorf("--watch %q: want true or false", *watch)
		}
	}
	return s, nil
}

// logger serialises the module's messages to stderr.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, a...)
}

func (l *logger) events() ipblacklist.Events {
	return ipblacklist.Events{
		Warn: func(err error) {
			if errors.Is(err, ipblacklist.ErrReloadFailed) {
				l.printf("Error: %v\n", err)
				return
			}
			l.printf("Warning: %v\n", err)
		},
		Reloaded: func(v4, v6 int) { l.printf("Blacklists reloaded: %d IPv4 and %d IPv6 entries\n", v4, v6) },
	}
}

func body(ctx context.Context, tc *trap.Context, args []string, _, stderr io.Writer) int {
	s, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return 1
	}
	log := &logger{w: stderr}
	ev := log.events()
	lists, warns, err := s.cfg.Load()
	for _, w := range warns {
		ev.Warn(w)
	}
	if err != nil {
		log.printf("Error: %v. Is the downloader running?\n", err)
		return 1
	}
	f, err := ipblacklist.New(lists, ipblacklist.Options{CSearch: s.cSearch})
	if err != nil {
		log.printf("Error: %v\n", err)
		return 1
	}
	if s.cfg.Watch {
		wctx, cancel := context.WithCancel(ctx)
		done, err := ipblacklist.Watch(wctx, f, s.cfg.Files, ev)
		if err != nil {
			cancel()
			log.printf("Error: %v\n", err)
			return 1
		}
		defer func() { cancel(); <-done }()
	}
	res, err := detmod.Run(ctx, tc, f, detmod.Options{ForwardEOS: !s.noEOS})
	log.mu.Lock()
	detmod.Report(stderr, module.Name, f.Stats(), res, tc.Verbosity() > 0)
	log.mu.Unlock()
	if err != nil {
		log.printf("Error: %v\n", err)
		return 1
	}
	return 0
}
