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
	p := startFlowgateConfig(t, config("first.trapcap"))
	send(t, port, dgrams)
	first := filepath.Join(dir, "first.trapcap")
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, err := os.Stat(first)
		_, serr := os.Stat(state)
		if err == nil && st.Size() > 0 && serr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s: output %v, state file %v; stderr %s", err, serr, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // past the autoflush interval
	p.cmd.Process.Kill()
	p.cmd.Wait()
	before := len(trapcap.Read(t, first).Records)
	if before == 0 {
		t.Fatal("the killed daemon's output holds no records: not flushed on its timer")
	}

	p = startFlowgateConfig(t, config("second.trapcap"))
	send(t, port, data)
	time.Sleep(300 * time.Millisecond)
	p.stop(t)
	after := len(trapcap.Read(t, filepath.Join(dir, "second.trapcap")).Records)
	if after == 0 {
		t.Fatalf("the restarted daemon decoded nothing of the data-only datagrams: templates were not restored; stderr %s", p.stderr.String())
	}
	if after != before {
		t.Errorf("restart decoded %d records of the data-only datagrams, the first run %d of the full capture", after, before)
	}
}
