package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

var (
	cmdMu    sync.Mutex
	cmdDir   string              // one temporary folder for every command built
	cmdBuilt = map[string]bool{} // commands in cmdDir
)

// allCommands are the commands the package's tests run. A whole run
// builds them before the first test (prebuild), so that no test's time
// includes the build; a run of chosen tests (-run) builds only what they
// ask for.
var allCommands = []string{"flowgate", "logger", "logreplay", "traffic_repeater", "flow_meter", "supervisor", "supcli",
	"vportscan_detector", "haddrscan_detector", "amplification_detection", "brute_force_detector", "ipblacklistfilter", "ddos_detector"}

// prebuild builds allCommands unless the run chooses its tests. A failure
// is left to the tests that need the commands: they try again and report.
func prebuild() {
	flag.Parse()
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		return
	}
	buildCommands(allCommands...)
}

// commands builds the named commands of cmd/ that are not built yet, in
// one go build, and returns the folder that holds them: each command is
// built once per test run, whichever tests ask for it.
func commands(t *testing.T, names ...string) string {
	t.Helper()
	dir, err := buildCommands(names...)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildCommands(names ...string) (string, error) {
	cmdMu.Lock()
	defer cmdMu.Unlock()
	if cmdDir == "" {
		d, err := os.MkdirTemp("", "flowgate-e2e-bin")
		if err != nil {
			return "", err
		}
		cmdDir = d
	}
	var missing []string
	for _, n := range names {
		if !cmdBuilt[n] {
			missing = append(missing, "github.com/flowgate/flowgate/cmd/"+n)
		}
	}
	if len(missing) == 0 {
		return cmdDir, nil
	}
	if out, err := exec.Command("go", append([]string{"build", "-o", cmdDir + "/"}, missing...)...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", strings.Join(missing, " "), err, out)
	}
	for _, n := range names {
		cmdBuilt[n] = true
	}
	return cmdDir, nil
}
