package main

import (
	"strings"
	"testing"

	"github.com/flowgate/flowgate/cmd/internal/dettest"
	"github.com/flowgate/flowgate/internal/flowgen"
)

// Every golden scenario, run as the C module was: the scenario's options
// and the default wall clock, which a fast replay never ages.
func TestGoldenScenarios(t *testing.T) { dettest.Check(t, run, module.Name) }

// A sender template without a field the detector reads fails at
// negotiation, naming the field (haddrscan's input has no SRC_PORT).
func TestMissingFieldNamed(t *testing.T) {
	dettest.CheckMissingField(t, run, module.Name, "haddrscan_detector", "sweep_basic", "missing field(s) uint16 SRC_PORT")
}

// Differential test against the C module on generated traffic: scanners
// crossing the threshold among near misses, IPv6 and repeated ports.
func TestSameAlertsAsC(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		flows := flowgen.ScanFlows(seed, 20000, 12, 6, 400)
		out := dettest.CompareWithC(t, run, module.Name, dettest.Records(t, flowgen.FlowSpec, flows))
		if strings.Count(out, "\n") < 3 {
			t.Fatalf("seed %d: only %q; the generator should make alerts", seed, out)
		}
	}
}
