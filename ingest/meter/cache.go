package meter

import (
	"fmt"
	"time"
)

// Cache defaults, those of ipfixprobe's cache storage plugin.
const (
	DefaultActive    = 300 * time.Second
	DefaultInactive  = 30 * time.Second
	DefaultCacheSize = 1 << 17
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
	// FlushReinsert exports the flow and starts a new one with this packet;
	// only meaningful from PreUpdate.
	FlushReinsert
)

// CacheConfig sets the cache's timeouts and size. Zero values take the
// defaults.
type CacheConfig struct {
	Active   time.Duration // a flow older than this is exported at its next packet
	Inactive time.Duration // a flow idle this long is exported
	Size     int           // maximum number of flows held
}

// CacheStats counts what the cache did.
type CacheStats struct {
	Created  uint64 // flows started
	Exported uint64 // flows handed to the export callback
	Evicted  uint64 // flows exported early because the cache was full
}

// Cache holds the flows being metered. Timeouts are compared on whole
// seconds of packet time, as ipfixprobe does (pkt.tv_sec - time_last.tv_sec
// >= inactive). A packet with SYN on a direction that has already seen FIN or
// RST ends the old flow and starts a new one (ipfixprobe's rule; FIN/RST
// alone keeps the flow so that the closing ACKs stay in it). When the cache
// is full the least recently used flow of the whole cache is evicted;
// ipfixprobe evicts the least recently used flow of the hash row the new key
// falls in, so under memory pressure the two may pick different victims.
//
// The export callback runs synchronously; the *Flow (and the plugins' slot
// state) is reused as soon as it returns. Cache is not safe for concurrent
// use.
type Cache struct {
	active, inactive int64
	flows            []Flow
	index            map[FlowKey]int32 // canonical key -> slot
	free             []int32
	head, tail       int32
	hooks            []Plugin
	export           func(*Flow)
	stats            CacheStats
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
	c := &Cache{
		active:   int64(cfg.Active / time.Second),
		inactive: int64(cfg.Inactive / time.Second),
		flows:    make([]Flow, cfg.Size),
		index:    make(map[FlowKey]int32, cfg.Size),
		free:     make([]int32, cfg.Size),
		head:     -1,
		tail:     -1,
		hooks:    plugins,
		export:   export,
	}
	for i := range c.free {
		c.free[i] = int32(cfg.Size - 1 - i)
	}
	for _, pl := range plugins {
		pl.Init(cfg.Size)
	}
	return c, nil
}

// Stats returns the counters so far.
func (c *Cache) Stats() CacheStats { return c.stats }

// Len is the number of flows in the cache.
func (c *Cache) Len() int { return len(c.index) }

// Add accounts one parsed IP packet.
func (c *Cache) Add(p *Packet) {
	key := FlowKey{
		SrcIP: p.SrcIP, DstIP: p.DstIP,
		SrcPort: p.SrcPort, DstPort: p.DstPort,
		VLANID: p.VLANID, Proto: p.Proto, IPVersion: p.IPVersion,
	}
	idx, ok := c.index[key.canonical()]
	if !ok {
		c.expire(int64(p.TsSec))
		c.create(p)
		return
	}
	f := &c.flows[idx]
	fwd := f.Key.SrcPort == key.SrcPort && f.Key.SrcIP == key.SrcIP
	seen := f.TCPFlags
	if !fwd {
		seen = f.TCPFlagsRev
	}
	now := int64(p.TsSec)
	switch {
	case p.TCPFlags&tcpSYN != 0 && seen&(tcpFIN|tcpRST) != 0:
		c.remove(idx, EndEOF)
		c.create(p)
	case now-int64(f.LastSec) >= c.inactive:
		c.remove(idx, EndInactive)
		c.create(p)
	case now-int64(f.FirstSec) >= c.active:
		c.remove(idx, EndActive)
		c.create(p)
	default:
		act := Continue
		for _, pl := range c.hooks {
			act = max(act, pl.PreUpdate(f, p, fwd))
		}
		if act != Continue {
			c.remove(idx, EndForced)
			if act == FlushReinsert {
				c.create(p)
			}
			break
		}
		f.update(p, fwd)
		c.touch(idx)
		for _, pl := range c.hooks {
			act = max(act, pl.PostUpdate(f, p, fwd))
		}
		if act != Continue {
			c.remove(idx, EndForced)
		}
	}
	c.expire(now)
}

// Flush exports every flow (end of input).
func (c *Cache) Flush() {
	for c.tail >= 0 {
		c.remove(c.tail, EndForced)
	}
}

// Expire exports the flows idle for the inactive timeout at now (whole
// seconds, like packet times).
func (c *Cache) Expire(now time.Time) { c.expire(now.Unix()) }

// expire exports flows idle for the inactive timeout, oldest first.
func (c *Cache) expire(now int64) {
	for c.tail >= 0 && now-int64(c.flows[c.tail].LastSec) >= c.inactive {
		c.remove(c.tail, EndInactive)
	}
}

func (c *Cache) create(p *Packet) {
	if len(c.free) == 0 {
		c.stats.Evicted++
		c.remove(c.tail, EndEvicted)
	}
	idx := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	f := &c.flows[idx]
	f.create(p, int(idx))
	c.index[f.Key.canonical()] = idx
	c.pushHead(idx)
	c.stats.Created++
	act := Continue
	for _, pl := range c.hooks {
		act = max(act, pl.Create(f, p))
	}
	if act != Continue {
		c.remove(idx, EndForced)
	}
}

func (c *Cache) remove(idx int32, why EndReason) {
	f := &c.flows[idx]
	f.End = why
	c.unlink(idx)
	delete(c.index, f.Key.canonical())
	c.stats.Exported++
	c.export(f)
	for _, pl := range c.hooks {
		pl.Release(f)
	}
	c.free = append(c.free, idx)
}

func (c *Cache) pushHead(idx int32) {
	f := &c.flows[idx]
	f.prev, f.next = -1, c.head
	if c.head >= 0 {
		c.flows[c.head].prev = idx
	}
	c.head = idx
	if c.tail < 0 {
		c.tail = idx
	}
}

func (c *Cache) unlink(idx int32) {
	f := &c.flows[idx]
	if f.prev >= 0 {
		c.flows[f.prev].next = f.next
	} else {
		c.head = f.next
	}
	if f.next >= 0 {
		c.flows[f.next].prev = f.prev
	} else {
		c.tail = f.prev
	}
	f.prev, f.next = -1, -1
}

func (c *Cache) touch(idx int32) {
	if c.head == idx {
		return
	}
	c.unlink(idx)
	c.pushHead(idx)
}
