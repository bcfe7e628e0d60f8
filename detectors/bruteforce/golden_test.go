package bruteforce

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

// scenarioOptions reads the protocol flags of a scenario's .cmd.
func scenarioOptions(t *testing.T, dir, name string) Options {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".cmd"))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	for _, line := range strings.Split(string(b), "\n") {
		w := strings.Fields(line)
		if len(w) == 0 || w[0] != "brute_force_detector" {
			continue
		}
		for _, a := range w[1:] {
			switch a {
			case "-S":
				o.Protocols[SSH] = true
			case "-R":
				o.Protocols[RDP] = true
			case "-T":
				o.Protocols[Telnet] = true
			}
		}
	}
	return o
}

func TestGoldenScenarios(t *testing.T) {
	dir := testutil.SharedTestdata(t, "detectors/brute_force_detector")
	cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
	if len(cmds) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range cmds {
		name := strings.TrimSuffix(filepath.Base(c), ".cmd")
		t.Run(name, func(t *testing.T) {
			d, err := New(DefaultConfig(), scenarioOptions(t, dir, name), nil)
			if err != nil {
				t.Fatal(err)
			}
			in := trapcap.Read(t, filepath.Join(dir, name+".trapcap"))
			if err := d.Bind(in.Tmpl); err != nil {
				t.Fatal(err)
			}
			ot, _ := unirec.ParseTemplate(OutputSpec)
			got := string(ot.AppendHeader(nil, ',')) + "\n"
			emit := func(a unirec.Record) error {
				got += string(a.AppendText(nil, ',')) + "\n"
				return nil
			}
			for _, r := range in.Records {
				if err := d.Process(r, emit); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(filepath.Join(dir, name+".logger.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("alerts differ from the C detector's\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
