// Command ipblacklistfilter is the Go port of NEMEA's IP blacklist filter
// (detectors.md §5), with the C module's CLI and interfaces: one flow
// input, one output of the flows that touch a blacklisted address. Its
// options and filter are detmod.IPBlacklist, shared with the flowgate
// daemon; the module adds the reload on file change and -n.
//
//	ipblacklistfilter -i IN_IFC,OUT_IFC [-c CONFIG.xml] [-4 IP4.blist] [-6 IP6.blist] [-n]
//	    [--watch true|false] [--c-search]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/detectors/ipblacklist"
	"github.com/flowgate/flowgate/trap"
)

var module = detmod.IPBlacklist().Module

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
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
	opts, pos, err := module.Getopt(args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	var s detmod.IPBlacklistSettings
	if err == nil {
		s, err = detmod.ParseIPBlacklist(opts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return 1
	}
	log := &logger{w: stderr}
	ev := log.events()
	lists, warns, err := s.Config.Load()
	for _, w := range warns {
		ev.Warn(w)
	}
	if err != nil {
		log.printf("Error: %v. Is the downloader running?\n", err)
		return 1
	}
	f, err := ipblacklist.New(lists, ipblacklist.Options{CSearch: s.CSearch})
	if err != nil {
		log.printf("Error: %v\n", err)
		return 1
	}
	if s.Config.Watch {
		wctx, cancel := context.WithCancel(ctx)
		done, err := ipblacklist.Watch(wctx, f, s.Config.Files, ev)
		if err != nil {
			cancel()
			log.printf("Error: %v\n", err)
			return 1
		}
		defer func() { cancel(); <-done }()
	}
	res, err := detmod.Run(ctx, tc, f, detmod.Options{ForwardEOS: !s.NoEOS})
	log.mu.Lock()
	detmod.Report(stderr, module.Name, f.Stats(), res, tc.Verbosity() > 0)
	log.mu.Unlock()
	if err != nil {
		log.printf("Error: %v\n", err)
		return 1
	}
	return 0
}
