package meter

import (
	"encoding/binary"
	"errors"
	"testing"
)

// withIPv6Ext inserts an extension header (its next-header byte is taken
// from the IPv6 header) right after the IPv6 header of an Ethernet frame.
func withIPv6Ext(f []byte, typ uint8, ext []byte) []byte {
	ipOff := 14
	out := append([]byte{}, f[:ipOff+40]...)
	ext = append([]byte{}, ext...)
	ext[0] = out[ipOff+6]
	out[ipOff+6] = typ
	binary.BigEndian.PutUint16(out[ipOff+4:], binary.BigEndian.Uint16(out[ipOff+4:])+uint16(len(ext)))
	out = append(out, ext...)
	return append(out, f[ipOff+40:]...)
}

func TestParse(t *testing.T) {
	v6a := []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}
	v6b := []byte{0x20, 0x01, 0x0d, 0xb8, 15: 2}
	udp6 := frame(l4{proto: protoUDP, sport: 546, dport: 547, payload: []byte("x"), v6: true, src: v6a, dst: v6b})
	tests := []struct {
		name  string
		link  LinkType
		data  []byte
		err   error
		check func(t *testing.T, p *Packet)
	}{
		{"ipv4 tcp ports flags and ip length", LinkEthernet,
			frame(l4{proto: protoTCP, sport: 1234, dport: 80, flags: 0x12, payload: []byte("abc"), src: ipA, dst: ipB, srcMAC: macA, dstMAC: macB}),
			nil, func(t *testing.T, p *Packet) {
				if p.SrcPort != 1234 || p.DstPort != 80 || p.TCPFlags != 0x12 || p.IPLen != 43 || string(p.Payload) != "abc" {
					t.Errorf("got %+v", p)
				}
				if p.SrcMAC != macA || p.DstMAC != macB || p.IPVersion != 4 {
					t.Errorf("macs/version wrong: %+v", p)
				}
				if p.SrcIP != ipv4Layout(ipA) {
					t.Errorf("src ip %x", p.SrcIP)
				}
			}},
		{"qinq reports the innermost vlan", LinkEthernet,
			frame(l4{proto: protoUDP, sport: 1, dport: 2, vlans: []uint16{100, 200}, src: ipA, dst: ipB}),
			nil, func(t *testing.T, p *Packet) {
				if p.VLANID != 200 || p.DstPort != 2 {
					t.Errorf("vlan %d dport %d", p.VLANID, p.DstPort)
				}
			}},
		{"ipv6 hop-by-hop and first fragment reach udp", LinkEthernet,
			withIPv6Ext(withIPv6Ext(udp6, 44, []byte{0, 0, 0, 1, 0, 0, 0, 9}), 0, []byte{0, 0, 1, 4, 0, 0, 0, 0}),
			nil, func(t *testing.T, p *Packet) {
				if p.Proto != protoUDP || p.SrcPort != 546 || p.DstPort != 547 || p.IPLen != 40+16+9 {
					t.Errorf("got proto %d ports %d/%d len %d", p.Proto, p.SrcPort, p.DstPort, p.IPLen)
				}
			}},
		{"ipv6 later fragment has no ports", LinkEthernet,
			withIPv6Ext(udp6, 44, []byte{0, 0, 0, 0x18, 0, 0, 0, 9}),
			nil, func(t *testing.T, p *Packet) {
				if p.Proto != protoUDP || p.SrcPort != 0 || p.DstPort != 0 {
					t.Errorf("got proto %d ports %d/%d", p.Proto, p.SrcPort, p.DstPort)
				}
			}},
		{"icmp type and code kept, ports zero", LinkEthernet,
			frame(l4{proto: protoICMP, icmpType: 8, src: ipA, dst: ipB}),
			nil, func(t *testing.T, p *Packet) {
				if p.ICMPType != 8 || p.SrcPort != 0 || p.DstPort != 0 {
					t.Errorf("got %+v", p)
				}
			}},
		{"icmpv6", LinkEthernet,
			frame(l4{proto: protoICMPv6, icmpType: 135, v6: true, src: v6a, dst: v6b}),
			nil, func(t *testing.T, p *Packet) {
				if p.ICMPType != 135 || p.Proto != protoICMPv6 {
					t.Errorf("got %+v", p)
				}
			}},
		{"raw ip link", LinkRawIP,
			frame(l4{proto: protoUDP, sport: 7, dport: 9, src: ipA, dst: ipB})[14:],
			nil, func(t *testing.T, p *Packet) {
				if p.DstPort != 9 {
					t.Errorf("got %+v", p)
				}
			}},
		{"ethernet padding not in payload", LinkEthernet,
			append(frame(l4{proto: protoUDP, sport: 7, dport: 9, payload: []byte("hi"), src: ipA, dst: ipB}), 0, 0, 0, 0),
			nil, func(t *testing.T, p *Packet) {
				if string(p.Payload) != "hi" || p.IPLen != 30 {
					t.Errorf("payload %q len %d", p.Payload, p.IPLen)
				}
			}},
		{"arp is not ip", LinkEthernet, append(make([]byte, 12), 0x08, 0x06, 0, 1), ErrNotIP, nil},
		{"short ethernet", LinkEthernet, make([]byte, 10), ErrTruncated, nil},
		{"ipv4 header cut", LinkEthernet, frame(l4{proto: protoUDP, src: ipA, dst: ipB})[:25], ErrTruncated, nil},
		{"tcp header cut", LinkEthernet, frame(l4{proto: protoTCP, src: ipA, dst: ipB})[:14+20+10], ErrTruncated, nil},
		{"ipv4 ihl below 5", LinkEthernet, func() []byte {
			f := frame(l4{proto: protoUDP, src: ipA, dst: ipB})
			f[14] = 0x43
			return f
		}(), ErrBadLength, nil},
		{"ipv4 total length below header", LinkEthernet, func() []byte {
			f := frame(l4{proto: protoUDP, src: ipA, dst: ipB})
			binary.BigEndian.PutUint16(f[16:], 10)
			return f
		}(), ErrBadLength, nil},
		{"ipv6 extension header cut", LinkEthernet, withIPv6Ext(udp6, 0, []byte{0, 4, 0, 0, 0, 0, 0, 0}), ErrTruncated, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			err := Parse(tc.link, tc.data, &p)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if tc.check != nil {
				tc.check(t, &p)
			}
		})
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	f := frame(l4{proto: protoTCP, sport: 1, dport: 2, vlans: []uint16{5}, src: ipA, dst: ipB})
	var p Packet
	if n := testing.AllocsPerRun(100, func() { _ = Parse(LinkEthernet, f, &p) }); n != 0 {
		t.Errorf("Parse allocates %v times per packet", n)
	}
}
