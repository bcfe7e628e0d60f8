package main

import "encoding/binary"

// NetFlow v9 field types (RFC 3954 §8) used by the two templates.
const (
	inBytes      = 1
	inPkts       = 2
	protocol     = 4
	srcTos       = 5
	tcpFlags     = 6
	l4SrcPort    = 7
	ipv4SrcAddr  = 8
	srcMask      = 9
	inputSnmp    = 10
	l4DstPort    = 11
	ipv4DstAddr  = 12
	dstMask      = 13
	outputSnmp   = 14
	ipv4NextHop  = 15
	srcAS        = 16
	dstAS        = 17
	lastSwitched = 21
	firstSwitch  = 22
	ipv6SrcAddr  = 27
	ipv6DstAddr  = 28
	ipv6SrcMask  = 29
	ipv6DstMask  = 30
	ipv6NextHop  = 62
)

type field struct{ typ, size uint16 }

var (
	templateV4 = []field{{inBytes, 4}, {inPkts, 4}, {protocol, 1}, {srcTos, 1}, {tcpFlags, 1}, {l4SrcPort, 2},
		{ipv4SrcAddr, 4}, {srcMask, 1}, {inputSnmp, 2}, {l4DstPort, 2}, {ipv4DstAddr, 4}, {dstMask, 1},
		{outputSnmp, 2}, {ipv4NextHop, 4}, {srcAS, 4}, {dstAS, 4}, {lastSwitched, 4}, {firstSwitch, 4}}
	templateV6 = []field{{inBytes, 4}, {inPkts, 4}, {protocol, 1}, {srcTos, 1}, {tcpFlags, 1}, {l4SrcPort, 2},
		{ipv6SrcAddr, 16}, {ipv6SrcMask, 1}, {inputSnmp, 2}, {l4DstPort, 2}, {ipv6DstAddr, 16}, {ipv6DstMask, 1},
		{outputSnmp, 2}, {ipv6NextHop, 16}, {srcAS, 4}, {dstAS, 4}, {lastSwitched, 4}, {firstSwitch, 4}}
)

const (
	templateIDv4   = 256
	templateIDv6   = 257
	sourceID       = 1
	flowsPerPacket = 24
	// Times: flow i starts at baseMs + i ms; the exporter booted at bootMs.
	baseMs = 1700000000000
	bootMs = 1699913600000
)

// flow is one generated flow.
type flow struct {
	v6                bool
	src, dst, nh      [16]byte
	sport, dport      uint16
	proto, flags, tos uint8
	smask, dmask      uint8
	in, out           uint16
	sas, das          uint32
	pkts, bytes       uint32
	firstMs, lastMs   int64
}

// flowAt returns flow i.
func flowAt(i int) flow {
	f := flow{v6: i%10 == 9}
	u := uint32(i)
	if f.v6 {
		f.src = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1}
		binary.BigEndian.PutUint32(f.src[12:], u)
		f.dst = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2}
		binary.BigEndian.PutUint32(f.dst[12:], u*7)
		f.nh = [16]byte{0xfe, 0x80, 15: byte(1 + i%4)}
		f.smask, f.dmask = 64, 48
	} else {
		binary.BigEndian.PutUint32(f.src[:], 0x0a000000+u%0x1000000)
		binary.BigEndian.PutUint32(f.dst[:], 0xac100000+(u*7)%0x100000)
		binary.BigEndian.PutUint32(f.nh[:], 0x0aff0001+u%4)
		f.smask, f.dmask = 24, 16
	}
	f.dport = []uint16{80, 443, 53, 22, 123}[i%5]
	f.sport = uint16(1024 + i%60000)
	f.proto, f.flags = 6, 0x1b
	if f.dport == 53 || f.dport == 123 {
		f.proto, f.flags = 17, 0
	}
	f.tos = uint8(i%4) * 4
	f.in, f.out = uint16(1+i%16), uint16(17+i%16)
	f.sas, f.das = 64512+u%100, 4200000000+u%1000
	f.pkts = 1 + u%1000
	f.bytes = f.pkts*64 + u%1400
	f.firstMs = baseMs + int64(i)
	f.lastMs = f.firstMs + int64(i%60000)
	return f
}

// packetBuilder assembles export packets in one reused buffer.
type packetBuilder struct{ buf []byte }

// packet builds export packet seq with flows first..first+k-1, preceded by
// the templates when withTemplates.
func (p *packetBuilder) packet(seq uint32, first, k int, withTemplates bool) []byte {
	b := p.buf[:0]
	// The export time is a whole second after the last flow ended.
	exportMs := (baseMs + int64(first+k) + 60000 + 999) / 1000 * 1000
	count := uint16(k)
	if withTemplates {
		count += 2
	}
	b = binary.BigEndian.AppendUint16(b, 9)
	b = binary.BigEndian.AppendUint16(b, count)
	b = binary.BigEndian.AppendUint32(b, uint32(exportMs-bootMs)) // sysUptime
	b = binary.BigEndian.AppendUint32(b, uint32(exportMs/1000))   // unix_secs
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, sourceID)
	if withTemplates {
		b = appendTemplates(b)
	}
	for _, v6 := range []bool{false, true} {
		id := uint16(templateIDv4)
		if v6 {
			id = templateIDv6
		}
		start := len(b)
		b = binary.BigEndian.AppendUint16(b, id)
		b = binary.BigEndian.AppendUint16(b, 0) // length, set below
		for i := first; i < first+k; i++ {
			if f := flowAt(i); f.v6 == v6 {
				b = appendFlow(b, &f)
			}
		}
		if len(b)-start == 4 {
			b = b[:start] // no flow of this family
			continue
		}
		for (len(b)-start)%4 != 0 {
			b = append(b, 0)
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	}
	p.buf = b
	return b
}

func appendTemplates(b []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, 0) // template flowset
	b = binary.BigEndian.AppendUint16(b, 0)
	for _, t := range []struct {
		id     uint16
		fields []field
	}{{templateIDv4, templateV4}, {templateIDv6, templateV6}} {
		b = binary.BigEndian.AppendUint16(b, t.id)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.fields)))
		for _, f := range t.fields {
			b = binary.BigEndian.AppendUint16(b, f.typ)
			b = binary.BigEndian.AppendUint16(b, f.size)
		}
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}

func appendFlow(b []byte, f *flow) []byte {
	alen := 4
	if f.v6 {
		alen = 16
	}
	b = binary.BigEndian.AppendUint32(b, f.bytes)
	b = binary.BigEndian.AppendUint32(b, f.pkts)
	b = append(b, f.proto, f.tos, f.flags)
	b = binary.BigEndian.AppendUint16(b, f.sport)
	b = append(b, f.src[:alen]...)
	b = append(b, f.smask)
	b = binary.BigEndian.AppendUint16(b, f.in)
	b = binary.BigEndian.AppendUint16(b, f.dport)
	b = append(b, f.dst[:alen]...)
	b = append(b, f.dmask)
	b = binary.BigEndian.AppendUint16(b, f.out)
	b = append(b, f.nh[:alen]...)
	b = binary.BigEndian.AppendUint32(b, f.sas)
	b = binary.BigEndian.AppendUint32(b, f.das)
	b = binary.BigEndian.AppendUint32(b, uint32(f.lastMs-bootMs))
	b = binary.BigEndian.AppendUint32(b, uint32(f.firstMs-bootMs))
	return b
}
