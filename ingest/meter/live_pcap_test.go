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

// OpenInterface takes AF_PACKET unless a BPF filter needs libpcap.
func TestOpenInterfacePicksLibpcapForFilters(t *testing.T) {
	plain, err := OpenInterface(LiveOptions{Interface: "lo"})
	if err != nil {
		t.Skipf("cannot capture on lo here: %v", err)
	}
	plain.Close()
	if _, ok := plain.(*AFPacketSource); !ok {
		t.Errorf("without a filter: %T, want *AFPacketSource", plain)
	}
	filtered, err := OpenInterface(LiveOptions{Interface: "lo", Filter: "udp"})
	if err != nil {
		t.Fatal(err)
	}
	filtered.Close()
	if _, ok := filtered.(*LiveSource); !ok {
		t.Errorf("with a filter: %T, want *LiveSource", filtered)
	}
}
