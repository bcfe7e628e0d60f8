package converters

import (
	"encoding/binary"
	"fmt"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/packet"
	"github.com/flowgate/flowgate/unirec"
)

// SflowTemplate is the default UniRec template of sFlow flow records: the
// basic flow plus what an sFlow flow sample adds (interfaces, VLANs, MACs,
// router data, the agent and the sampling rate). The names are the ones the
// nfdump mapping (NfdumpRichTemplate) and ipfixcol2's table use.
const SflowTemplate = BasicFlowTemplate +
	",uint32 INPUT_INTERFACE,uint32 OUTPUT_INTERFACE,uint16 SRC_VLAN,uint16 DST_VLAN" +
	",macaddr SRC_MAC,macaddr DST_MAC,ipaddr NEXT_HOP,uint8 SRC_MASK,uint8 DST_MASK" +
	",ipaddr EXPORTER_IP,uint32 ODID,uint32 SAMPLING_INTERVAL"

// sfOp names the sFlow value one UniRec field takes.
type sfOp uint8

const (
	sfSrcIP sfOp = iota
	sfDstIP
	sfSrcPort
	sfDstPort
	sfProto
	sfTCPFlags
	sfTOS
	sfTTL
	sfBytes
	sfPackets
	sfTimeFirst
	sfTimeLast
	sfSrcMAC
	sfDstMAC
	sfSrcVLAN
	sfDstVLAN
	sfInput
	sfOutput
	sfSrcMask
	sfDstMask
	sfNextHop
	sfSampling
	sfExporter
	sfODID
)

// sfValue is one value an sFlow flow sample provides: the IPFIX elements
// that carry the same value (looked up in the element table, so a custom
// table renames sFlow fields as it renames IPFIX ones) and, for values the
// ipfixcol2 table has no entry for, the UniRec name used by the nfdump
// mapping.
type sfValue struct {
	op   sfOp
	kind unirec.Type // IPAddr, MACAddr, TimeT, or Uint64 for any integer width
	ies  []IE
	name string
}

var sfValues = []sfValue{
	{sfSrcIP, unirec.IPAddr, []IE{{0, 8}, {0, 27}}, ""},
	{sfDstIP, unirec.IPAddr, []IE{{0, 12}, {0, 28}}, ""},
	{sfSrcPort, unirec.Uint64, []IE{{0, 7}}, ""},
	{sfDstPort, unirec.Uint64, []IE{{0, 11}}, ""},
	{sfProto, unirec.Uint64, []IE{{0, 4}}, ""},
	{sfTCPFlags, unirec.Uint64, []IE{{0, 6}}, ""},
	{sfTOS, unirec.Uint64, []IE{{0, 5}}, ""},
	{sfTTL, unirec.Uint64, []IE{{0, 192}}, ""},
	{sfBytes, unirec.Uint64, []IE{{0, 1}}, ""},
	{sfPackets, unirec.Uint64, []IE{{0, 2}}, ""},
	{sfTimeFirst, unirec.TimeT, []IE{{0, 152}}, ""},
	{sfTimeLast, unirec.TimeT, []IE{{0, 153}}, ""},
	{sfSrcMAC, unirec.MACAddr, []IE{{0, 56}}, ""},
	{sfDstMAC, unirec.MACAddr, []IE{{0, 80}}, ""},
	{sfSrcVLAN, unirec.Uint64, nil, "SRC_VLAN"},
	{sfDstVLAN, unirec.Uint64, nil, "DST_VLAN"},
	{sfInput, unirec.Uint64, nil, "INPUT_INTERFACE"},
	{sfOutput, unirec.Uint64, nil, "OUTPUT_INTERFACE"},
	{sfSrcMask, unirec.Uint64, nil, "SRC_MASK"},
	{sfDstMask, unirec.Uint64, nil, "DST_MASK"},
	{sfNextHop, unirec.IPAddr, nil, "NEXT_HOP"},
	{sfSampling, unirec.Uint64, nil, "SAMPLING_INTERVAL"},
}

type boundSfField struct {
	op   sfOp
	off  int
	size int // integer width in bytes
}

// SflowConverter fills records of one UniRec template from sFlow flow
// samples: one record per sample, that is per sampled packet. It is
// compiled once per template; Convert allocates nothing.
//
// Values: addresses, ports, protocol, TCP flags, TOS, TTL, MACs and the
// 802.1Q VLAN come from the raw packet header record, else from a sampled
// IPv4/IPv6 record. PACKETS is the sampling rate (one packet scaled up) and
// BYTES the packet's frame length times the rate (see SflowBytes).
// TIME_FIRST = TIME_LAST = the time the datagram was received, as goflow2
// and sfacctd stamp sFlow samples (a flow sample carries no time of its
// own). SRC_VLAN/DST_VLAN come from the extended switch record, SRC_VLAN
// from the 802.1Q tag without one; NEXT_HOP, SRC_MASK and DST_MASK from
// the extended router record; INPUT/OUTPUT_INTERFACE are the sample's
// interface numbers; SAMPLING_INTERVAL is the sampling rate (the field
// that says the record was sampled and its counters scaled); EXPORTER_IP
// and ODID (ipfixcol2's internal fields) are the agent address and the
// sub-agent id.
type SflowConverter struct {
	t         *unirec.Template
	fields    []boundSfField
	unmapped  []string
	staticLen int
}

// NewSflowConverter prepares the conversion into template t; table is the
// element table (nil: DefaultTable). Fields no sFlow value fills stay zero
// (Unmapped); a mapped field of an unsuitable type is an error naming it.
func NewSflowConverter(t *unirec.Template, table *Table) (*SflowConverter, error) {
	if table == nil {
		table = DefaultTable()
	}
	c := &SflowConverter{t: t, staticLen: t.StaticSize()}
	bound := map[string]bool{}
	bind := func(name string, v sfValue) error {
		id, ok := t.Lookup(name)
		if !ok || bound[name] {
			return nil
		}
		f := t.Field(id)
		ok = f.Type == v.kind
		size := 0
		if v.kind == unirec.Uint64 {
			switch f.Type {
			case unirec.Uint8, unirec.Int8, unirec.Uint16, unirec.Int16, unirec.Uint32, unirec.Int32, unirec.Uint64, unirec.Int64:
				ok, size = true, f.Type.Size()
			}
		}
		if !ok {
			return fmt.Errorf("converters: sflow: field %s is %v in the template, sFlow fills it as %v", name, f.Type, v.kind)
		}
		bound[name] = true
		c.fields = append(c.fields, boundSfField{op: v.op, off: f.Offset, size: size})
		return nil
	}
	for _, v := range sfValues {
		for _, ie := range v.ies {
			for _, tg := range table.Lookup(ie.PEN, ie.ID) {
				if err := bind(tg.Name, v); err != nil {
					return nil, err
				}
			}
		}
		if v.name != "" {
			if err := bind(v.name, v); err != nil {
				return nil, err
			}
		}
	}
	if f, ok := table.Internal(InternalExporterIP); ok {
		if err := bind(f.Name, sfValue{op: sfExporter, kind: unirec.IPAddr}); err != nil {
			return nil, err
		}
	}
	if f, ok := table.Internal(InternalODID); ok {
		if err := bind(f.Name, sfValue{op: sfODID, kind: unirec.Uint64}); err != nil {
			return nil, err
		}
	}
	for _, f := range t.Fields() {
		if !bound[f.Name] {
			c.unmapped = append(c.unmapped, f.Name)
		}
	}
	return c, nil
}

// Template returns the output template.
func (c *SflowConverter) Template() *unirec.Template { return c.t }

// Unmapped lists the template fields the converter leaves zero.
func (c *SflowConverter) Unmapped() []string { return c.unmapped }

// SflowRate is the sampling rate a sample's counters are scaled by: the
// announced rate, or 1 when the agent sent 0.
func SflowRate(s *sflow.FlowSample) uint64 { return max(uint64(s.SamplingRate), 1) }

// SflowBytes is the byte count of one sampled packet before scaling: the
// raw header record's frame length (the packet's length on the wire,
// including the Ethernet header and, as the agent reports it, the FCS),
// which is what sfacctd and goflow2 count; the sampled IPv4/IPv6 record's
// length without a raw header.
func SflowBytes(s *sflow.FlowSample) uint64 {
	switch {
	case s.HasHeader:
		return uint64(s.FrameLength)
	case s.HasSampledIP:
		return uint64(s.SampledIP.Length)
	}
	return 0
}

// sfView is what a flow sample says about its packet: from the raw
// header when it parsed as IP, else from a sampled IPv4/IPv6 record.
type sfView struct {
	src, dst         *[16]byte
	srcPort, dstPort uint16
	proto, flags     uint8
	tos, ttl         uint8
}

var sfZeroIP [16]byte

func sflowView(s *sflow.FlowSample) sfView {
	p, ip := &s.Packet, &s.SampledIP
	switch {
	case s.HasHeader && p.IPVersion != 0:
		v := sfView{src: &p.SrcIP, dst: &p.DstIP, srcPort: p.SrcPort, dstPort: p.DstPort,
			proto: p.Proto, flags: p.TCPFlags, tos: p.TOS, ttl: p.TTL}
		if (p.Proto == packet.ProtoICMP || p.Proto == packet.ProtoICMPv6) && p.HasL4 {
			// type*256 + code, as NetFlow, IPFIX (icmpTypeCode) and the flow meter report it
			v.dstPort = uint16(p.ICMPType)<<8 | uint16(p.ICMPCode)
		}
		return v
	case s.HasSampledIP:
		return sfView{src: &ip.SrcIP, dst: &ip.DstIP, srcPort: uint16(ip.SrcPort), dstPort: uint16(ip.DstPort),
			proto: uint8(ip.Protocol), flags: uint8(ip.TCPFlags), tos: uint8(ip.TOS)}
	}
	return sfView{src: &sfZeroIP, dst: &sfZeroIP}
}

// Convert resets dst (a record of the converter's template) and fills it
// from flow sample s of datagram d, received at now.
func (c *SflowConverter) Convert(dst *unirec.Record, d *sflow.Datagram, s *sflow.FlowSample, now unirec.Time) {
	if len(c.unmapped) > 0 || len(dst.Data) != c.staticLen {
		*dst = dst.Reset()
	}
	data := dst.Data[:c.staticLen]
	w := sflowView(s)
	le := binary.LittleEndian
	for _, f := range c.fields {
		b := data[f.off:]
		var v uint64
		switch f.op {
		case sfSrcIP:
			copy(b[:16], w.src[:])
			continue
		case sfDstIP:
			copy(b[:16], w.dst[:])
			continue
		case sfNextHop, sfExporter:
			a := unirec.IP{}
			if f.op == sfNextHop && s.HasRouter && s.NextHop.IsValid() {
				a = unirec.IPFromAddr(s.NextHop)
			} else if f.op == sfExporter && d.Agent.IsValid() {
				a = unirec.IPFromAddr(d.Agent)
			}
			copy(b[:16], a[:])
			continue
		case sfSrcMAC, sfDstMAC:
			var m [6]byte
			if s.HasHeader && f.op == sfSrcMAC {
				m = s.Packet.SrcMAC
			} else if s.HasHeader {
				m = s.Packet.DstMAC
			}
			copy(b[:6], m[:])
			continue
		case sfTimeFirst, sfTimeLast:
			le.PutUint64(b, uint64(now))
			continue
		case sfSrcPort:
			v = uint64(w.srcPort)
		case sfDstPort:
			v = uint64(w.dstPort)
		case sfProto:
			v = uint64(w.proto)
		case sfTCPFlags:
			v = uint64(w.flags)
		case sfTOS:
			v = uint64(w.tos)
		case sfTTL:
			v = uint64(w.ttl)
		case sfBytes:
			v = SflowBytes(s) * SflowRate(s)
		case sfPackets:
			v = SflowRate(s)
		case sfSrcVLAN:
			if s.HasSwitch {
				v = uint64(s.SrcVLAN)
			} else if s.HasHeader {
				v = uint64(s.Packet.VLANID)
			}
		case sfDstVLAN:
			if s.HasSwitch {
				v = uint64(s.DstVLAN)
			}
		case sfInput:
			v = uint64(s.Input)
		case sfOutput:
			v = uint64(s.Output)
		case sfSrcMask:
			v = uint64(s.SrcMask)
		case sfDstMask:
			v = uint64(s.DstMask)
		case sfSampling:
			v = SflowRate(s)
		case sfODID:
			v = uint64(d.SubAgentID)
		}
		switch f.size {
		case 1:
			b[0] = byte(v)
		case 2:
			le.PutUint16(b, uint16(v))
		case 4:
			le.PutUint32(b, uint32(v))
		case 8:
			le.PutUint64(b, v)
		}
	}
}
