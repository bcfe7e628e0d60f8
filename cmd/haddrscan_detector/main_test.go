package main

import (
	"github.com/flowgate/flowgate/internal/flowgen"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/cmd/internal/dettest"
)

// Every golden scenario, run as the C module was: the scenario's options
// and the default wall clock, which a fast replay never ages.
func TestGoldenScenarios(t *testing.T) { dettest.Check(t, run, module.Name) }

func TestInvalidArguments(t *testing.T) {
	for _, bad := range [][]string{{"-n", "1"}, {"-d", "0"}, {"-p", "x"}, {"--clock", "sundial"}} {
		s := dettest.Scenarios(t, module.Name)[0]
		s.Params = bad
		code, stderr, _ := s.Run(t, run, module.Name)
		if code != 255 || !strings.Contains(stderr, "Invalid arguments") {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

// Differential test against the C module on generated traffic, with the
// default and a low threshold.
func TestSameAlertsAsC(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		flows := flowgen.ScanFlows(seed, 20000, 10, 120, 6)
		recs := dettest.Records(t, flowgen.FlowSpec, flows)
		for _, params := range [][]string{nil, {"-n", "7"}} {
			out := dettest.CompareWithC(t, run, module.Name, recs, params...)
			if strings.Count(out, "\n") < 3 {
				t.Fatalf("seed %d %v: only %q; the generator should make alerts", seed, params, out)
			}
		}
	}
}
