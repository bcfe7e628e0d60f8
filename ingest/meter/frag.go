package meter

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// fragTimeout is how long (seconds) after a first fragment its later
// fragments still get its ports, ipfixprobe's fragmentation cache timeout;
// it is compared with microsecond timestamps.
const fragTimeout = 3

// fragCacheSize is the number of first fragments remembered at once.
const fragCacheSize = 4096

// fragCache gives the later fragments of an IP datagram the ports of its
// first fragment, as ipfixprobe's fragmentation cache does, so that all
// fragments land in the datagram's flow. Entries are keyed by IP version,
// addresses, fragment id and VLAN id; it is a fixed table (a newer first
// fragment overwrites an older one in the same bucket) and allocates
// nothing.
type fragCache struct {
	e   []fragEntry
	key [40]byte
}

type fragEntry struct {
	used             bool
	sec, usec        uint32
	id               uint32
	vlan             uint16
	ver              uint8
	src, dst         [16]byte
	srcPort, dstPort uint16
}

func (c *fragCache) bucket(p *Packet) *fragEntry {
	if c.e == nil {
		c.e = make([]fragEntry, fragCacheSize)
	}
	b := c.key[:0]
	b = append(b, p.IPVersion)
	b = append(b, p.SrcIP[:]...)
	b = append(b, p.DstIP[:]...)
	b = binary.LittleEndian.AppendUint32(b, p.FragID)
	b = binary.LittleEndian.AppendUint16(b, p.VLANID)
	return &c.e[xxhash.Sum64(b)&(fragCacheSize-1)]
}

// packet records a first fragment's ports or fills in a later fragment's.
func (c *fragCache) packet(p *Packet) {
	switch {
	case p.FragFirst:
		*c.bucket(p) = fragEntry{used: true, sec: p.TsSec, usec: p.TsUsec, id: p.FragID, vlan: p.VLANID, ver: p.IPVersion,
			src: p.SrcIP, dst: p.DstIP, srcPort: p.SrcPort, dstPort: p.DstPort}
	case p.FragLater:
		e := c.bucket(p)
		if e.used && e.id == p.FragID && e.vlan == p.VLANID && e.ver == p.IPVersion &&
			e.src == p.SrcIP && e.dst == p.DstIP && fragInTime(p, e) {
			p.SrcPort, p.DstPort = e.srcPort, e.dstPort
		}
	}
}

// fragInTime reports whether p's time is at most fragTimeout after e's.
func fragInTime(p *Packet, e *fragEntry) bool {
	sec, limit := int64(p.TsSec), int64(e.sec)+fragTimeout
	return sec < limit || sec == limit && p.TsUsec <= e.usec
}
