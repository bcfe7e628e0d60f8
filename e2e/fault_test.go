package e2e

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
)

// startFlowgateConfig runs flowgate -c on a configuration text and waits
// until it runs.
func startFlowgateConfig(t *testing.T, yaml string) *flowgateProc {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "flowgate.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return startFlowgateWith(t, func(string) []string { return []string{"-c", cfg} })
}

// v9DataOnly drops the template and options template flowsets of NetFlow
// v9 datagrams, keeping the data ones.
func v9DataOnly(dgrams [][]byte) [][]byte {
	var out [][]byte
	for _, d := range dgrams {
		if len(d) < 20 || binary.BigEndian.Uint16(d) != 9 {
			continue
		}
		b := append([]byte(nil), d[:20]...)
		for rest := d[20:]; len(rest) >= 4; {
			n := int(binary.BigEndian.Uint16(rest[2:]))
			if n < 4 || n > len(rest) {
				break
			}
			if binary.BigEndian.Uint16(rest) >= 256 {
				b = append(b, rest[:n]...)
			}
			rest = rest[n:]
		}
		if len(b) > 20 {
			out = append(out, b)
		}
	}
	return out
}

func send(t *testing.T, port string, dgrams [][]byte) {
	t.Helper()
	c, err := net.Dial("udp", "127.0.0.1:"+port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range dgrams {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

// SIGKILL during a run loses nothing older than the autoflush interval on
// an f: output, and a restart with the same state_file decodes data
// whose templates came before the kill, without waiting for them again.
func TestDaemonSIGKILLThenRestartWithStateFile(t *testing.T) {
	dgrams, _ := capture(t, filepath.Join(testutil.SharedTestdata(t, "netflow"), "flowgen_v9_v4v6_sampled.pcap"))
	data := v9DataOnly(dgrams)
	if len(data) == 0 {
		t.Fatal("no v9 data flowsets in the capture")
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state", "templates")
	port := freePort(t)
	config := func(out string) string {
		return "sources: [{type: collector, listen: ['udp://127.0.0.1:" + port + "'], sockets: 1, state_file: '" + state + "'}]\n" +
			"outputs: [{ifc: 'f:" + filepath.Join(dir, out) + ":autoflush=200000'}]\n"
	}
	// nfcapd 1.7.1 stores this many flows of the capture
	// (TestFlowgateDaemonMatchesNfcapd has flowgate store as many).
	golden, err := os.Open(filepath.Join(testutil.SharedTestdata(t, "netflow"), "nfcapd171", "flowgen_v9_v4v6_sampled.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := nfdumpCSVTotals(t, golden)
	golden.Close()

	p := startFlowgateConfig(t, config("first.trapcap"))
	send(t, port, dgrams)
	first := filepath.Join(dir, "first.trapcap")
	// Everything is decoded and on disk by the autoflush timer while the
	// daemon runs (the daemon is never stopped, so nothing else flushes).
	got := 0
	if !testutil.Eventually(testutil.WaitTimeout, func() bool {
		c, _ := trapcap.TryRead(first)
		got = len(c.Records)
		_, serr := os.Stat(state)
		return got == want && serr == nil
	}) {
		_, serr := os.Stat(state)
		t.Fatalf("after %v: %d of %d records in the output, state file %v; stderr %s", testutil.WaitTimeout, got, want, serr, p.stderr.String())
	}
	p.cmd.Process.Kill()
	p.cmd.Wait()
	before := len(trapcap.Read(t, first).Records)
	if before != want {
		t.Fatalf("the killed daemon's output holds %d records, %d before the kill", before, want)
	}

	p = startFlowgateConfig(t, config("second.trapcap"))
	send(t, port, data)
	p.stop(t) // SIGTERM: what is queued is decoded and flushed
	after := len(trapcap.Read(t, filepath.Join(dir, "second.trapcap")).Records)
	if after == 0 {
		t.Fatalf("the restarted daemon decoded nothing of the data-only datagrams: templates were not restored; stderr %s", p.stderr.String())
	}
	if after != before {
		t.Errorf("restart decoded %d records of the data-only datagrams, the first run %d of the full capture", after, before)
	}
}
