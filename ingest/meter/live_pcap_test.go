//go:build pcap

package meter

import "testing"

func TestOpenLiveRejectsBadFilter(t *testing.T) {
	src, err := OpenLive(LiveOptions{Interface: "lo", Snaplen: 256})
	if err != nil {
		t.Skipf("cannot capture on lo here: %v", err)
	}
	src.Close()
	if _, err := OpenLive(LiveOptions{Interface: "lo", Filter: "this is not bpf"}); err == nil {
		t.Fatal("invalid BPF filter accepted")
	}
}

func TestOpenLiveUnknownInterface(t *testing.T) {
	if _, err := OpenLive(LiveOptions{Interface: "no-such-ifc0"}); err == nil {
		t.Fatal("unknown interface accepted")
	}
}
