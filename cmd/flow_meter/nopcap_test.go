//go:build !pcap

package main

import "testing"

func TestFlowMeterFilterNeedsLibpcap(t *testing.T) {
	code, _, stderr := runMeter(t, "-i", "b:", "-I", "lo", "-F", "udp")
	if code != exitBadParams {
		t.Errorf("exit %d (%s), want %d: -F needs a libpcap build", code, stderr, exitBadParams)
	}
}
