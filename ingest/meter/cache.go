package meter

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Cache defaults, those of ipfixprobe's cache storage plugin.
const (
	DefaultActive    = 300 * time.Second
	DefaultInactive  = 30 * time.Second
	DefaultCacheSize = 1 << 17
	// cacheLineSize is ipfixprobe's default line (bucket) length; a new
	// flow that finds its line full replaces the line's last flow and goes
	// in at cacheLineNew.
	cacheLineSize = 16
)

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
)

// Action is a plugin's answer to a packet.
type Action uint8

// Plugin actions (ipfixprobe's FLOW_FLUSH and FLOW_FLUSH_WITH_REINSERT).
const (
	Continue Action = iota
	// Flush exports the flow. Returned before the update (PreUpdate) the
	// packet is not counted in it; returned after, it is.
	Flush
	// FlushReinsert exports the flow and starts a new one from a copy of
	// it (same key and direction, counters reset, TIME_FIRST = the old
	// flow's TIME_LAST) that this packet is counted in; only meaningful
	// from PreUpdate.
	FlushReinsert
)

// CacheConfig sets the cache's timeouts and size. Zero values take the
// defaults.
type CacheConfig struct {
	Active   time.Duration // a flow older than this is exported at its next packet
	Inactive time.Duration // a flow idle this long is exported
	// Size is the number of flows held, rounded up to a power of two. The
	// cache is split in lines of 16 (fewer if Size is smaller).
	Size int
	// Uniflow meters each direction as a flow of its own (ipfixprobe's
	// cache "split" option): a packet's reverse key is not looked up.
	Uniflow bool
}

// CacheStats counts what the cache did.
type CacheStats struct {
	Created  uint64 // flows started
	Exported uint64 // flows handed to the export callback
	Evicted  uint64 // flows exported early because their cache line was full
}

// Cache holds the flows being metered. It is ipfixprobe's "NHT" cache:
//
//   - A flow is found by the XXH64 hash of its packed key (ports, protocol,
//     IP version, addresses, VLAN id), first in the packet's direction and
//     then (unless Uniflow) reversed; the hash picks a line of 16 slots. The flow's direction
//     is that of the first packet the cache saw. A hit moves the flow to the
//     front of its line; a new flow takes the line's first free slot, or,
//     when the line is full, the line's last flow is exported (EndEvicted)
//     and the new one goes in at slot 8.
//   - A packet with SYN on a direction that has already seen FIN or RST ends
//     the flow (EndEOF) and starts a new one whose source is the SYN's
//     sender. FIN or RST alone never end a flow.
//   - A packet of a flow idle for the inactive timeout ends it (EndInactive,
//     or EndEOF when FIN or RST were seen) and starts a new one; one whose
//     flow started the active timeout ago ends it (EndActive) likewise.
//     Times are compared in whole, signed seconds of packet time, as
//     ipfixprobe does: a packet whose time goes backwards never expires.
//   - After each packet the next 8 slots of a rotating sweep are checked
//     and their idle flows exported, so idle flows leave the cache slowly
//     (a full pass takes Size/8 packets); Expire checks all of them.
//   - Plugins may flush a flow (Flush) or flush it and start its successor
//     with the packet (FlushReinsert).
//   - Flush exports the rest in slot order (EndForced).
//
// The export callback runs synchronously; the *Flow (and the plugins' slot
// state) is reused as soon as it returns. Cache is not safe for concurrent
// use.
type Cache struct {
	active, inactive int64
	uniflow          bool
	flows            []Flow  // record storage; Flow.Slot is the index here
	table            []int32 // slot -> flow index, -1 when empty
	free             []int32
	lineMask         uint64 // hash -> first slot of its line
	lineSize         int
	lineNew          int
	sweep            int
	n                int
	hooks            []Plugin
	export           func(*Flow)
	stats            CacheStats
	keyBuf           [40]byte
}

// NewCache makes a cache that passes finished flows to export. plugins are
// consulted on every packet (see Plugin).
func NewCache(cfg CacheConfig, plugins []Plugin, export func(*Flow)) (*Cache, error) {
	if cfg.Active == 0 {
		cfg.Active = DefaultActive
	}
	if cfg.Inactive == 0 {
		cfg.Inactive = DefaultInactive
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultCacheSize
	}
	if cfg.Active < time.Second || cfg.Inactive < time.Second {
		return nil, fmt.Errorf("meter: cache timeouts must be at least 1s (active %v, inactive %v)", cfg.Active, cfg.Inactive)
	}
	if cfg.Size < 1 || cfg.Size > 1<<26 {
		return nil, fmt.Errorf("meter: cache size %d out of range 1..%d", cfg.Size, 1<<26)
	}
	if export == nil {
		return nil, fmt.Errorf("meter: cache needs an export callback")
	}
	size := 1 << bits.Len(uint(cfg.Size-1))
	line := min(cacheLineSize, size)
	c := &Cache{
		active:   int64(cfg.Active / time.Second),
		inactive: int64(cfg.Inactive / time.Second),
		uniflow:  cfg.Uniflow,
		flows:    make([]Flow, size),
		table:    make([]int32, size),
		free:     make([]int32, size),
		lineMask: uint64(size-1) &^ uint64(line-1),
		lineSize: line,
		lineNew:  line / 2,
		hooks:    plugins,
		export:   export,
	}
	for i := range c.table {
		c.table[i] = -1
		c.free[i] = int32(size - 1 - i)
	}
	for _, pl := range plugins {
		pl.Init(size)
	}
	return c, nil
}

// Stats returns the counters so far.
func (c *Cache) Stats() CacheStats { return c.stats }

// Len is the number of flows in the cache.
func (c *Cache) Len() int { return c.n }

// keyHash is XXH64 (seed 0) of ipfixprobe's packed flow key: ports in host
// (little-endian) order, protocol, IP version, the addresses as on the wire,
// VLAN id little-endian.
func (c *Cache) keyHash(p *Packet, reverse bool) uint64 {
	b := &c.keyBuf
	sip, dip := &p.SrcIP, &p.DstIP
	sp, dp := p.SrcPort, p.DstPort
	if reverse {
		sip, dip, sp, dp = dip, sip, dp, sp
	}
	binary.LittleEndian.PutUint16(b[0:], sp)
	binary.LittleEndian.PutUint16(b[2:], dp)
	b[4], b[5] = p.Proto, p.IPVersion
	if p.IPVersion == 4 {
		copy(b[6:10], sip[8:12])
		copy(b[10:14], dip[8:12])
		binary.LittleEndian.PutUint16(b[14:], p.VLANID)
		return xxhash.Sum64(b[:16])
	}
	copy(b[6:22], sip[:])
	copy(b[22:38], dip[:])
	binary.LittleEndian.PutUint16(b[38:], p.VLANID)
	return xxhash.Sum64(b[:40])
}

// find returns the slot holding the flow with hash h, or -1.
func (c *Cache) find(h uint64) int {
	start := int(h & c.lineMask)
	for i := start; i < start+c.lineSize; i++ {
		if idx := c.table[i]; idx >= 0 && c.flows[idx].hash == h {
			return i
		}
	}
	return -1
}

// Add accounts one parsed IP packet.
func (c *Cache) Add(p *Packet) {
	now := int64(p.TsSec)
	for {
		h := c.keyHash(p, false)
		fwd := true
		slot := c.find(h)
		if slot < 0 && !c.uniflow {
			if hr := c.keyHash(p, true); hr != h {
				if slot = c.find(hr); slot >= 0 {
					fwd = false
				}
			}
		}
		if slot < 0 {
			c.create(c.place(h), h, p)
			c.expireSweep(now) // also after a flush from Create
			return
		}
		slot = c.toFront(slot)
		f := &c.flows[c.table[slot]]
		seen := f.TCPFlags
		if !fwd {
			seen = f.TCPFlagsRev
		}
		switch {
		case p.TCPFlags&tcpSYN != 0 && seen&(tcpFIN|tcpRST) != 0:
			c.remove(slot, EndEOF)
			continue // the SYN starts a new flow
		case now-int64(f.LastSec) >= c.inactive:
			c.remove(slot, f.idleReason())
			continue
		case now-int64(f.FirstSec) >= c.active:
			c.remove(slot, EndActive)
			continue
		}
		act := Continue
		for _, pl := range c.hooks {
			act = max(act, pl.PreUpdate(f, p, fwd))
		}
		if act != Continue {
			c.flush(slot, act, p, fwd)
			return
		}
		f.update(p, fwd)
		for _, pl := range c.hooks {
			act = max(act, pl.PostUpdate(f, p, fwd))
		}
		if act != Continue {
			c.flush(slot, Flush, p, fwd)
			return
		}
		c.expireSweep(now)
		return
	}
}

// idleReason is ipfixprobe's end reason for an idle flow.
func (f *Flow) idleReason() EndReason {
	if (f.TCPFlags|f.TCPFlagsRev)&(tcpFIN|tcpRST) != 0 {
		return EndEOF
	}
	return EndInactive
}

// toFront moves the flow at slot to the front of its line and returns its
// new slot.
func (c *Cache) toFront(slot int) int {
	start := slot &^ (c.lineSize - 1)
	if slot == start {
		return slot
	}
	idx := c.table[slot]
	copy(c.table[start+1:slot+1], c.table[start:slot])
	c.table[start] = idx
	return start
}

// place returns the slot for a new flow with hash h: the first free slot of
// its line, or, when the line is full, the line's new-flow position after
// its last flow was exported.
func (c *Cache) place(h uint64) int {
	start := int(h & c.lineMask)
	end := start + c.lineSize
	for i := start; i < end; i++ {
		if c.table[i] < 0 {
			return i
		}
	}
	c.stats.Evicted++
	c.remove(end-1, EndEvicted)
	pos := start + c.lineNew
	copy(c.table[pos+1:end], c.table[pos:end-1])
	c.table[pos] = -1
	return pos
}

// create starts a flow at the free slot and runs the plugins' Create hooks.
func (c *Cache) create(slot int, h uint64, p *Packet) {
	idx := c.take(slot)
	f := &c.flows[idx]
	f.create(p, int(idx))
	f.hash = h
	c.created(slot, f, p)
}

func (c *Cache) take(slot int) int32 {
	idx := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	c.table[slot] = idx
	c.n++
	c.stats.Created++
	return idx
}

// created runs the plugins' Create hooks; any flush exports the flow.
func (c *Cache) created(slot int, f *Flow, p *Packet) {
	act := Continue
	for _, pl := range c.hooks {
		act = max(act, pl.Create(f, p))
	}
	if act != Continue {
		c.remove(slot, EndForced)
	}
}

// flush carries out a plugin's Flush or FlushReinsert for the flow at slot.
func (c *Cache) flush(slot int, act Action, p *Packet, fwd bool) {
	old := c.flows[c.table[slot]]
	c.remove(slot, EndForced)
	if act != FlushReinsert {
		return
	}
	idx := c.take(slot)
	f := &c.flows[idx]
	f.reinsert(&old, int(idx))
	f.update(p, fwd)
	c.created(slot, f, p)
}

// Flush exports every flow in slot order (end of input).
func (c *Cache) Flush() {
	for i := range c.table {
		if c.table[i] >= 0 {
			c.remove(i, EndForced)
		}
	}
}

// Expire exports every flow idle for the inactive timeout at now (whole
// seconds, like packet times).
func (c *Cache) Expire(now time.Time) {
	t := now.Unix()
	for i := range c.table {
		if idx := c.table[i]; idx >= 0 && t-int64(c.flows[idx].LastSec) >= c.inactive {
			c.remove(i, c.flows[idx].idleReason())
		}
	}
}

// expireSweep checks the next lineNew slots of the rotating sweep.
func (c *Cache) expireSweep(now int64) {
	end := c.sweep + max(c.lineNew, 1)
	for i := c.sweep; i < end; i++ {
		if idx := c.table[i]; idx >= 0 && now-int64(c.flows[idx].LastSec) >= c.inactive {
			c.remove(i, c.flows[idx].idleReason())
		}
	}
	c.sweep = end & (len(c.table) - 1)
}

func (c *Cache) remove(slot int, why EndReason) {
	idx := c.table[slot]
	f := &c.flows[idx]
	f.End = why
	c.table[slot] = -1
	c.n--
	c.stats.Exported++
	c.export(f)
	for _, pl := range c.hooks {
		pl.Release(f)
	}
	c.free = append(c.free, idx)
}
