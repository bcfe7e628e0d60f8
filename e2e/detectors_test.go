package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
)

// detectorModules are the detectors the daemon runs in-process.
var detectorModules = []string{"vportscan_detector", "haddrscan_detector", "amplification_detection",
	"brute_force_detector", "ipblacklistfilter", "ddos_detector"}

func detectorBinaries(t *testing.T) string {
	t.Helper()
	return commands(t, append([]string{"flowgate"}, detectorModules...)...)
}

// alertText renders a module's alert capture as logger -t does; no
// records is "".
func alertText(t *testing.T, path string) string {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return ""
	}
	c := trapcap.Read(t, path)
	if len(c.Records) == 0 {
		return ""
	}
	b := c.Tmpl.AppendHeader(nil, ',')
	b = append(b, '\n')
	for _, r := range c.Records {
		b = append(r.AppendText(b, ','), '\n')
	}
	return string(b)
}

// The daemon's in-process detectors give the same alerts as the
// standalone modules on the daemon's own flow output, and both the C
// detector's alerts of the golden scenario: flowgate replays a scenario's
// CSV (csv source) into an f: output and into the detector configured
// with the scenario's options; the module then reads the f: output.
func TestDaemonDetectorsEqualStandaloneModules(t *testing.T) {
	bin := detectorBinaries(t)
	for _, module := range detectorModules {
		dir := testutil.SharedTestdata(t, filepath.Join("detectors", module))
		cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
		for _, cmdFile := range cmds {
			name := strings.TrimSuffix(filepath.Base(cmdFile), ".cmd")
			t.Run(module+"/"+name, func(t *testing.T) {
				t.Parallel()
				var params []string
				b, _ := os.ReadFile(cmdFile)
				for _, line := range strings.Split(string(b), "\n") {
					if w := strings.Fields(line); len(w) > 2 && w[0] == module {
						params = w[3:] // after -i SPEC
					}
				}
				csv := filepath.Join(dir, name+".csv")
				head, _ := os.ReadFile(csv)
				spec, _, _ := strings.Cut(string(head), "\n")
				work := t.TempDir()
				flows, daemonAlerts, moduleAlerts := filepath.Join(work, "flows.trapcap"), filepath.Join(work, "daemon.trapcap"), filepath.Join(work, "module.trapcap")
				quoted := make([]string, len(params))
				for i, p := range params {
					quoted[i] = `"` + p + `"`
				}
				cfg := "metrics: {listen: \"\"}\nsocket_dir: " + work + "\nsources:\n  - type: csv\n    paths: [" + csv + "]\n" +
					"outputs:\n  - ifc: f:" + flows + "\n    template: \"" + spec + "\"\n" +
					"detectors:\n  - type: " + module + "\n    options: [" + strings.Join(quoted, ", ") + "]\n    ifc: f:" + daemonAlerts + "\n"
				cfgFile := filepath.Join(work, "flowgate.yaml")
				if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
				env := append(os.Environ(), "TRAP_SOCKET_DIR="+work)
				fg := exec.Command(filepath.Join(bin, "flowgate"), "-c", cfgFile)
				fg.Env, fg.Dir = env, dir // the options name files of the scenario
				if out, err := fg.CombinedOutput(); err != nil {
					t.Fatalf("flowgate: %v\n%s", err, out)
				}
				mod := exec.Command(filepath.Join(bin, module), append([]string{"-i", "f:" + flows + ",f:" + moduleAlerts}, params...)...)
				mod.Env, mod.Dir = env, dir
				if out, err := mod.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", module, err, out)
				}
				got, standalone := alertText(t, daemonAlerts), alertText(t, moduleAlerts)
				t.Logf("%d alerts", max(strings.Count(got, "\n")-1, 0))
				if got != standalone {
					t.Fatalf("daemon alerts differ from the module's\n--- daemon\n%s--- module\n%s", got, standalone)
				}
				// ddos_detector's C EVENT_IDs are random (its README); ours
				// are deterministic, so only the module comparison holds.
				want, _ := os.ReadFile(filepath.Join(dir, name+".logger.txt"))
				if module != "ddos_detector" && got != string(want) {
					t.Fatalf("alerts differ from the C detector's\n--- daemon\n%s--- C\n%s", got, want)
				}
				if got != "" {
					if d, m := trapcap.Read(t, daemonAlerts).EOSLen, trapcap.Read(t, moduleAlerts).EOSLen; d != m {
						t.Errorf("end of stream: daemon %d bytes, module %d", d, m)
					}
				}
			})
		}
	}
}
