package nfdump

import (
	"encoding/binary"
	"net/netip"
)

// Record flag bits (V3 header flags; 1.6 records are translated to these).
const (
	FlagEvent      = 0x01 // NSEL/NEL event record
	FlagSampled    = 0x02 // counters were already scaled by the sampling rate
	FlagAnonymised = 0x04
)

// Record is one decoded flow, flat. The Iterator reuses a single Record, so
// its contents are only valid until the next call to Next. Absent fields are
// zero (addresses are the zero netip.Addr when the record has none).
type Record struct {
	FirstMs, LastMs, ReceivedMs int64 // Unix milliseconds; 0 if unknown

	SrcIP, DstIP        netip.Addr
	NextHop, BgpNextHop netip.Addr
	RouterIP            netip.Addr // exporter address stored in the record (element 12/13)

	SrcPort, DstPort uint16 // ICMP: SrcPort 0, DstPort = type<<8 | code
	Proto, TCPFlags  uint8
	SrcTos, DstTos   uint8
	FwdStatus        uint8
	SrcMask, DstMask uint8
	Direction        uint8 // 0 ingress, 1 egress
	BiFlowDir        uint8
	EndReason        uint8
	RevTCPFlags      uint8

	Packets, Bytes       uint64 // already scaled when Flags&FlagSampled != 0
	OutPackets, OutBytes uint64 // biflow reverse direction
	Flows                uint64 // aggregated flows; 1 when the record does not say

	Input, Output       uint32
	SrcAS, DstAS        uint32
	NextAS, PrevAS      uint32
	SrcVlan, DstVlan    uint32
	InSrcMAC, OutDstMAC [6]byte
	InDstMAC, OutSrcMAC [6]byte
	MPLS                [10]uint32 // raw label stack entries: label<<4 | exp<<1 | bottom

	EngineType, EngineID uint8
	ExporterID           uint16 // exporter sysid; see Iterator.Exporter
	Flags                uint8  // FlagEvent, FlagSampled, FlagAnonymised
	NfVersion            uint8  // 5, 9, 10 (IPFIX); 0x40|n for nfpcapd; 0 unknown

	// Sampler information element (V3 element 18), when present.
	SamplerID       int64
	SamplerInterval uint32

	// Elements has bit n set when V3 element n was present (LayoutV2 only).
	Elements uint64

	v1 bool // filled by decodeV1: fields are not tracked by Elements
}

// Sampled reports whether the counters were scaled by a sampling rate.
func (r *Record) Sampled() bool { return r.Flags&FlagSampled != 0 }

// IsICMP reports whether the protocol is ICMP or ICMPv6.
func (r *Record) IsICMP() bool { return r.Proto == 1 || r.Proto == 58 }

// ICMPType returns the ICMP type of an ICMP/ICMPv6 flow (0 otherwise).
func (r *Record) ICMPType() uint8 {
	if !r.IsICMP() {
		return 0
	}
	return uint8(r.DstPort >> 8)
}

// ICMPCode returns the ICMP code of an ICMP/ICMPv6 flow (0 otherwise).
func (r *Record) ICMPCode() uint8 {
	if !r.IsICMP() {
		return 0
	}
	return uint8(r.DstPort)
}

// Has reports whether V3 element id was present in the record.
func (r *Record) Has(id int) bool { return id >= 0 && id < 64 && r.Elements&(1<<uint(id)) != 0 }

func (r *Record) reset() { *r = Record{} }

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// ip4 decodes a host-order u32 IPv4 address.
func ip4(b []byte) netip.Addr {
	v := le32(b)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ip6 decodes an IPv6 address stored as two host-order u64 halves.
func ip6(b []byte) netip.Addr {
	var a [16]byte
	binary.BigEndian.PutUint64(a[:8], le64(b))
	binary.BigEndian.PutUint64(a[8:], le64(b[8:]))
	return netip.AddrFrom16(a)
}

// mac decodes a MAC address held in the low 48 bits of a host-order u64.
func mac(b []byte) [6]byte {
	v := le64(b)
	return [6]byte{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}
