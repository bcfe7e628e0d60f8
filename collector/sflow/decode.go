package sflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/flowgate/flowgate/packet"
)

// Sentinel errors; every error Decode returns wraps one of them.
var (
	// ErrShort means a header, sample or record is shorter than its format requires.
	ErrShort = errors.New("sflow: truncated data")
	// ErrLength means a length or count field contradicts the data around it.
	ErrLength = errors.New("sflow: inconsistent length")
	// ErrVersion means the datagram is not sFlow version 5.
	ErrVersion = errors.New("sflow: unsupported version")
	// ErrAddress means an agent or next-hop address type is neither IPv4 nor IPv6.
	ErrAddress = errors.New("sflow: unknown address type")
)

// Sample and record formats (enterprise 0) this package decodes.
const (
	SampleFlow            = 1
	SampleCounters        = 2
	SampleExpandedFlow    = 3
	SampleExpandedCounter = 4

	RecordRawHeader   = 1
	RecordSampledIPv4 = 3
	RecordSampledIPv6 = 4
	RecordExtSwitch   = 1001
	RecordExtRouter   = 1002

	CounterGenericIf = 1
	CounterEthernet  = 2
)

// Header protocols of the raw packet header record that are parsed.
const (
	HeaderEthernet = 1
	HeaderIPv4     = 11
	HeaderIPv6     = 12
)

// Datagram is the header of one sFlow v5 datagram.
type Datagram struct {
	Agent      netip.Addr
	SubAgentID uint32
	Sequence   uint32
	Uptime     uint32 // milliseconds since the agent booted
	NumSamples uint32
}

// FlowSample is one flow sample (one sampled packet) with what its records
// say about the packet. Compact (format 1) and expanded (format 3) samples
// fill the same fields.
type FlowSample struct {
	Expanded      bool
	Sequence      uint32
	SourceIDType  uint32
	SourceIDIndex uint32
	SamplingRate  uint32
	SamplePool    uint32
	Drops         uint32
	InputFormat   uint32 // 0 ifIndex, 1 packet discarded, 2 multiple interfaces
	Input         uint32
	OutputFormat  uint32
	Output        uint32

	// Raw packet header record (format 1). HeaderErr is the parser's
	// verdict (nil, packet.ErrNotIP, ErrTruncated for a cut L4 header, ...);
	// the Packet fields it could fill are set even with an error.
	HasHeader      bool
	HeaderProtocol uint32
	FrameLength    uint32
	Stripped       uint32
	Header         []byte // the sampled bytes, valid during the Handler call
	Packet         packet.Packet
	HeaderErr      error

	// Sampled IPv4 / IPv6 records (formats 3 and 4).
	HasSampledIP bool
	SampledIP    SampledIP

	// Extended switch (1001).
	HasSwitch                bool
	SrcVLAN, DstVLAN         uint32
	SrcPriority, DstPriority uint32

	// Extended router (1002).
	HasRouter        bool
	NextHop          netip.Addr
	SrcMask, DstMask uint32
}

// SampledIP is a sampled IPv4 or IPv6 record. Addresses use the UniRec
// ipaddr layout (see packet.Packet).
type SampledIP struct {
	Version          uint8 // 4 or 6
	Length           uint32
	Protocol         uint32
	SrcIP, DstIP     [16]byte
	SrcPort, DstPort uint32
	TCPFlags         uint32
	TOS              uint32 // IPv4 TOS, IPv6 priority
}

// CounterSample is one counter sample with the records decoded from it.
type CounterSample struct {
	Expanded      bool
	Sequence      uint32
	SourceIDType  uint32
	SourceIDIndex uint32

	HasIf       bool
	If          IfCounters
	HasEthernet bool
	Ethernet    EthernetCounters
}

// IfCounters is the generic interface counter record (format 1).
type IfCounters struct {
	Index, Type                           uint32
	Speed                                 uint64
	Direction, Status                     uint32
	InOctets                              uint64
	InUcast, InMulticast, InBroadcast     uint32
	InDiscards, InErrors, InUnknownProtos uint32
	OutOctets                             uint64
	OutUcast, OutMulticast, OutBroadcast  uint32
	OutDiscards, OutErrors                uint32
	Promiscuous                           uint32
}

// EthernetCounters is the Ethernet interface counter record (format 2).
type EthernetCounters struct {
	AlignmentErrors, FCSErrors, SingleCollisionFrames, MultipleCollisionFrames uint32
	SQETestErrors, DeferredTransmissions, LateCollisions, ExcessiveCollisions  uint32
	InternalMacTransmitErrors, CarrierSenseErrors, FrameTooLongs               uint32
	InternalMacReceiveErrors, SymbolErrors                                     uint32
}

// Handler receives the samples of a datagram in order. The pointers are
// the decoder's reused state: valid only during the call.
type Handler interface {
	FlowSample(d *Datagram, s *FlowSample)
	CounterSample(d *Datagram, s *CounterSample)
}

// Stats counts what the last Decode call met (reset by each call).
type Stats struct {
	FlowSamples    uint32
	CounterSamples uint32
	UnknownSamples uint32 // other enterprises or formats, skipped
	FlowRecords    uint32 // flow records decoded
	CounterRecords uint32 // counter records decoded
	UnknownRecords uint32 // flow or counter records skipped (unknown enterprise or format)
	HeaderErrors   uint32 // raw headers the packet parser rejected outright (not IP, damaged)
}

// Decoder decodes datagrams. It is not safe for concurrent use; give each
// reader goroutine its own.
type Decoder struct {
	dg    Datagram
	hdrOK bool // dg holds the last datagram's header
	flow  FlowSample
	ctr   CounterSample
	stats Stats
}

// Stats returns the counts of the last Decode.
func (d *Decoder) Stats() Stats { return d.stats }

// Header returns the header of the last datagram Decode was given, and
// false when even that did not decode.
func (d *Decoder) Header() (*Datagram, bool) { return &d.dg, d.hdrOK }

// reader walks XDR data: big-endian 32-bit words, opaque data padded to 4.
type reader struct {
	b   []byte
	off int
}

func (r *reader) u32() (uint32, bool) {
	if len(r.b)-r.off < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, true
}

func (r *reader) u64() (uint64, bool) {
	if len(r.b)-r.off < 8 {
		return 0, false
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v, true
}

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, false
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v, true
}

// addr reads an sFlow address: type 1 IPv4 (4 bytes), 2 IPv6 (16 bytes).
// Type 0 (unknown) carries no bytes and gives the zero Addr.
func (r *reader) addr() (netip.Addr, error) {
	t, ok := r.u32()
	if !ok {
		return netip.Addr{}, ErrShort
	}
	switch t {
	case 0:
		return netip.Addr{}, nil
	case 1:
		b, ok := r.bytes(4)
		if !ok {
			return netip.Addr{}, ErrShort
		}
		return netip.AddrFrom4([4]byte(b)), nil
	case 2:
		b, ok := r.bytes(16)
		if !ok {
			return netip.Addr{}, ErrShort
		}
		return netip.AddrFrom16([16]byte(b)), nil
	}
	return netip.Addr{}, fmt.Errorf("%w %d", ErrAddress, t)
}

// section reads a (format, length) pair and returns the length's bytes.
func (r *reader) section(what string) (format uint32, body []byte, err error) {
	format, ok1 := r.u32()
	n, ok2 := r.u32()
	if !ok1 || !ok2 {
		return 0, nil, fmt.Errorf("%s header at offset %d: %w", what, r.off, ErrShort)
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		return 0, nil, fmt.Errorf("%s format %d:%d at offset %d: length %d, %d bytes left: %w",
			what, format>>12, format&0xfff, r.off, n, len(r.b)-r.off, ErrLength)
	}
	body = r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return format, body, nil
}

// Decode decodes one datagram, handing every flow and counter sample to h.
func (d *Decoder) Decode(msg []byte, h Handler) error {
	d.stats, d.hdrOK = Stats{}, false
	r := reader{b: msg}
	v, ok := r.u32()
	if !ok {
		return fmt.Errorf("datagram header: %w", ErrShort)
	}
	if v != 5 {
		return fmt.Errorf("%w %d", ErrVersion, v)
	}
	agent, err := r.addr()
	if err != nil {
		return fmt.Errorf("agent address: %w", err)
	}
	d.dg = Datagram{Agent: agent}
	var ok1, ok2, ok3, ok4 bool
	d.dg.SubAgentID, ok1 = r.u32()
	d.dg.Sequence, ok2 = r.u32()
	d.dg.Uptime, ok3 = r.u32()
	d.dg.NumSamples, ok4 = r.u32()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("datagram header: %w", ErrShort)
	}
	d.hdrOK = true
	// Each sample takes at least its 8-byte format and length.
	if uint64(d.dg.NumSamples)*8 > uint64(len(msg)-r.off) {
		return fmt.Errorf("datagram of agent %s claims %d samples in %d bytes: %w", agent, d.dg.NumSamples, len(msg)-r.off, ErrLength)
	}
	for i := range d.dg.NumSamples {
		format, body, err := r.section("sample")
		if err != nil {
			return fmt.Errorf("agent %s sequence %d sample %d: %w", agent, d.dg.Sequence, i, err)
		}
		if format>>12 != 0 {
			d.stats.UnknownSamples++
			continue
		}
		switch format {
		case SampleFlow, SampleExpandedFlow:
			err = d.flowSample(body, format == SampleExpandedFlow)
			if err == nil {
				d.stats.FlowSamples++
				h.FlowSample(&d.dg, &d.flow)
			}
		case SampleCounters, SampleExpandedCounter:
			err = d.counterSample(body, format == SampleExpandedCounter)
			if err == nil {
				d.stats.CounterSamples++
				h.CounterSample(&d.dg, &d.ctr)
			}
		default:
			d.stats.UnknownSamples++
		}
		if err != nil {
			return fmt.Errorf("agent %s sequence %d sample %d (format %d): %w", agent, d.dg.Sequence, i, format, err)
		}
	}
	if r.off != len(msg) {
		return fmt.Errorf("agent %s sequence %d: %d bytes after the last sample: %w", agent, d.dg.Sequence, len(msg)-r.off, ErrLength)
	}
	return nil
}

// ifFormat splits a compact sample's interface word.
func ifFormat(v uint32) (format, value uint32) { return v >> 30, v & 0x3fffffff }

func (d *Decoder) flowSample(b []byte, expanded bool) error {
	f := &d.flow
	ts, tu := f.Packet.TsSec, f.Packet.TsUsec
	*f = FlowSample{Expanded: expanded}
	f.Packet.TsSec, f.Packet.TsUsec = ts, tu
	r := reader{b: b}
	var w [11]uint32
	n := 8 // compact: seq, source id, rate, pool, drops, input, output, records
	if expanded {
		n = 11 // seq, id type, id index, rate, pool, drops, in fmt, in, out fmt, out, records
	}
	for i := range n {
		v, ok := r.u32()
		if !ok {
			return fmt.Errorf("flow sample header: %w", ErrShort)
		}
		w[i] = v
	}
	var records uint32
	if expanded {
		f.Sequence, f.SourceIDType, f.SourceIDIndex = w[0], w[1], w[2]
		f.SamplingRate, f.SamplePool, f.Drops = w[3], w[4], w[5]
		f.InputFormat, f.Input, f.OutputFormat, f.Output = w[6], w[7], w[8], w[9]
		records = w[10]
	} else {
		f.Sequence, f.SourceIDType, f.SourceIDIndex = w[0], w[1]>>24, w[1]&0xffffff
		f.SamplingRate, f.SamplePool, f.Drops = w[2], w[3], w[4]
		f.InputFormat, f.Input = ifFormat(w[5])
		f.OutputFormat, f.Output = ifFormat(w[6])
		records = w[7]
	}
	if uint64(records)*8 > uint64(len(b)-r.off) {
		return fmt.Errorf("%d flow records in %d bytes: %w", records, len(b)-r.off, ErrLength)
	}
	for i := range records {
		format, body, err := r.section("flow record")
		if err != nil {
			return fmt.Errorf("flow record %d: %w", i, err)
		}
		if format>>12 != 0 {
			d.stats.UnknownRecords++
			continue
		}
		switch format {
		case RecordRawHeader:
			err = d.rawHeader(body)
		case RecordSampledIPv4:
			err = sampledIP(body, &f.SampledIP, 4)
			f.HasSampledIP = err == nil
		case RecordSampledIPv6:
			err = sampledIP(body, &f.SampledIP, 6)
			f.HasSampledIP = err == nil
		case RecordExtSwitch:
			err = extSwitch(body, f)
		case RecordExtRouter:
			err = extRouter(body, f)
		default:
			d.stats.UnknownRecords++
			continue
		}
		if err != nil {
			return fmt.Errorf("flow record %d (format %d): %w", i, format, err)
		}
		d.stats.FlowRecords++
	}
	if r.off != len(b) {
		return fmt.Errorf("%d bytes after the last flow record: %w", len(b)-r.off, ErrLength)
	}
	return nil
}

func (d *Decoder) rawHeader(b []byte) error {
	f := &d.flow
	r := reader{b: b}
	proto, ok1 := r.u32()
	frameLen, ok2 := r.u32()
	stripped, ok3 := r.u32()
	n, ok4 := r.u32()
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("raw packet header: %w", ErrShort)
	}
	hdr, ok := r.bytes(int(n))
	if !ok || n > uint32(len(b)) {
		return fmt.Errorf("raw packet header of %d bytes in a %d-byte record: %w", n, len(b), ErrLength)
	}
	f.HasHeader, f.HeaderProtocol, f.FrameLength, f.Stripped, f.Header = true, proto, frameLen, stripped, hdr
	var link packet.LinkType
	switch proto {
	case HeaderEthernet:
		link = packet.LinkEthernet
	case HeaderIPv4, HeaderIPv6:
		link = packet.LinkRawIP
	default:
		f.HeaderErr = packet.ErrNotIP
		d.stats.HeaderErrors++
		return nil
	}
	f.HeaderErr = packet.Parse(link, hdr, &f.Packet)
	if f.HeaderErr != nil && f.Packet.IPVersion == 0 {
		d.stats.HeaderErrors++
	}
	return nil
}

func sampledIP(b []byte, s *SampledIP, version uint8) error {
	want := 32
	if version == 6 {
		want = 56
	}
	if len(b) < want {
		return fmt.Errorf("sampled IPv%d record of %d bytes, want %d: %w", version, len(b), want, ErrShort)
	}
	be := binary.BigEndian
	s.Version = version
	s.Length, s.Protocol = be.Uint32(b[0:]), be.Uint32(b[4:])
	off := 8
	if version == 4 {
		s.SrcIP = packet.IPv4Layout(b[8:12])
		s.DstIP = packet.IPv4Layout(b[12:16])
		off = 16
	} else {
		copy(s.SrcIP[:], b[8:24])
		copy(s.DstIP[:], b[24:40])
		off = 40
	}
	s.SrcPort, s.DstPort = be.Uint32(b[off:]), be.Uint32(b[off+4:])
	s.TCPFlags, s.TOS = be.Uint32(b[off+8:]), be.Uint32(b[off+12:])
	return nil
}

func extSwitch(b []byte, f *FlowSample) error {
	if len(b) < 16 {
		return fmt.Errorf("extended switch record of %d bytes, want 16: %w", len(b), ErrShort)
	}
	be := binary.BigEndian
	f.HasSwitch = true
	f.SrcVLAN, f.SrcPriority = be.Uint32(b[0:]), be.Uint32(b[4:])
	f.DstVLAN, f.DstPriority = be.Uint32(b[8:]), be.Uint32(b[12:])
	return nil
}

func extRouter(b []byte, f *FlowSample) error {
	r := reader{b: b}
	nh, err := r.addr()
	if err != nil {
		return fmt.Errorf("extended router next hop: %w", err)
	}
	src, ok1 := r.u32()
	dst, ok2 := r.u32()
	if !ok1 || !ok2 {
		return fmt.Errorf("extended router masks: %w", ErrShort)
	}
	f.HasRouter, f.NextHop, f.SrcMask, f.DstMask = true, nh, src, dst
	return nil
}

func (d *Decoder) counterSample(b []byte, expanded bool) error {
	c := &d.ctr
	*c = CounterSample{Expanded: expanded}
	r := reader{b: b}
	var w [4]uint32
	n := 3 // compact: seq, source id, records
	if expanded {
		n = 4 // seq, id type, id index, records
	}
	for i := range n {
		v, ok := r.u32()
		if !ok {
			return fmt.Errorf("counter sample header: %w", ErrShort)
		}
		w[i] = v
	}
	var records uint32
	if expanded {
		c.Sequence, c.SourceIDType, c.SourceIDIndex, records = w[0], w[1], w[2], w[3]
	} else {
		c.Sequence, c.SourceIDType, c.SourceIDIndex, records = w[0], w[1]>>24, w[1]&0xffffff, w[2]
	}
	if uint64(records)*8 > uint64(len(b)-r.off) {
		return fmt.Errorf("%d counter records in %d bytes: %w", records, len(b)-r.off, ErrLength)
	}
	for i := range records {
		format, body, err := r.section("counter record")
		if err != nil {
			return fmt.Errorf("counter record %d: %w", i, err)
		}
		switch format {
		case CounterGenericIf:
			err = ifCounters(body, &c.If)
			c.HasIf = err == nil
		case CounterEthernet:
			err = ethCounters(body, &c.Ethernet)
			c.HasEthernet = err == nil
		default:
			d.stats.UnknownRecords++
			continue
		}
		if err != nil {
			return fmt.Errorf("counter record %d (format %d): %w", i, format, err)
		}
		d.stats.CounterRecords++
	}
	if r.off != len(b) {
		return fmt.Errorf("%d bytes after the last counter record: %w", len(b)-r.off, ErrLength)
	}
	return nil
}

func ifCounters(b []byte, c *IfCounters) error {
	if len(b) < 88 {
		return fmt.Errorf("generic interface counters of %d bytes, want 88: %w", len(b), ErrShort)
	}
	be := binary.BigEndian
	*c = IfCounters{
		Index: be.Uint32(b[0:]), Type: be.Uint32(b[4:]), Speed: be.Uint64(b[8:]),
		Direction: be.Uint32(b[16:]), Status: be.Uint32(b[20:]),
		InOctets: be.Uint64(b[24:]), InUcast: be.Uint32(b[32:]), InMulticast: be.Uint32(b[36:]),
		InBroadcast: be.Uint32(b[40:]), InDiscards: be.Uint32(b[44:]), InErrors: be.Uint32(b[48:]),
		InUnknownProtos: be.Uint32(b[52:]), OutOctets: be.Uint64(b[56:]), OutUcast: be.Uint32(b[64:]),
		OutMulticast: be.Uint32(b[68:]), OutBroadcast: be.Uint32(b[72:]), OutDiscards: be.Uint32(b[76:]),
		OutErrors: be.Uint32(b[80:]), Promiscuous: be.Uint32(b[84:]),
	}
	return nil
}

func ethCounters(b []byte, c *EthernetCounters) error {
	if len(b) < 52 {
		return fmt.Errorf("ethernet counters of %d bytes, want 52: %w", len(b), ErrShort)
	}
	be := binary.BigEndian
	*c = EthernetCounters{
		AlignmentErrors: be.Uint32(b[0:]), FCSErrors: be.Uint32(b[4:]), SingleCollisionFrames: be.Uint32(b[8:]),
		MultipleCollisionFrames: be.Uint32(b[12:]), SQETestErrors: be.Uint32(b[16:]), DeferredTransmissions: be.Uint32(b[20:]),
		LateCollisions: be.Uint32(b[24:]), ExcessiveCollisions: be.Uint32(b[28:]), InternalMacTransmitErrors: be.Uint32(b[32:]),
		CarrierSenseErrors: be.Uint32(b[36:]), FrameTooLongs: be.Uint32(b[40:]), InternalMacReceiveErrors: be.Uint32(b[44:]),
		SymbolErrors: be.Uint32(b[48:]),
	}
	return nil
}
