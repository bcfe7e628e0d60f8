// Package sflowgen builds sFlow v5 datagrams (XDR, as an agent writes
// them) for tests, fuzz seeds and benchmarks, and Ethernet frames to put in
// their raw packet header records.
package sflowgen

import (
	"encoding/binary"
	"net/netip"
)

// Record is one flow or counter record: enterprise, format and body.
type Record struct {
	Enterprise, Format uint32
	Body               []byte
}

// Sample is one sample: enterprise, format and body.
type Sample struct {
	Enterprise, Format uint32
	Body               []byte
}

// Datagram is an sFlow v5 datagram header and its samples.
type Datagram struct {
	Agent      netip.Addr
	SubAgentID uint32
	Sequence   uint32
	Uptime     uint32
	Samples    []Sample
}

// W is an XDR writer.
type W struct{ B []byte }

// U32 appends a 32-bit word.
func (w *W) U32(v ...uint32) *W {
	for _, x := range v {
		w.B = binary.BigEndian.AppendUint32(w.B, x)
	}
	return w
}

// U64 appends a 64-bit word.
func (w *W) U64(v uint64) *W { w.B = binary.BigEndian.AppendUint64(w.B, v); return w }

// Opaque appends variable-length opaque data: its length, the bytes and
// padding to a multiple of 4.
func (w *W) Opaque(b []byte) *W {
	w.U32(uint32(len(b)))
	w.B = append(w.B, b...)
	for len(w.B)%4 != 0 {
		w.B = append(w.B, 0)
	}
	return w
}

// Addr appends an sFlow address (type 1 IPv4, 2 IPv6, 0 unknown).
func (w *W) Addr(a netip.Addr) *W {
	switch {
	case a.Is4():
		b := a.As4()
		w.U32(1)
		w.B = append(w.B, b[:]...)
	case a.Is6():
		b := a.As16()
		w.U32(2)
		w.B = append(w.B, b[:]...)
	default:
		w.U32(0)
	}
	return w
}

// Bytes encodes the datagram.
func (d *Datagram) Bytes() []byte {
	w := &W{}
	w.U32(5).Addr(d.Agent).U32(d.SubAgentID, d.Sequence, d.Uptime, uint32(len(d.Samples)))
	for _, s := range d.Samples {
		w.U32(s.Enterprise<<12|s.Format, uint32(len(s.Body)))
		w.B = append(w.B, s.Body...)
	}
	return w.B
}

func records(w *W, recs []Record) {
	w.U32(uint32(len(recs)))
	for _, r := range recs {
		w.U32(r.Enterprise<<12|r.Format, uint32(len(r.Body)))
		w.B = append(w.B, r.Body...)
	}
}

// FlowSample is the fixed part of a flow sample.
type FlowSample struct {
	Sequence, SourceIDType, SourceIDIndex uint32
	SamplingRate, SamplePool, Drops       uint32
	Input, Output                         uint32 // compact: with the format in the top 2 bits
	InputFormat, OutputFormat             uint32 // expanded only
}

// Flow returns a compact (format 1) flow sample.
func (f FlowSample) Flow(recs ...Record) Sample {
	w := &W{}
	w.U32(f.Sequence, f.SourceIDType<<24|f.SourceIDIndex, f.SamplingRate, f.SamplePool, f.Drops, f.Input, f.Output)
	records(w, recs)
	return Sample{Format: 1, Body: w.B}
}

// Expanded returns an expanded (format 3) flow sample.
func (f FlowSample) Expanded(recs ...Record) Sample {
	w := &W{}
	w.U32(f.Sequence, f.SourceIDType, f.SourceIDIndex, f.SamplingRate, f.SamplePool, f.Drops,
		f.InputFormat, f.Input, f.OutputFormat, f.Output)
	records(w, recs)
	return Sample{Format: 3, Body: w.B}
}

// Counters returns a compact (format 2) counter sample.
func Counters(seq, sourceType, sourceIndex uint32, recs ...Record) Sample {
	w := &W{}
	w.U32(seq, sourceType<<24|sourceIndex)
	records(w, recs)
	return Sample{Format: 2, Body: w.B}
}

// ExpandedCounters returns an expanded (format 4) counter sample.
func ExpandedCounters(seq, sourceType, sourceIndex uint32, recs ...Record) Sample {
	w := &W{}
	w.U32(seq, sourceType, sourceIndex)
	records(w, recs)
	return Sample{Format: 4, Body: w.B}
}

// RawHeader returns a raw packet header record (format 1).
func RawHeader(protocol, frameLength, stripped uint32, header []byte) Record {
	w := &W{}
	w.U32(protocol, frameLength, stripped).Opaque(header)
	return Record{Format: 1, Body: w.B}
}

// SampledIP returns a sampled IPv4 (format 3) or IPv6 (format 4) record.
func SampledIP(length, proto uint32, src, dst netip.Addr, sport, dport, flags, tos uint32) Record {
	w := &W{}
	w.U32(length, proto)
	format := uint32(3)
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		w.B = append(append(w.B, s[:]...), d[:]...)
	} else {
		s, d := src.As16(), dst.As16()
		w.B = append(append(w.B, s[:]...), d[:]...)
		format = 4
	}
	w.U32(sport, dport, flags, tos)
	return Record{Format: format, Body: w.B}
}

// ExtSwitch returns an extended switch record (1001).
func ExtSwitch(srcVLAN, srcPrio, dstVLAN, dstPrio uint32) Record {
	w := &W{}
	w.U32(srcVLAN, srcPrio, dstVLAN, dstPrio)
	return Record{Format: 1001, Body: w.B}
}

// ExtRouter returns an extended router record (1002).
func ExtRouter(nextHop netip.Addr, srcMask, dstMask uint32) Record {
	w := &W{}
	w.Addr(nextHop).U32(srcMask, dstMask)
	return Record{Format: 1002, Body: w.B}
}

// IfCounters is the generic interface counter record's content.
type IfCounters struct {
	Index, Type                                                        uint32
	Speed                                                              uint64
	Direction, Status                                                  uint32
	InOctets                                                           uint64
	InUcast, InMulticast, InBroadcast, InDiscards, InErrors, InUnknown uint32
	OutOctets                                                          uint64
	OutUcast, OutMulticast, OutBroadcast, OutDiscards, OutErrors       uint32
	Promiscuous                                                        uint32
}

// Record returns the generic interface counter record (format 1).
func (c IfCounters) Record() Record {
	w := &W{}
	w.U32(c.Index, c.Type).U64(c.Speed).U32(c.Direction, c.Status).U64(c.InOctets)
	w.U32(c.InUcast, c.InMulticast, c.InBroadcast, c.InDiscards, c.InErrors, c.InUnknown).U64(c.OutOctets)
	w.U32(c.OutUcast, c.OutMulticast, c.OutBroadcast, c.OutDiscards, c.OutErrors, c.Promiscuous)
	return Record{Format: 1, Body: w.B}
}

// EthernetCounters returns an Ethernet counter record (format 2) of the
// 13 dot3Stats values in order.
func EthernetCounters(v [13]uint32) Record {
	w := &W{}
	w.U32(v[:]...)
	return Record{Format: 2, Body: w.B}
}

// Packet describes a frame for Frame.
type Packet struct {
	SrcMAC, DstMAC   [6]byte
	VLAN             uint16 // 0: untagged
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16 // ICMP: type and code in DstPort's high and low byte
	TCPFlags         uint8
	TOS, TTL         uint8
	Payload          int // payload bytes (zeros)
}

// Frame builds an Ethernet frame (802.1Q-tagged when VLAN is set) with an
// IPv4 or IPv6 header and a TCP, UDP or ICMP header.
func Frame(p Packet) []byte {
	var l4 []byte
	switch p.Proto {
	case 6:
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], p.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], p.DstPort)
		l4[12], l4[13] = 5<<4, p.TCPFlags
	case 17:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], p.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], p.DstPort)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+p.Payload))
	case 1, 58:
		l4 = make([]byte, 8)
		l4[0], l4[1] = byte(p.DstPort>>8), byte(p.DstPort)
	}
	l4 = append(l4, make([]byte, p.Payload)...)
	f := append(append([]byte{}, p.DstMAC[:]...), p.SrcMAC[:]...)
	if p.VLAN != 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, p.VLAN)
	}
	if p.Src.Is4() {
		f = binary.BigEndian.AppendUint16(f, 0x0800)
		s, d := p.Src.As4(), p.Dst.As4()
		f = append(f, 0x45, p.TOS)
		f = binary.BigEndian.AppendUint16(f, uint16(20+len(l4)))
		f = append(f, 0, 0, 0, 0, p.TTL, p.Proto, 0, 0)
		f = append(append(f, s[:]...), d[:]...)
	} else {
		f = binary.BigEndian.AppendUint16(f, 0x86dd)
		s, d := p.Src.As16(), p.Dst.As16()
		f = binary.BigEndian.AppendUint32(f, 6<<28|uint32(p.TOS)<<20)
		f = binary.BigEndian.AppendUint16(f, uint16(len(l4)))
		f = append(f, p.Proto, p.TTL)
		f = append(append(f, s[:]...), d[:]...)
	}
	return append(f, l4...)
}
