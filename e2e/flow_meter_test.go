package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// meterBinaries builds flow_meter and logger once per test run.
func meterBinaries(t *testing.T) string {
	t.Helper()
	return commands(t, "flow_meter", "logger")
}

// flow_meter -> f: IFC -> logger -t, sorted, against ipfixprobe's expected
// output: the commands and comparison of ipfixprobe's functional tests
// (testdata/pcap/README.md), with our binaries in place of ipfixprobe and
// NEMEA's logger.
func TestFlowMeterMatchesIpfixprobe(t *testing.T) {
	dir := testutil.SharedTestdata(t, "pcap")
	bin := meterBinaries(t)
	for _, tc := range []struct{ plugin, pcap string }{
		{"basic", "mixed.pcap"},
		{"http", "http.pcap"},
		{"vlan", "vlan.pcap"},
	} {
		t.Run(tc.plugin, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			trapcap := filepath.Join(t.TempDir(), tc.plugin+".trapcap")
			meter := exec.CommandContext(ctx, filepath.Join(bin, "flow_meter"),
				"-i", "f:"+trapcap+":buffer=off:timeout=WAIT", "-r", filepath.Join(dir, tc.pcap), "-p", tc.plugin)
			if out, err := meter.CombinedOutput(); err != nil {
				t.Fatalf("flow_meter: %v: %s", err, out)
			}
			logger := exec.CommandContext(ctx, filepath.Join(bin, "logger"), "-i", "f:"+trapcap, "-t")
			var lerr bytes.Buffer
			logger.Stderr = &lerr
			out, err := logger.Output()
			if err != nil {
				t.Fatalf("logger: %v: %s", err, lerr.String())
			}
			want, err := os.ReadFile(filepath.Join(dir, "expected", tc.plugin))
			if err != nil {
				t.Fatal(err)
			}
			got, exp := sortedLines(string(out)), sortedLines(string(want))
			if !slices.Equal(got, exp) {
				t.Errorf("sorted logger output differs from expected/%s:\n got:\n%s\nwant:\n%s",
					tc.plugin, strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
		})
	}
}

// sortedLines is `sort` of a text: its lines in byte order (LC_ALL=C).
func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return lines
}
