package packet

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Frames written out byte by byte (Ethernet, optional 802.1Q, IP, L4).
var (
	// 00:00:00:00:00:02 <- 00:00:00:00:00:01, VLAN 100, IPv4 10.0.0.1 ->
	// 10.0.0.2, TOS 0x10, TTL 64, TCP 1234 -> 80 SYN|ACK.
	tcp4VLAN = "000000000002 000000000001 8100 0064 0800" +
		"4510 0028 0001 0000 4006 0000 0a000001 0a000002" +
		"04d2 0050 00000000 00000000 5012 0000 0000 0000"
	// IPv6 2001:db8::1 -> 2001:db8::2, hop limit 255, UDP 546 -> 547, 1 byte.
	udp6 = "000000000002 000000000001 86dd" +
		"60000000 0009 11 ff 20010db8000000000000000000000001 20010db8000000000000000000000002" +
		"0222 0223 0009 0000 78"
	// QinQ (outer 0x88a8 tag 200, inner 802.1Q tag 7), IPv6 with an 8-byte
	// hop-by-hop header, then UDP 1 -> 2.
	qinqHopByHop = "000000000002 000000000001 88a8 00c8 8100 0007 86dd" +
		"60000000 0010 00 40 00000000000000000000000000000001 00000000000000000000000000000002" +
		"11 00 0000 00000000 0001 0002 0008 0000"
	// Linux SLL (Ethernet ARPHRD 1, 6-byte address), IPv4 UDP 7 -> 9.
	sllUDP = "0000 0001 0006 000000000001 0000 0800" +
		"4500 001c 0000 0000 4011 0000 0a000001 0a000002 0007 0009 0008 0000"
	// Raw IPv4 ICMP echo request.
	icmp4Raw = "4500 001c 0000 0000 4001 0000 c0000201 c0000202 0800 0000 0000 0000"
)

func frame(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		link  LinkType
		hex   string
		check func(t *testing.T, p *Packet)
	}{
		{"tcp over 802.1Q", LinkEthernet, tcp4VLAN, func(t *testing.T, p *Packet) {
			if p.VLANID != 100 || p.IPVersion != 4 || p.Proto != ProtoTCP || p.SrcPort != 1234 || p.DstPort != 80 ||
				p.TCPFlags != 0x12 || p.TOS != 0x10 || p.TTL != 64 || p.IPLen != 40 || p.SrcIP != IPv4Layout([]byte{10, 0, 0, 1}) {
				t.Errorf("got %+v", p)
			}
		}},
		{"udp over ipv6", LinkEthernet, udp6, func(t *testing.T, p *Packet) {
			if p.IPVersion != 6 || p.Proto != ProtoUDP || p.SrcPort != 546 || p.DstPort != 547 || p.TTL != 255 ||
				p.IPLen != 49 || p.DstIP[15] != 2 || string(p.Payload) != "x" {
				t.Errorf("got %+v", p)
			}
		}},
		{"qinq inner tag, ipv6 hop-by-hop", LinkEthernet, qinqHopByHop, func(t *testing.T, p *Packet) {
			if p.VLANID != 7 || p.IPVersion != 6 || p.Proto != ProtoUDP || p.SrcPort != 1 || p.DstPort != 2 {
				t.Errorf("got %+v", p)
			}
		}},
		{"linux sll", LinkLinuxSLL, sllUDP, func(t *testing.T, p *Packet) {
			if p.SrcMAC[5] != 1 || p.Proto != ProtoUDP || p.SrcPort != 7 || p.DstPort != 9 {
				t.Errorf("got %+v", p)
			}
		}},
		{"icmp raw ip", LinkRawIP, icmp4Raw, func(t *testing.T, p *Packet) {
			if p.Proto != ProtoICMP || p.ICMPType != 8 || !p.HasL4 || p.DstIP != IPv4Layout([]byte{192, 0, 2, 2}) {
				t.Errorf("got %+v", p)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := Parse(tc.link, frame(t, tc.hex), &p); err != nil {
				t.Fatal(err)
			}
			tc.check(t, &p)
		})
	}
}

func TestParseErrors(t *testing.T) {
	f := frame(t, tcp4VLAN)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"short ethernet", f[:10], ErrTruncated},
		{"ip header cut", f[:30], ErrTruncated},
		{"arp", frame(t, "ffffffffffff 000000000001 0806 0001"), ErrNotIP},
	} {
		var p Packet
		if err := Parse(LinkEthernet, tc.data, &p); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	f := frame(t, tcp4VLAN)
	var p Packet
	if n := testing.AllocsPerRun(100, func() { _ = Parse(LinkEthernet, f, &p) }); n != 0 {
		t.Fatalf("%v allocations per Parse", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{tcp4VLAN, udp6, qinqHopByHop, sllUDP, icmp4Raw} {
		for _, l := range []LinkType{LinkEthernet, LinkRawIP, LinkLinuxSLL} {
			f.Add(uint8(l), frame(f, s))
		}
	}
	f.Fuzz(func(t *testing.T, link uint8, data []byte) {
		var p Packet
		if err := Parse(LinkType(link%4), data, &p); err != nil {
			return
		}
		if len(p.Payload) > len(data) {
			t.Fatalf("payload %d bytes from a %d-byte frame", len(p.Payload), len(data))
		}
		if p.IPVersion != 4 && p.IPVersion != 6 {
			t.Fatalf("accepted packet with IP version %d", p.IPVersion)
		}
	})
}
