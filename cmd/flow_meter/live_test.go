//go:build linux

package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The NEMEA use case flow_meter -I IFACE -c 10: capture ten packets on lo
// (AF_PACKET), export them and end the stream.
func TestFlowMeterLiveCaptureWithCount(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // keep lo busy until flow_meter has its ten packets
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				rx.WriteToUDP([]byte("x"), rx.LocalAddr().(*net.UDPAddr))
			}
		}
	}()
	out := filepath.Join(t.TempDir(), "live.trapcap")
	code, _, stderr := runMeter(t, "-i", "f:"+out, "-I", "lo", "-c", "10")
	if code == exitRead && strings.Contains(stderr, "operation not permitted") {
		t.Skipf("AF_PACKET not permitted here: %s", stderr)
	}
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := readTrapcap(t, out)
	if n := sum(t, got, "PACKETS", "PACKETS_REV"); n != 10 || got.EOSLen != 1 {
		t.Errorf("%d packets in %d flows, end of stream %d bytes; want 10 packets and the end of stream", n, len(got.Records), got.EOSLen)
	}
}
