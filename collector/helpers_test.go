package collector

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// testdataDir is shared/testdata beside the repository (skipped when absent).
func testdataDir(t testing.TB) string { return testutil.SharedTestdata(t, "") }

// packet is one captured export message with its sender.
type packet struct {
	from    netip.AddrPort
	payload []byte
}

// readPcap returns the UDP payloads of a capture in order and, for TCP,
// the client-to-server byte stream reassembled by sequence number.
func readPcap(t testing.TB, path string) (udp []packet, tcpFrom netip.AddrPort, tcp []byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := newPcapReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	type seg struct {
		seq  uint32
		data []byte
	}
	var segs []seg
	var serverPort layers.TCPPort
	for {
		data, err := r.next()
		if err != nil {
			break
		}
		pkt := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		var src netip.Addr
		if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			src, _ = netip.AddrFromSlice(ip4.SrcIP.To4())
		} else if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			src, _ = netip.AddrFromSlice(ip6.SrcIP)
		}
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			udp = append(udp, packet{netip.AddrPortFrom(src, uint16(u.SrcPort)), bytes.Clone(u.Payload)})
			continue
		}
		if tc, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			if tc.SYN && !tc.ACK {
				serverPort = tc.DstPort
				tcpFrom = netip.AddrPortFrom(src, uint16(tc.SrcPort))
			}
			if tc.DstPort == serverPort && len(tc.Payload) > 0 {
				segs = append(segs, seg{tc.Seq, bytes.Clone(tc.Payload)})
			}
		}
	}
	slices.SortStableFunc(segs, func(a, b seg) int { return int(int32(a.seq - b.seq)) })
	var next uint32
	for i, s := range segs {
		if i == 0 {
			next = s.seq
		}
		if d := int(int32(next - s.seq)); d > 0 { // retransmission overlap
			if d >= len(s.data) {
				continue
			}
			s.data = s.data[d:]
		}
		tcp = append(tcp, s.data...)
		next = segs[i].seq + uint32(len(segs[i].data))
	}
	return udp, tcpFrom, tcp
}

// pcapReader reads classic pcap files. gopacket's pcapgo would do, but it
// pulls in golang.org/x/net/bpf, which is not in this module's go.sum.
type pcapReader struct {
	r     io.Reader
	order binary.ByteOrder
}

func newPcapReader(r io.Reader) (*pcapReader, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	p := &pcapReader{r: r}
	switch binary.LittleEndian.Uint32(hdr[:]) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		p.order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		p.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a classic pcap file (magic %x)", hdr[:4])
	}
	if lt := p.order.Uint32(hdr[20:]); lt != 1 {
		return nil, fmt.Errorf("link type %d, want Ethernet", lt)
	}
	return p, nil
}

func (p *pcapReader) next() ([]byte, error) {
	var rh [16]byte
	if _, err := io.ReadFull(p.r, rh[:]); err != nil {
		return nil, err
	}
	n := p.order.Uint32(rh[8:])
	if n > 1<<20 {
		return nil, fmt.Errorf("pcap record of %d bytes", n)
	}
	data := make([]byte, n)
	_, err := io.ReadFull(p.r, data)
	return data, err
}
