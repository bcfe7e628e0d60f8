package nfdump

import (
	"fmt"
	"net/netip"
)

// Record types inside data blocks (1.7.1 src/lib/id.h).
const (
	recExtensionMap = 2
	recExporterInfo = 7
	recExporterStat = 8
	recSamplerV1    = 9
	recCommonV1     = 10
	recV3           = 11
	recSampler      = 15
	recIdent        = 0x8001
	recStat         = 0x8002
)

// V3 element IDs (1.7.1 src/lib/nfxV3.h).
const (
	elGeneric      = 1
	elIPv4         = 2
	elIPv6         = 3
	elMisc         = 4
	elCnt          = 5
	elVlan         = 6
	elAS           = 7
	elBgpNextHop4  = 8
	elBgpNextHop6  = 9
	elNextHop4     = 10
	elNextHop6     = 11
	elReceived4    = 12
	elReceived6    = 13
	elMPLS         = 14
	elMAC          = 15
	elASAdjacent   = 16
	elSamplerInfo  = 18
	v3HeaderSize   = 12
	elemHeaderSize = 4
)

// minimal payload sizes of the elements the decoder reads.
var elemMin = [...]int{
	elGeneric: 48, elIPv4: 8, elIPv6: 32, elMisc: 14, elCnt: 24, elVlan: 8, elAS: 8,
	elBgpNextHop4: 4, elBgpNextHop6: 16, elNextHop4: 4, elNextHop6: 16,
	elReceived4: 4, elReceived6: 16, elMPLS: 40, elMAC: 32, elASAdjacent: 8, elSamplerInfo: 12,
}

// decodeV3 decodes a V3 record (type 11); b is the whole record. On error
// the returned offset is relative to the record start.
//
// The Record is not zeroed as a whole (it is large, and consecutive records
// usually carry the same elements): every element decoder writes all of
// its fields, and afterwards the fields of elements the previous record had
// and this one lacks are cleared (clearStale). A Record last filled by
// decodeV1 has no element bits and is zeroed first.
func decodeV3(b []byte, r *Record) (int, error) {
	prev := r.Elements
	if r.v1 {
		r.reset()
		prev = 0
	}
	r.Elements = 0
	if len(b) < v3HeaderSize {
		r.clearStale(prev)
		return 0, errV3Short(len(b))
	}
	h := (*[v3HeaderSize]byte)(b)
	n := int(le16(h[4:6]))
	r.setV3Header(h)
	off := v3HeaderSize
	var seen uint64
	for i := 0; i < n; i++ {
		if len(b)-off < elemHeaderSize {
			r.Elements = seen
			return off, errElemHeader(i, n, len(b))
		}
		eh := (*[elemHeaderSize]byte)(b[off:])
		id := int(eh[0]) | int(eh[1])<<8
		l := int(eh[2]) | int(eh[3])<<8
		if l < elemHeaderSize || l > len(b)-off {
			r.Elements = seen
			return off, errElemLength(i, id, l, len(b))
		}
		p := b[off+elemHeaderSize : off+l]
		if id < len(elemMin) {
			if len(p) < elemMin[id] {
				r.Elements = seen
				return off, errElemShort(id, len(p))
			}
			seen |= 1 << uint(id)
			decodeElement(id, p, r)
		} else if id < 64 {
			seen |= 1 << uint(id)
		}
		// Every other element (NSEL/NEL, latency, payload, names, ...) is
		// skipped by its stored length.
		off += l
	}
	r.Elements = seen
	r.clearStale(prev)
	return 0, nil
}

// The errors of decodeV3 are built out of line, keeping its loop small.

//go:noinline
func errV3Short(n int) error {
	return fmt.Errorf("%w: V3 record of %d bytes shorter than its %d-byte header", ErrFormat, n, v3HeaderSize)
}

//go:noinline
func errElemHeader(i, n, size int) error {
	return fmt.Errorf("%w: element %d of %d: header past record end (record size %d)", ErrFormat, i, n, size)
}

//go:noinline
func errElemLength(i, id, l, size int) error {
	return fmt.Errorf("%w: element %d (id %d): length %d invalid for record size %d", ErrFormat, i, id, l, size)
}

//go:noinline
func errElemShort(id, n int) error {
	return fmt.Errorf("%w: element id %d: payload %d bytes, need %d", ErrFormat, id, n, elemMin[id])
}

// Field groups that two elements fill alternatively (IPv4 or IPv6 form).
const (
	grpAddr     = 1<<elIPv4 | 1<<elIPv6
	grpBgpNH    = 1<<elBgpNextHop4 | 1<<elBgpNextHop6
	grpNextHop  = 1<<elNextHop4 | 1<<elNextHop6
	grpReceived = 1<<elReceived4 | 1<<elReceived6
)

// clearStale zeroes the fields of the elements in prev (the previous
// record's) that the current record (r.Elements) does not have.
func (r *Record) clearStale(prev uint64) {
	cur := r.Elements
	stale := prev &^ cur
	if stale == 0 {
		return
	}
	var none netip.Addr
	if stale&(1<<elGeneric) != 0 {
		r.FirstMs, r.LastMs, r.ReceivedMs, r.Packets, r.Bytes = 0, 0, 0, 0, 0
		r.SrcPort, r.DstPort, r.Proto, r.TCPFlags, r.FwdStatus, r.SrcTos = 0, 0, 0, 0, 0, 0
	}
	if stale&grpAddr != 0 && cur&grpAddr == 0 {
		r.SrcIP, r.DstIP = none, none
	}
	if stale&(1<<elMisc) != 0 {
		r.Input, r.Output = 0, 0
		r.SrcMask, r.DstMask, r.Direction, r.DstTos, r.BiFlowDir, r.EndReason, r.RevTCPFlags = 0, 0, 0, 0, 0, 0, 0
	}
	if stale&(1<<elCnt) != 0 {
		r.OutPackets, r.OutBytes = 0, 0 // Flows is set by every record header
	}
	if stale&(1<<elVlan) != 0 {
		r.SrcVlan, r.DstVlan = 0, 0
	}
	if stale&(1<<elAS) != 0 {
		r.SrcAS, r.DstAS = 0, 0
	}
	if stale&grpBgpNH != 0 && cur&grpBgpNH == 0 {
		r.BgpNextHop = none
	}
	if stale&grpNextHop != 0 && cur&grpNextHop == 0 {
		r.NextHop = none
	}
	if stale&grpReceived != 0 && cur&grpReceived == 0 {
		r.RouterIP = none
	}
	if stale&(1<<elMPLS) != 0 {
		r.MPLS = [10]uint32{}
	}
	if stale&(1<<elMAC) != 0 {
		r.InSrcMAC, r.OutDstMAC, r.InDstMAC, r.OutSrcMAC = [6]byte{}, [6]byte{}, [6]byte{}, [6]byte{}
	}
	if stale&(1<<elASAdjacent) != 0 {
		r.NextAS, r.PrevAS = 0, 0
	}
	if stale&(1<<elSamplerInfo) != 0 {
		r.SamplerID, r.SamplerInterval = 0, 0
	}
}

func decodeElement(id int, p []byte, r *Record) {
	switch id {
	case elGeneric:
		r.setGeneric((*[48]byte)(p)) // length checked against elemMin
	case elIPv4:
		r.setIPv4((*[8]byte)(p))
	case elIPv6:
		r.SrcIP = ip6(p)
		r.DstIP = ip6(p[16:])
	case elMisc:
		r.setMisc(p)
	case elCnt:
		r.Flows = le64(p)
		r.OutPackets = le64(p[8:])
		r.OutBytes = le64(p[16:])
	case elVlan:
		r.SrcVlan = le32(p)
		r.DstVlan = le32(p[4:])
	case elAS:
		r.setAS((*[8]byte)(p))
	case elBgpNextHop4:
		r.BgpNextHop = ip4(p)
	case elBgpNextHop6:
		r.BgpNextHop = ip6(p)
	case elNextHop4:
		r.NextHop = ip4(p)
	case elNextHop6:
		r.NextHop = ip6(p)
	case elReceived4:
		r.RouterIP = ip4(p)
	case elReceived6:
		r.RouterIP = ip6(p)
	case elMPLS:
		for i := range r.MPLS {
			r.MPLS[i] = le32(p[4*i:])
		}
	case elMAC:
		r.InSrcMAC = mac(p)
		r.OutDstMAC = mac(p[8:])
		r.InDstMAC = mac(p[16:])
		r.OutSrcMAC = mac(p[24:])
	case elASAdjacent:
		r.NextAS = le32(p)
		r.PrevAS = le32(p[4:])
	case elSamplerInfo:
		if len(p) >= 16 {
			// nfdump ≥ 1.7.8: u64 selector id, u16 sysid, u16 align (+4 pad).
			r.SamplerID = int64(le64(p))
			r.SamplerInterval = 0
		} else {
			// 1.7.1: i32 id, u32 interval, u16 mode, u16 sysid.
			r.SamplerID = int64(int32(le32(p)))
			r.SamplerInterval = le32(p[4:])
		}
	}
	// Every other element (NSEL/NEL, latency, payload, names, ...) is
	// skipped by its stored length.
}

// The decoders of the record header and of the elements nfcapd writes for
// every flow, shared by decodeV3 and the shape cache's fill.

// setV3Header reads what the V3 record header says; Flows is 1 unless a
// counter element follows.
func (r *Record) setV3Header(h *[v3HeaderSize]byte) {
	r.EngineType = h[6]
	r.EngineID = h[7]
	r.ExporterID = le16(h[8:10])
	r.Flags = h[10]
	r.NfVersion = h[11]
	r.Flows = 1
}

func (r *Record) setGeneric(g *[48]byte) {
	r.FirstMs = int64(le64(g[0:8]))
	r.LastMs = int64(le64(g[8:16]))
	r.ReceivedMs = int64(le64(g[16:24]))
	r.Packets = le64(g[24:32])
	r.Bytes = le64(g[32:40])
	r.SrcPort = le16(g[40:42])
	r.DstPort = le16(g[42:44])
	r.Proto = g[44]
	r.TCPFlags = g[45]
	r.FwdStatus = g[46]
	r.SrcTos = g[47]
}

func (r *Record) setIPv4(a *[8]byte) {
	r.SrcIP = ip4(a[0:4])
	r.DstIP = ip4(a[4:8])
}

// setMisc reads the misc element; p has at least 14 bytes, a 15th is the
// reverse TCP flags of a biflow.
func (r *Record) setMisc(p []byte) {
	m := (*[14]byte)(p)
	r.Input = le32(m[0:4])
	r.Output = le32(m[4:8])
	r.SrcMask = m[8]
	r.DstMask = m[9]
	r.Direction = m[10]
	r.DstTos = m[11]
	r.BiFlowDir = m[12]
	r.EndReason = m[13]
	r.RevTCPFlags = 0
	if len(p) > 14 {
		r.RevTCPFlags = p[14]
	}
}

func (r *Record) setAS(a *[8]byte) {
	r.SrcAS = le32(a[0:4])
	r.DstAS = le32(a[4:8])
}
