package meter

import "github.com/flowgate/flowgate/packet"

// The frame parser lives in the leaf package packet, shared with the sFlow
// decoder (collector/sflow); these names keep the meter's API and code as
// they were.

// Packet is one parsed frame (see packet.Packet).
type Packet = packet.Packet

// LinkType identifies the frame format a PacketSource delivers.
type LinkType = packet.LinkType

// Link types the parser understands.
const (
	LinkUnknown  = packet.LinkUnknown
	LinkEthernet = packet.LinkEthernet // LINKTYPE_ETHERNET (1)
	LinkRawIP    = packet.LinkRawIP    // LINKTYPE_RAW (101, 12), LINKTYPE_IPV4/IPV6 (228/229)
	LinkLinuxSLL = packet.LinkLinuxSLL // LINKTYPE_LINUX_SLL (113)
)

// Parse errors, counted by the meter and the packet skipped.
var (
	ErrTruncated = packet.ErrTruncated
	ErrBadLength = packet.ErrBadLength
	ErrNotIP     = packet.ErrNotIP
)

// Ethertypes and protocol numbers the meter and its plugins use.
const (
	etherIPv4 = packet.EtherIPv4
	etherIPv6 = packet.EtherIPv6
	etherVLAN = packet.EtherVLAN

	protoICMP   = packet.ProtoICMP
	protoTCP    = packet.ProtoTCP
	protoUDP    = packet.ProtoUDP
	protoICMPv6 = packet.ProtoICMPv6
)

// Parse decodes a frame of the given link type into p (see packet.Parse).
func Parse(link LinkType, data []byte, p *Packet) error { return packet.Parse(link, data, p) }

func ipv4Layout(a []byte) [16]byte { return packet.IPv4Layout(a) }
