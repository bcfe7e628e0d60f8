package main

import (
	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/unirec"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/cmd/internal/dettest"
)

// Every golden scenario, run with the scenario's options.
func TestGoldenScenarios(t *testing.T) { dettest.Check(t, run, module.Name) }

// The flow clock only moves the cleanup trigger; no pair of the
// scenarios idles for a whole window, so the alerts are the same.
func TestGoldenScenariosFlowClock(t *testing.T) {
	dettest.Check(t, run, module.Name, "--clock", "flow")
}

// The module forwards the end of stream, as the C module does.
func TestForwardsEOS(t *testing.T) {
	s := dettest.Scenarios(t, module.Name)[0]
	out := s.RunCapture(t, run, module.Name)
	if out.EOSLen != 1 {
		t.Fatalf("end-of-stream message of %d bytes, want 1", out.EOSLen)
	}
}

// Differential test against the C module on generated reflection attacks
// and background, with the defaults and other parameters.
func TestSameAlertsAsC(t *testing.T) {
	total := 0
	for seed := uint64(1); seed <= 2; seed++ {
		recs53 := dettest.Records(t, flowgen.AmplificationSpec, flowgen.AmplificationFlows(seed, 53, flowgen.Base))
		recs123 := dettest.Records(t, flowgen.AmplificationSpec, flowgen.AmplificationFlows(seed, 123, flowgen.Base))
		for _, tc := range []struct {
			recs   []unirec.Record
			params []string
		}{
			{recs53, nil},
			{recs53, []string{"-q", "10", "-n", "3", "-t", "100", "-a", "5"}},
			{recs123, []string{"-p", "123", "-a", "5", "-w", "600", "-s", "200", "-S", "10000"}},
		} {
			out := dettest.CompareWithC(t, run, module.Name, tc.recs, tc.params...)
			total += strings.Count(out, "\n")
		}
	}
	if total < 10 {
		t.Fatalf("only %d alert lines over all runs; the generator should make alerts", total)
	}
	t.Logf("%d alert lines", total)
}

// A sender template without a field the detector reads fails at
// negotiation, naming the field (vportscan's input has no BYTES).
func TestMissingFieldNamed(t *testing.T) {
	dettest.CheckMissingField(t, run, module.Name, "vportscan_detector", "", "missing field(s) uint64 BYTES")
}
