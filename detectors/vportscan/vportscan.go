// Package vportscan is the algorithm of NEMEA's vportscan_detector: one
// source probing many TCP ports of one destination with SYN-only flows
// (detectors.md §1).
//
// For every (DST_IP, SRC_IP) pair of IPv4 addresses a qualifying flow
// (PACKETS <= 4, PROTOCOL 6, TCP_FLAGS exactly 0x02) toggles its DST_PORT
// in the pair's port set: a port seen again is taken out. When the set
// reaches 50 ports, one alert is sent with the addresses, ports and
// protocol of that flow, PORT_CNT 50 and the min TIME_FIRST / max
// TIME_LAST over the pair's flows since its set was last empty; the pair
// is then forgotten. A pair untouched for 300 s is dropped without an
// alert; the check runs when 60 s have passed since the last one.
package vportscan

import (
	"fmt"
	"math/bits"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// InputSpec is the set of fields the detector reads.
const InputSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PACKETS,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST"

// OutputSpec is the C module's alert template.
const OutputSpec = "ipaddr DST_IP,ipaddr SRC_IP,time TIME_FIRST,time TIME_LAST,uint32 PORT_CNT,uint16 DST_PORT,uint16 SRC_PORT,uint8 EVENT_TYPE,uint8 PROTOCOL"

// MaxPortsThreshold is the largest PortsThreshold (the size of a pair's
// port set).
const MaxPortsThreshold = 64

// Config holds the detector's parameters. The C module has none; its
// compile-time constants are the defaults.
type Config struct {
	MaxPackets     uint32 // a flow qualifies with PACKETS <= this (4)
	PortsThreshold int    // alert when a pair's set reaches this many ports (50), 1..64
	Idle           int64  // seconds after which an untouched pair is dropped (300)
	PruneInterval  int64  // seconds between idle checks (60)
	// MaxPairs caps the pair table (262144, about 60 MiB). A new pair
	// at a full table evicts an old one (approximately the least recently touched; counted).
	MaxPairs int
}

// DefaultConfig returns the C module's constants and the default cap.
func DefaultConfig() Config {
	return Config{MaxPackets: 4, PortsThreshold: 50, Idle: 300, PruneInterval: 60, MaxPairs: 1 << 18}
}

// Validate checks the parameters.
func (c Config) Validate() error {
	switch {
	case c.PortsThreshold < 1 || c.PortsThreshold > MaxPortsThreshold:
		return fmt.Errorf("ports threshold %d: want 1..%d", c.PortsThreshold, MaxPortsThreshold)
	case c.Idle < 1:
		return fmt.Errorf("idle time %d: want at least 1 s", c.Idle)
	case c.PruneInterval < 1:
		return fmt.Errorf("prune interval %d: want at least 1 s", c.PruneInterval)
	case c.MaxPairs < 1:
		return fmt.Errorf("max pairs %d: want at least 1", c.MaxPairs)
	}
	return nil
}

type pair struct {
	ports       [MaxPortsThreshold / 4]uint64 // four 16-bit ports a word (portSet)
	n           int
	first, last unirec.Time
	modified    int64
}

// The port set packs four ports in a word, so that find compares four at
// once (the set is scanned for every qualifying flow).
const lanes = 0x0001000100010001

// find returns the index of port among the first n ports, or -1.
func (p *pair) find(port uint16) int {
	pat := uint64(port) * lanes
	for w := 0; 4*w < p.n; w++ {
		x := p.ports[w] ^ pat
		// A zero lane marks a match; the lowest flagged lane is exact.
		z := (x - lanes) &^ x & (lanes << 15)
		if rest := p.n - 4*w; rest < 4 {
			z &= 1<<(16*rest) - 1 // lanes past n hold stale ports
		}
		if z != 0 {
			return 4*w + bits.TrailingZeros64(z)/16
		}
	}
	return -1
}

func (p *pair) get(i int) uint16 { return uint16(p.ports[i/4] >> (16 * (i % 4))) }

func (p *pair) set(i int, v uint16) {
	sh := 16 * (i % 4)
	p.ports[i/4] = p.ports[i/4]&^(0xffff<<sh) | uint64(v)<<sh
}

type inFields struct {
	srcIP, dstIP, srcPort, dstPort, proto, packets, flags, timeFirst, timeLast unirec.FieldID
}

type outFields struct {
	dstIP, srcIP, timeFirst, timeLast, portCnt, dstPort, srcPort, eventType, proto unirec.FieldID
}

// Detector is one vportscan instance.
type Detector struct {
	cfg       Config
	clock     detectors.Clock
	pairs     *detectors.Table[uint64, pair]
	in        inFields
	out       outFields
	alert     unirec.Record
	lastPrune int64
	c         detectors.Counters
}

// New returns a detector with the given parameters and clock.
func New(cfg Config, clock detectors.Clock) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg, clock: clock, pairs: detectors.NewTable[uint64, pair](cfg.MaxPairs)}
	o := &d.out
	var err error
	if d.alert, err = detectors.NewAlert(OutputSpec, &o.dstIP, &o.srcIP, &o.timeFirst, &o.timeLast, &o.portCnt, &o.dstPort, &o.srcPort, &o.eventType, &o.proto); err != nil {
		return nil, err
	}
	d.lastPrune = clock.Now()
	return d, nil
}

// InputSpec implements detectors.Detector.
func (d *Detector) InputSpec() string { return InputSpec }

// OutputSpec implements detectors.Detector.
func (d *Detector) OutputSpec() string { return OutputSpec }

// Bind implements detectors.Detector.
func (d *Detector) Bind(t *unirec.Template) error {
	f := &d.in
	return detectors.Resolve(t, InputSpec, &f.srcIP, &f.dstIP, &f.srcPort, &f.dstPort, &f.proto, &f.packets, &f.flags, &f.timeFirst, &f.timeLast)
}

// Stats implements detectors.Detector.
func (d *Detector) Stats() detectors.Stats { return d.c.Snapshot() }

// Finish implements detectors.Detector: the C module flushes nothing at
// end of stream, and neither do we.
func (d *Detector) Finish(detectors.Emit) error { return nil }

// Process implements detectors.Detector.
func (d *Detector) Process(rec unirec.Record, emit detectors.Emit) error {
	d.c.Records.Add(1)
	f := &d.in
	tl := rec.Time(f.timeLast)
	d.clock.Observe(tl)
	src, ok1 := detectors.IPv4(rec.IP(f.srcIP))
	dst, ok2 := detectors.IPv4(rec.IP(f.dstIP))
	if !ok1 || !ok2 {
		d.c.IPv6Skipped.Add(1)
		return nil
	}
	now := d.clock.Now()
	if rec.Uint32(f.packets) <= d.cfg.MaxPackets && rec.Uint8(f.proto) == 6 && rec.Uint8(f.flags) == 0x02 {
		if err := d.count(rec, uint64(dst)<<32|uint64(src), tl, now, emit); err != nil {
			return err
		}
	}
	if now-d.lastPrune > d.cfg.PruneInterval {
		d.prune(now)
		d.lastPrune = now
	}
	return nil
}

func (d *Detector) count(rec unirec.Record, key uint64, tl unirec.Time, now int64, emit detectors.Emit) error {
	f := &d.in
	p, isNew, evicted := d.pairs.Upsert(key)
	if evicted {
		d.c.Evicted.Add(1)
	}
	if isNew {
		p.n = 0
		d.c.Entries.Store(int64(d.pairs.Len()))
	}
	tf := rec.Time(f.timeFirst)
	if p.n == 0 {
		p.first, p.last = tf, tl
	} else {
		p.first, p.last = min(p.first, tf), max(p.last, tl)
	}
	p.modified = now
	port := rec.Uint16(f.dstPort)
	if i := p.find(port); i >= 0 { // a repeated port is taken as benign: toggle it off
		p.n--
		p.set(i, p.get(p.n))
		return nil
	}
	p.set(p.n, port)
	p.n++
	if p.n < d.cfg.PortsThreshold {
		return nil
	}
	a, o := d.alert, &d.out
	a.SetIP(o.srcIP, rec.IP(f.srcIP))
	a.SetIP(o.dstIP, rec.IP(f.dstIP))
	a.SetUint16(o.srcPort, rec.Uint16(f.srcPort))
	a.SetUint16(o.dstPort, port)
	a.SetUint8(o.proto, rec.Uint8(f.proto))
	a.SetUint8(o.eventType, 1)
	a.SetUint32(o.portCnt, uint32(d.cfg.PortsThreshold))
	a.SetTime(o.timeFirst, p.first)
	a.SetTime(o.timeLast, p.last)
	d.pairs.Delete(key)
	d.c.Entries.Store(int64(d.pairs.Len()))
	d.c.Alerts.Add(1)
	return emit(a)
}

// prune drops the pairs untouched for more than Idle seconds.
func (d *Detector) prune(now int64) {
	n := d.pairs.DeleteIf(func(_ uint64, p *pair) bool { return now-p.modified > d.cfg.Idle })
	d.c.Expired.Add(uint64(n))
	d.c.Entries.Store(int64(d.pairs.Len()))
}
