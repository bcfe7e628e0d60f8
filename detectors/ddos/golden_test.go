package ddos

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

// scenarioConfig maps a scenario's .cmd options onto a Config.
func scenarioConfig(t *testing.T, dir, name string) Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".cmd"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	for _, line := range strings.Split(string(b), "\n") {
		w := strings.Fields(line)
		if len(w) == 0 || w[0] != "ddos_detector" {
			continue
		}
		for i := 1; i+1 < len(w); i += 2 {
			v, err := strconv.ParseUint(w[i+1], 10, 64)
			if w[i] == "-i" {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", w[i], err)
			}
			switch w[i] {
			case "-m":
				cfg.MinAttackSize = v
			case "-b":
				cfg.MinTrafficBefore = v
			case "-t":
				cfg.FlowRate = uint16(v)
			case "-c":
				cfg.IPCountRate = uint16(v)
			case "-s":
				cfg.SrcMask = uint8(v)
			case "-d":
				cfg.DstMask = uint8(v)
			case "-p":
				cfg.PruneThreshold = v
			default:
				t.Fatalf("unknown option %s", w[i])
			}
		}
	}
	return cfg
}

// lowID keeps the low 32 bits of EVENT_ID (column 5), the only field
// that differs from run to run in C.
func lowID(line string) string {
	c := strings.Split(line, ",")
	if len(c) < 5 {
		return line
	}
	id, err := strconv.ParseUint(c[4], 10, 64)
	if err != nil {
		return line
	}
	c[4] = strconv.FormatUint(id&0xFFFFFFFF, 10)
	return strings.Join(c, ",")
}

func TestGoldenScenarios(t *testing.T) {
	dir := testutil.SharedTestdata(t, "detectors/ddos_detector")
	cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
	if len(cmds) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range cmds {
		name := strings.TrimSuffix(filepath.Base(c), ".cmd")
		t.Run(name, func(t *testing.T) {
			d, err := New(scenarioConfig(t, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			in := trapcap.Read(t, filepath.Join(dir, name+".trapcap"))
			if err := d.Bind(in.Tmpl); err != nil {
				t.Fatal(err)
			}
			ot, _ := unirec.ParseTemplate(OutputSpec)
			got := []string{string(ot.AppendHeader(nil, ','))}
			ids := map[string]uint64{}
			emit := func(a unirec.Record) error {
				line := string(a.AppendText(nil, ','))
				got = append(got, lowID(line))
				dst := strings.Split(line, ",")[0]
				id, _ := a.T.Lookup("EVENT_ID")
				seq, _ := a.T.Lookup("EVENT_SEQ")
				if prev, ok := ids[dst]; ok && a.Uint16(seq) > 0 && prev != a.Uint64(id) {
					t.Errorf("reports of one flood carry IDs %d and %d", prev, a.Uint64(id))
				}
				ids[dst] = a.Uint64(id)
				return nil
			}
			for _, r := range in.Records {
				if err := d.Process(r, emit); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Finish(emit); err != nil {
				t.Fatal(err)
			}
			wantB, err := os.ReadFile(filepath.Join(dir, name+".logger.txt"))
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimRight(string(wantB), "\n"), "\n") {
				want = append(want, lowID(l))
			}
			if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
				t.Fatalf("alerts differ from the C detector's\n--- got\n%s\n--- want\n%s", g, w)
			}
		})
	}
}
