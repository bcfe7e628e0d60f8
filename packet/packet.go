// Package packet decodes captured frames (Ethernet, 802.1Q/QinQ, Linux SLL,
// raw IP; IPv4, IPv6 with extension headers; TCP, UDP, ICMP, ICMPv6) into a
// Packet, in place and without allocating. It is a leaf package: the flow
// meter (ingest/meter) parses every captured packet with it, and the sFlow
// decoder (collector/sflow) the sampled packet headers of raw-header flow
// records, so both see a header the same way.
package packet

import (
	"encoding/binary"
	"errors"
	"time"
)

// LinkType identifies the frame format handed to Parse.
type LinkType uint8

// Link types the parser understands.
const (
	LinkUnknown  LinkType = iota
	LinkEthernet          // LINKTYPE_ETHERNET (1)
	LinkRawIP             // LINKTYPE_RAW (101, 12), LINKTYPE_IPV4/IPV6 (228/229)
	LinkLinuxSLL          // LINKTYPE_LINUX_SLL (113)
)

// Packet is one parsed frame. Parse fills it in place and never allocates;
// Payload points into the frame buffer and is valid only while that buffer
// is (until the source's next ReadPacket).
type Packet struct {
	TsSec  uint32 // capture time, seconds since the Unix epoch
	TsUsec uint32 // microseconds (ipfixprobe keeps struct timeval precision)

	DstMAC, SrcMAC [6]byte
	VLANID         uint16 // 0 when untagged; the innermost 802.1Q tag otherwise

	IPVersion uint8 // 4 or 6
	// SrcIP and DstIP use the UniRec ipaddr layout: IPv6 raw; IPv4 as
	// 8 zero bytes, the 4 address bytes, then ff ff ff ff.
	SrcIP, DstIP [16]byte
	IPLen        uint32 // IP-layer bytes from the header (what BYTES counts)
	TOS, TTL     uint8
	Proto        uint8 // L4 protocol after IPv6 extension headers

	SrcPort, DstPort uint16 // 0 for protocols without ports
	TCPFlags         uint8
	ICMPType         uint8 // ICMP / ICMPv6 type and code when Proto is 1 or 58
	ICMPCode         uint8
	HasL4            bool // the L4 header was present and parsed
	// Fragmentation: FragID is the IPv4 identification or the IPv6
	// fragment header's; FragFirst marks a first fragment (offset 0, more
	// fragments follow), FragLater a fragment with a non-zero offset (its
	// ports come from the fragment cache, see Meter).
	FragID               uint32
	FragFirst, FragLater bool
	Payload              []byte // L4 payload as captured (bounded by the IP length)
}

// Parse errors; the flow meter counts them and skips the packet.
var (
	ErrTruncated = errors.New("truncated packet")
	ErrBadLength = errors.New("bad header length")
	ErrNotIP     = errors.New("not an IP packet")
)

// Ethertypes and protocol numbers the parser follows.
const (
	EtherIPv4   = 0x0800
	EtherIPv6   = 0x86dd
	EtherVLAN   = 0x8100
	EtherQinQ   = 0x88a8
	EtherQinQ91 = 0x9100

	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// SetTime stores a capture timestamp truncated to microseconds.
func (p *Packet) SetTime(ts time.Time) {
	p.TsSec = uint32(ts.Unix())
	p.TsUsec = uint32(ts.Nanosecond() / 1000)
}

// Parse decodes a frame of the given link type into p. It returns
// ErrNotIP for frames that carry no IPv4/IPv6 (ARP, LLDP, ...), and
// ErrTruncated/ErrBadLength for damaged packets. Timestamps are left as they
// were (see SetTime).
func Parse(link LinkType, data []byte, p *Packet) error {
	ts, tu := p.TsSec, p.TsUsec
	*p = Packet{TsSec: ts, TsUsec: tu}
	switch link {
	case LinkEthernet:
		return parseEthernet(data, p)
	case LinkLinuxSLL:
		if len(data) < 16 {
			return ErrTruncated
		}
		if binary.BigEndian.Uint16(data[4:6]) == 6 {
			copy(p.SrcMAC[:], data[6:12])
		}
		return parseEtherType(binary.BigEndian.Uint16(data[14:16]), data[16:], p)
	case LinkRawIP:
		if len(data) < 1 {
			return ErrTruncated
		}
		switch data[0] >> 4 {
		case 4:
			return parseIPv4(data, p)
		case 6:
			return parseIPv6(data, p)
		}
		return ErrNotIP
	}
	return ErrNotIP
}

func parseEthernet(data []byte, p *Packet) error {
	if len(data) < 14 {
		return ErrTruncated
	}
	copy(p.DstMAC[:], data[0:6])
	copy(p.SrcMAC[:], data[6:12])
	return parseEtherType(binary.BigEndian.Uint16(data[12:14]), data[14:], p)
}

// parseEtherType walks VLAN tags and dispatches to the IP parsers.
// ipfixprobe overwrites its vlan_id for every tag it skips, so with QinQ the
// innermost (customer) tag is the one reported; we do the same.
func parseEtherType(et uint16, data []byte, p *Packet) error {
	for et == EtherVLAN || et == EtherQinQ || et == EtherQinQ91 {
		if len(data) < 4 {
			return ErrTruncated
		}
		p.VLANID = binary.BigEndian.Uint16(data[0:2]) & 0x0fff
		et = binary.BigEndian.Uint16(data[2:4])
		data = data[4:]
	}
	switch et {
	case EtherIPv4:
		return parseIPv4(data, p)
	case EtherIPv6:
		return parseIPv6(data, p)
	}
	return ErrNotIP
}

func parseIPv4(data []byte, p *Packet) error {
	if len(data) < 20 {
		return ErrTruncated
	}
	if data[0]>>4 != 4 {
		return ErrBadLength
	}
	ihl := int(data[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if ihl < 20 || total < ihl {
		return ErrBadLength
	}
	if len(data) < ihl {
		return ErrTruncated
	}
	p.IPVersion = 4
	p.TOS = data[1]
	p.TTL = data[8]
	p.Proto = data[9]
	p.IPLen = uint32(total)
	p.SrcIP = IPv4Layout(data[12:16])
	p.DstIP = IPv4Layout(data[16:20])
	if len(data) > total {
		data = data[:total] // Ethernet padding
	}
	frag := binary.BigEndian.Uint16(data[6:8])
	p.FragID = uint32(binary.BigEndian.Uint16(data[4:6]))
	if frag&0x1fff != 0 {
		// Non-first fragment: no L4 header; ports from the fragment cache.
		p.FragLater = true
		p.Payload = data[ihl:]
		return nil
	}
	p.FragFirst = frag&0x2000 != 0
	return parseL4(data[ihl:], p)
}

// IPv4Layout returns an IPv4 address (4 bytes) in the UniRec ipaddr layout.
func IPv4Layout(a []byte) (ip [16]byte) {
	copy(ip[8:12], a)
	ip[12], ip[13], ip[14], ip[15] = 0xff, 0xff, 0xff, 0xff
	return ip
}

func parseIPv6(data []byte, p *Packet) error {
	if len(data) < 40 {
		return ErrTruncated
	}
	if data[0]>>4 != 6 {
		return ErrBadLength
	}
	p.IPVersion = 6
	p.TOS = byte(binary.BigEndian.Uint16(data[0:2]) >> 4)
	p.TTL = data[7]
	copy(p.SrcIP[:], data[8:24])
	copy(p.DstIP[:], data[24:40])
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	if plen == 0 { // jumbogram or zero payload: count what was captured
		plen = len(data) - 40
	}
	p.IPLen = uint32(40 + plen)
	if len(data) > 40+plen {
		data = data[:40+plen]
	}
	next := data[6]
	rest := data[40:]
	for {
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, dst opts, mobility, HIP, shim6
			if len(rest) < 8 {
				return ErrTruncated
			}
			n := (int(rest[1]) + 1) * 8
			if len(rest) < n {
				return ErrTruncated
			}
			next, rest = rest[0], rest[n:]
		case 44: // fragment
			if len(rest) < 8 {
				return ErrTruncated
			}
			frag := binary.BigEndian.Uint16(rest[2:4])
			p.FragID = binary.BigEndian.Uint32(rest[4:8])
			next, rest = rest[0], rest[8:]
			if frag&^7 != 0 {
				p.FragLater = true
				p.Proto = next
				p.Payload = rest
				return nil
			}
			p.FragFirst = frag&1 != 0
		case 51: // AH: length in 4-byte units minus 2
			if len(rest) < 8 {
				return ErrTruncated
			}
			n := (int(rest[1]) + 2) * 4
			if len(rest) < n {
				return ErrTruncated
			}
			next, rest = rest[0], rest[n:]
		default:
			p.Proto = next
			return parseL4(rest, p)
		}
	}
}

func parseL4(data []byte, p *Packet) error {
	switch p.Proto {
	case ProtoTCP:
		if len(data) < 20 {
			return ErrTruncated
		}
		off := int(data[12]>>4) * 4
		if off < 20 {
			return ErrBadLength
		}
		p.SrcPort = binary.BigEndian.Uint16(data[0:2])
		p.DstPort = binary.BigEndian.Uint16(data[2:4])
		p.TCPFlags = data[13]
		p.HasL4 = true
		if len(data) < off {
			return ErrTruncated
		}
		p.Payload = data[off:]
	case ProtoUDP:
		if len(data) < 8 {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(data[0:2])
		p.DstPort = binary.BigEndian.Uint16(data[2:4])
		p.HasL4 = true
		// As in ipfixprobe, the payload runs to the IP length (the UDP
		// length field is not consulted).
		p.Payload = data[8:]
	case ProtoICMP, ProtoICMPv6:
		if len(data) < 4 {
			return ErrTruncated
		}
		p.ICMPType, p.ICMPCode = data[0], data[1]
		p.HasL4 = true
		// ipfixprobe's payload starts after the 8-byte ICMP header.
		p.Payload = data[min(8, len(data)):]
	default:
		p.Payload = data
	}
	return nil
}
