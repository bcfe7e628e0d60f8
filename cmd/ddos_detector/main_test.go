package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/cmd/internal/dettest"
	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.SocketDirMain(m)) }

// eventIDs replaces EVENT_ID (column 5) by its low 32 bits, the only part
// the C module fixes (the high half is rand()), and checks that it is the
// alert's DST_IP and that the reports of one flood share one ID.
func eventIDs(t *testing.T, text string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	seen := map[string]string{}
	for i, l := range lines {
		c := strings.Split(l, ",")
		if i == 0 || len(c) < 10 {
			continue
		}
		id, err := strconv.ParseUint(c[4], 10, 64)
		if err != nil {
			t.Fatalf("EVENT_ID %q: %v", c[4], err)
		}
		if prev, ok := seen[c[0]]; ok && c[9] != "0" && prev != c[4] {
			t.Errorf("%s: reports of one flood carry IDs %s and %s", c[0], prev, c[4])
		}
		seen[c[0]] = c[4]
		c[4] = strconv.FormatUint(id&0xFFFFFFFF, 10)
		lines[i] = strings.Join(c, ",")
	}
	return strings.Join(lines, "\n")
}

// Every golden scenario gives the C detector's alerts; EVENT_ID is
// compared on its deterministic low half.
func TestGoldenScenarios(t *testing.T) {
	for _, s := range dettest.Scenarios(t, module.Name) {
		t.Run(s.Name, func(t *testing.T) {
			code, stderr, got := s.Run(t, run, module.Name)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if g, w := eventIDs(t, got), eventIDs(t, s.Expected(t)); g != w {
				t.Fatalf("alerts differ from the C detector's\n--- got\n%s--- want\n%s", g, w)
			}
		})
	}
}

// A sender template without a field the detector reads fails at
// negotiation, naming it (haddrscan's input has no BYTES).
func TestMissingFieldNamed(t *testing.T) {
	dettest.CheckMissingField(t, run, module.Name, "haddrscan_detector", "sweep_basic", "uint64 BYTES")
}

func TestInvalidArguments(t *testing.T) {
	for _, args := range [][]string{{"-s", "33"}, {"-d", "40"}, {"-t", "x"}, {"--max-records", "0"}} {
		for _, s := range dettest.Scenarios(t, module.Name)[:1] {
			s.Params = args
			if code, stderr, _ := s.Run(t, run, module.Name); code != 255 || !strings.Contains(stderr, "Invalid arguments") {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			}
		}
	}
}

// Differential test against the C module on generated floods with random
// parameters: periodic, end-of-flood and end-of-stream reports, pruning,
// flows over several windows, re-initialisation after a jump of the
// clock. EVENT_ID is compared on its low half.
func TestSameAlertsAsC(t *testing.T) {
	alerts := 0
	for seed := uint64(1); seed <= 8; seed++ {
		recs := dettest.Records(t, flowgen.FlowSpec, flowgen.DDoSFlows(seed))
		out := dettest.CompareWithCNormalized(t, run, module.Name, recs, func(s string) string { return eventIDs(t, s) }, flowgen.DDoSParams(seed)...)
		alerts += max(strings.Count(out, "\n")-1, 0)
	}
	if alerts < 8 {
		t.Fatalf("only %d alerts over all seeds; the generator should make floods", alerts)
	}
}
