package detmod

import (
	"context"
	"fmt"
	"io"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/trap"
)

// Spec is a detector module: its CLI (name, interfaces, options) and how
// its options build the detector. The module binary and the flowgate
// daemon's detectors: section use the same Spec, so the same options give
// the same detector.
type Spec struct {
	Module  trap.Module
	Setup   Setup
	Options Options
	// BadArgs is the exit code on invalid options (the C modules differ).
	BadArgs int
}

// Body is the module's trap.Body.
func (s Spec) Body(ctx context.Context, tc *trap.Context, args []string, _, stderr io.Writer) int {
	return Body(ctx, tc, args, stderr, s.Setup, s.Options, s.BadArgs)
}

// New builds the detector from the module's options (no -i: only the
// module's own options) as the module would, with the clock that --clock
// selects.
func (s Spec) New(args []string) (detectors.Detector, detectors.Clock, error) {
	opts, pos, err := s.Module.Getopt(args)
	if err != nil {
		return nil, nil, err
	}
	if len(pos) > 0 {
		return nil, nil, fmt.Errorf("unexpected argument %q", pos[0])
	}
	clock, err := detectors.ParseClock(clockOption(opts))
	if err != nil {
		return nil, nil, err
	}
	det, err := s.Setup(opts, clock)
	if err != nil {
		return nil, nil, err
	}
	return det, clock, nil
}

func clockOption(opts []trap.Opt) string {
	name := ""
	for _, o := range opts {
		if o.Short == 0 && o.Long == "clock" {
			name = o.Value
		}
	}
	return name
}

// Specs returns the detector modules that run in the daemon by name.
func Specs() []Spec {
	return []Spec{Vportscan(), Haddrscan(), Amplification(), BruteForce(), IPBlacklist(), Ddos()}
}

// Lookup returns the Spec of the module named name.
func Lookup(name string) (Spec, bool) {
	for _, s := range Specs() {
		if s.Module.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Names lists the modules of Specs.
func Names() []string {
	var n []string
	for _, s := range Specs() {
		n = append(n, s.Module.Name)
	}
	return n
}
