package meter

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

// EndReason says why a flow left the cache.
type EndReason uint8

// End reasons (values follow IPFIX flowEndReason where one exists).
const (
	EndInactive EndReason = 1 // idle timeout
	EndActive   EndReason = 2 // active timeout
	EndEOF      EndReason = 3 // TCP connection ended (FIN/RST then a new SYN)
	EndForced   EndReason = 4 // end of input or a plugin asked for export
	EndEvicted  EndReason = 5 // the flow's cache line was full: its last flow made room
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

	hash uint64 // of the key; the cache compares flows by it
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
		Slot: slot,
	}
	f.update(p, true)
}

// reinsert starts f as the successor of old (a plugin's FlushReinsert):
// same key, direction and MACs, counters reset, TIME_FIRST = old's
// TIME_LAST.
func (f *Flow) reinsert(old *Flow, slot int) {
	*f = Flow{
		Key: old.Key, SrcMAC: old.SrcMAC, DstMAC: old.DstMAC,
		FirstSec: old.LastSec, FirstUsec: old.LastUsec,
		Slot: slot, hash: old.hash,
	}
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
