package main

import (
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
