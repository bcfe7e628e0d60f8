//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

var vethSeq int

// vethPair creates a veth pair with IPv6 off (so that the kernel sends
// nothing on it by itself) and the largest MTU, both ends up, and removes it
// at the end. It
// skips the test where that is not permitted or the tools are missing.
func vethPair(t *testing.T) (a, b string) {
	t.Helper()
	for _, tool := range []string{"ip", "tcpreplay"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	vethSeq++
	id := fmt.Sprintf("fg%d.%d", os.Getpid()%100000, vethSeq%100)
	a, b = id+"a", id+"b"
	if out, err := exec.Command("ip", "link", "add", a, "type", "veth", "peer", "name", b).CombinedOutput(); err != nil {
		t.Skipf("cannot create a veth pair here (needs CAP_NET_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", a).Run() })
	for _, ifc := range []string{a, b} {
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+ifc+"/disable_ipv6", []byte("1"), 0o644)
		// The golden captures hold segments coalesced beyond 1500 bytes.
		if out, err := exec.Command("ip", "link", "set", ifc, "mtu", "65535", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set %s up: %v: %s", ifc, err, out)
		}
	}
	return a, b
}

// packetSockets counts the packet sockets bound to interface index ifindex.
func packetSockets(t *testing.T, ifindex int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/packet")
	if err != nil {
		t.Skipf("no /proc/net/packet: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 4 && f[4] == strconv.Itoa(ifindex) {
			n++
		}
	}
	return n
}

// recordLines prints a capture's records without their times, sorted.
func recordLines(t *testing.T, path string) []string {
	t.Helper()
	c := readTrapcap(t, path)
	var lines []string
	for _, r := range c.Records {
		var b bytes.Buffer
		for i, f := range c.Tmpl.Fields() {
			if f.Name == "TIME_FIRST" || f.Name == "TIME_LAST" {
				continue
			}
			b.WriteString(f.Name + "=")
			b.Write(r.AppendValue(nil, unirec.FieldID(i)))
			b.WriteByte(' ')
		}
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	return lines
}

// TestFlowMeterLiveVethMatchesFile replays http.pcap with tcpreplay into
// one end of a veth pair and meters the other end live (TPACKET_V3 ring,
// two fanout workers): the flows are those of reading the pcap, times
// aside.
func TestFlowMeterLiveVethMatchesFile(t *testing.T) {
	pcap := filepath.Join(testutil.SharedTestdata(t, "pcap"), "http.pcap")
	a, b := vethPair(t)
	dir := t.TempDir()
	live, file := filepath.Join(dir, "live.trapcap"), filepath.Join(dir, "file.trapcap")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		var o, e bytes.Buffer
		code := run(ctx, []string{"flow_meter", "-v", "-i", "f:" + live, "-I", b, "-W", "2", "-R", "256:8", "-p", "http"}, &o, &e)
		done <- result{code, e.String()}
	}()
	// Wait for both workers' sockets on b (/proc/net/packet lists them).
	ifc, err := net.InterfaceByName(b)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(testutil.WaitTimeout); packetSockets(t, ifc.Index) < 2; {
		select {
		case r := <-done:
			t.Fatalf("flow_meter ended early, exit %d: %s", r.code, r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("flow_meter's sockets did not appear on " + b)
		}
	}
	if out, err := exec.Command("tcpreplay", "-q", "-i", a, "--multiplier=4", pcap).CombinedOutput(); err != nil {
		cancel()
		t.Fatalf("tcpreplay: %v: %s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("flow_meter did not stop")
	}
	if r.code != exitOK {
		t.Fatalf("live flow_meter exit %d: %s", r.code, r.stderr)
	}
	// 46 frames replayed; the kernel may add a few of its own.
	var rcvd, dropped, workers int
	if i := strings.Index(r.stderr, "flow_meter: kernel: "); i < 0 {
		t.Errorf("no kernel counters in %s", r.stderr)
	} else if _, err := fmt.Sscanf(r.stderr[i:], "flow_meter: kernel: %d frames received, %d dropped (%d workers)", &rcvd, &dropped, &workers); err != nil || rcvd < 46 || dropped != 0 || workers != 2 {
		t.Errorf("kernel counters: %s", r.stderr[i:])
	}
	if code, _, stderr := runMeter(t, "-i", "f:"+file, "-r", pcap, "-p", "http"); code != exitOK {
		t.Fatalf("file flow_meter exit %d: %s", code, stderr)
	}
	want, got := recordLines(t, file), recordLines(t, live)
	if !slices.Equal(got, want) {
		t.Errorf("live capture metered\n%s\nreading the pcap gives\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
