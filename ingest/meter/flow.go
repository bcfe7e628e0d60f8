package meter

import "bytes"

// FlowKey identifies a biflow. Its direction is that of the flow's first
// packet; the reverse key finds the same flow. VLAN ID and IP version are
// part of the key like in ipfixprobe (vlan.pcap has one 5-tuple on three
// VLANs, exported as three flows).
type FlowKey struct {
	SrcIP, DstIP     [16]byte
	SrcPort, DstPort uint16
	VLANID           uint16
	Proto            uint8
	IPVersion        uint8
}

// canonical orders the endpoints (lower address/port first) so that both
// directions of a biflow map to one index entry: one hash lookup per packet.
func (k FlowKey) canonical() FlowKey {
	c := bytes.Compare(k.SrcIP[:], k.DstIP[:])
	if c > 0 || (c == 0 && k.SrcPort > k.DstPort) {
		k.SrcIP, k.DstIP = k.DstIP, k.SrcIP
		k.SrcPort, k.DstPort = k.DstPort, k.SrcPort
	}
	return k
}

// EndReason says why a flow left the cache.
type EndReason uint8

// End reasons (values follow IPFIX flowEndReason where one exists).
const (
	EndInactive EndReason = 1 // idle timeout
	EndActive   EndReason = 2 // active timeout
	EndEOF      EndReason = 3 // TCP connection ended (FIN/RST then a new SYN)
	EndForced   EndReason = 4 // end of input or a plugin asked for export
	EndEvicted  EndReason = 5 // cache full: the least recently used flow made room
)

// Flow is one biflow record in the cache. Counters without the Rev suffix
// are for packets in the key's direction.
type Flow struct {
	Key            FlowKey
	SrcMAC, DstMAC [6]byte // from the first packet

	FirstSec, FirstUsec uint32
	LastSec, LastUsec   uint32

	Packets, PacketsRev   uint32
	Bytes, BytesRev       uint64
	TCPFlags, TCPFlagsRev uint8

	End EndReason
	// Slot is the flow's index in the cache; plugins keep per-flow state in
	// slot-indexed tables so that the cache never allocates per flow.
	Slot int

	prev, next int32 // LRU list, most recently used at the head
}

func (f *Flow) create(p *Packet, slot int) {
	*f = Flow{
		Key: FlowKey{
			SrcIP: p.SrcIP, DstIP: p.DstIP,
			SrcPort: p.SrcPort, DstPort: p.DstPort,
			VLANID: p.VLANID, Proto: p.Proto, IPVersion: p.IPVersion,
		},
		SrcMAC: p.SrcMAC, DstMAC: p.DstMAC,
		FirstSec: p.TsSec, FirstUsec: p.TsUsec,
		Slot: slot, prev: -1, next: -1,
	}
	f.update(p, true)
}

func (f *Flow) update(p *Packet, fwd bool) {
	f.LastSec, f.LastUsec = p.TsSec, p.TsUsec
	if fwd {
		f.Packets++
		f.Bytes += uint64(p.IPLen)
		f.TCPFlags |= p.TCPFlags
	} else {
		f.PacketsRev++
		f.BytesRev += uint64(p.IPLen)
		f.TCPFlagsRev |= p.TCPFlags
	}
}
