// Command brute_force_detector is the Go port of NEMEA's SSH/RDP/Telnet
// password-guessing detector (detectors.md §4), with the C module's CLI
// and interfaces: one flow input, one alert output. Its options and
// detector are detmod.BruteForce, shared with the flowgate daemon; the
// module adds the reloads and the C exit codes.
//
//	brute_force_detector -i IN_IFC,OUT_IFC [-S] [-R] [-T] [-c CONFIG] [-w WHITELIST] [-W]
//	    [--max-hosts N] [--max-records N] [--max-telnet-servers N]
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

var module = detmod.BruteForce().Module

// Exit codes of the C module.
const (
	exitBadArgs = 3 // no detection mode, unknown option
	exitNoFile  = 5 // configuration or whitelist file cannot be opened
)

func main() { trap.Main(module, body) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// syncWriter serialises writes from the signal goroutine and the main one.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// reload handles SIGUSR1 (configuration) and SIGUSR2 (whitelist) until
// done closes. A file that cannot be read keeps the settings in force.
func reload(s detmod.BruteForceSettings, det *bruteforce.Detector, log io.Writer, sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				if cfg, err := s.LoadConfig(log); err != nil {
					fmt.Fprintf(log, "Error: reloading %v; the previous configuration stays\n", err)
				} else {
					det.SetConfig(cfg)
					fmt.Fprintf(log, "Configuration reloaded from %s\n", s.Config)
				}
			case syscall.SIGUSR2:
				if wl, err := s.LoadWhitelist(log); err != nil {
					fmt.Fprintf(log, "Error: reloading %v; the previous whitelist stays\n", err)
				} else {
					det.SetWhitelist(wl)
					fmt.Fprintf(log, "Whitelist reloaded from %s: %d rules\n", s.Wlist, wl.Len())
				}
			}
		}
	}
}

func body(ctx context.Context, tc *trap.Context, args []string, stdout, stderr io.Writer) int {
	// Catch the reload signals from the start: their default action ends the process.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	opts, pos, err := module.Getopt(args)
	if err == nil && len(pos) > 0 {
		err = fmt.Errorf("unexpected argument %q", pos[0])
	}
	var s detmod.BruteForceSettings
	if err == nil {
		s, err = detmod.ParseBruteForce(opts)
	}
	switch {
	case errors.Is(err, detmod.ErrNoMode):
		fmt.Fprintln(stderr, err)
		return exitBadArgs
	case err != nil:
		fmt.Fprintf(stderr, "Invalid arguments: %v\n", err)
		return exitBadArgs
	}
	log := &syncWriter{w: stderr}
	det, err := s.New(log)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		if errors.Is(err, detmod.ErrNoFile) {
			return exitNoFile
		}
		return 1
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { reload(s, det, log, sigs, done) })
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
