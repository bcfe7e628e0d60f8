package nfdump

import (
	"fmt"
)

// 1.6 common record flags (1.7.1 src/lib/nfx.h).
const (
	v1FlagIPv6Addr = 0x01
	v1FlagPkts64   = 0x02
	v1FlagBytes64  = 0x04
	v1FlagIPv6NH   = 0x08
	v1FlagIPv6NHB  = 0x10
	v1FlagIPv6Exp  = 0x20
	v1FlagEvent    = 0x40
	v1FlagSampled  = 0x80
	commonV1Size   = 32
	maxExtensionV1 = 49
)

// extSizeV1 is the payload size of each optional 1.6 extension; -1 marks
// IDs that never appear in a map (unknown or required).
var extSizeV1 = func() [maxExtensionV1]int {
	var s [maxExtensionV1]int
	for i := range s {
		s[i] = -1
	}
	for id, n := range map[int]int{
		4: 4, 5: 8, 6: 4, 7: 8, 8: 4, 9: 4, 10: 16, 11: 4, 12: 16, 13: 4,
		14: 4, 15: 8, 16: 4, 17: 8, 18: 4, 19: 8, 20: 16, 21: 16, 22: 40,
		23: 4, 24: 16, 25: 4, 26: 8, 27: 8,
		28: 0, 29: 0, 30: 0, 31: 0, 32: 0, 33: 0, 34: 0, 35: 0, 36: 0,
		37: 20, 38: 4, 39: 8, 40: 32, 41: 24, 42: 24, 43: 72, 45: 24, 46: 12, 48: 8,
	} {
		s[id] = n
	}
	return s
}()

// extMap is a parsed 1.6 extension map.
type extMap struct {
	ids  []uint16
	size int // sum of payload sizes
}

// parseExtMap parses a type-2 record; b is the whole record.
func parseExtMap(b []byte, maps map[uint16]*extMap) error {
	if len(b) < 8 {
		return fmt.Errorf("%w: extension map of %d bytes too short", ErrFormat, len(b))
	}
	id := le16(b[4:])
	m := maps[id]
	if m == nil {
		m = &extMap{}
		maps[id] = m
	}
	m.ids = m.ids[:0]
	m.size = 0
	for off := 8; off+2 <= len(b); off += 2 {
		e := le16(b[off:])
		if e == 0 {
			break
		}
		if int(e) >= maxExtensionV1 || extSizeV1[e] < 0 {
			delete(maps, id)
			return fmt.Errorf("%w: extension map %d: unknown extension id %d", ErrFormat, id, e)
		}
		m.ids = append(m.ids, e)
		m.size += extSizeV1[e]
	}
	return nil
}

// decodeV1 decodes a 1.6 common record (type 10); b is the whole record.
func decodeV1(b []byte, maps map[uint16]*extMap, r *Record) (int, error) {
	r.reset()
	r.v1 = true
	if len(b) < commonV1Size {
		return 0, fmt.Errorf("%w: common record of %d bytes shorter than %d", ErrFormat, len(b), commonV1Size)
	}
	flags := b[4]
	r.NfVersion = b[5]
	mapID := le16(b[6:])
	r.FirstMs = int64(le32(b[12:]))*1000 + int64(le16(b[8:]))
	r.LastMs = int64(le32(b[16:]))*1000 + int64(le16(b[10:]))
	r.FwdStatus = b[20]
	r.TCPFlags = b[21]
	r.Proto = b[22]
	r.SrcTos = b[23]
	r.SrcPort = le16(b[24:])
	r.DstPort = le16(b[26:])
	r.ExporterID = le16(b[28:])
	r.BiFlowDir = b[30]
	r.EndReason = b[31]
	r.Flows = 1
	if flags&v1FlagEvent != 0 {
		r.Flags |= FlagEvent
	}
	if flags&v1FlagSampled != 0 {
		r.Flags |= FlagSampled
	}
	m := maps[mapID]
	if m == nil {
		return 6, fmt.Errorf("%w: common record refers to undefined extension map %d", ErrFormat, mapID)
	}
	need := commonV1Size + 8 + 4 + 4 + m.size
	if flags&v1FlagIPv6Addr != 0 {
		need += 24
	}
	if flags&v1FlagPkts64 != 0 {
		need += 4
	}
	if flags&v1FlagBytes64 != 0 {
		need += 4
	}
	if need > len(b) {
		return 2, fmt.Errorf("%w: common record size %d, its flags and map %d need %d", ErrFormat, len(b), mapID, need)
	}
	p := b[commonV1Size:]
	if flags&v1FlagIPv6Addr != 0 {
		r.SrcIP, r.DstIP = ip6(p), ip6(p[16:])
		p = p[32:]
	} else {
		r.SrcIP, r.DstIP = ip4(p), ip4(p[4:])
		p = p[8:]
	}
	r.Packets, p = counter(p, flags&v1FlagPkts64 != 0)
	r.Bytes, p = counter(p, flags&v1FlagBytes64 != 0)
	for _, e := range m.ids {
		switch e {
		case 4:
			r.Input, r.Output = uint32(le16(p)), uint32(le16(p[2:]))
		case 5:
			r.Input, r.Output = le32(p), le32(p[4:])
		case 6:
			r.SrcAS, r.DstAS = uint32(le16(p)), uint32(le16(p[2:]))
		case 7:
			r.SrcAS, r.DstAS = le32(p), le32(p[4:])
		case 8:
			r.DstTos, r.Direction, r.SrcMask, r.DstMask = p[0], p[1], p[2], p[3]
		case 9:
			r.NextHop = ip4(p)
		case 10:
			r.NextHop = ip6(p)
		case 11:
			r.BgpNextHop = ip4(p)
		case 12:
			r.BgpNextHop = ip6(p)
		case 13:
			r.SrcVlan, r.DstVlan = uint32(le16(p)), uint32(le16(p[2:]))
		case 14:
			r.OutPackets = uint64(le32(p))
		case 15:
			r.OutPackets = le64(p)
		case 16:
			r.OutBytes = uint64(le32(p))
		case 17:
			r.OutBytes = le64(p)
		case 18:
			r.Flows = uint64(le32(p))
		case 19:
			r.Flows = le64(p)
		case 20:
			r.InSrcMAC, r.OutDstMAC = mac(p), mac(p[8:])
		case 21:
			r.InDstMAC, r.OutSrcMAC = mac(p), mac(p[8:])
		case 22:
			for i := range r.MPLS {
				r.MPLS[i] = le32(p[4*i:])
			}
		case 23:
			r.RouterIP = ip4(p)
		case 24:
			r.RouterIP = ip6(p)
		case 25:
			r.EngineType, r.EngineID = p[2], p[3]
		case 26:
			r.NextAS, r.PrevAS = le32(p), le32(p[4:])
		case 27:
			r.ReceivedMs = int64(le64(p))
		}
		p = p[extSizeV1[e]:]
	}
	return 0, nil
}

func counter(p []byte, wide bool) (uint64, []byte) {
	if wide {
		return le64(p), p[8:]
	}
	return uint64(le32(p)), p[4:]
}
