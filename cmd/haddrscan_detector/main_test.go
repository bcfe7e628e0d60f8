package main

import (
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
