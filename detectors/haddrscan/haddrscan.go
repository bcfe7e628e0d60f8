// Package haddrscan is the algorithm of NEMEA's haddrscan_detector: one
// source probing the same TCP port on many hosts with single-packet SYN
// flows (detectors.md §2).
//
// The key is (SRC_IP, DST_PORT), IPv4 only. A qualifying flow (PACKETS
// exactly 1, PROTOCOL 6, TCP_FLAGS exactly 0x02) adds its DST_IP to the
// key's list of distinct destinations. When the list reaches the
// threshold (-n, 50), one alert carries the count, the threshold, the
// first four destinations and the min TIME_FIRST / max TIME_LAST of the
// key's flows since the list was last empty; the list is then cleared,
// and the key stays, marked as alerted. A key untouched for -d seconds
// (300) is dropped when the check runs (every -p seconds, 60); an alerted
// key first sends a trailing alert with what it gathered since.
package haddrscan

import (
	"fmt"
	"slices"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// InputSpec is the set of fields the detector reads.
const InputSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 DST_PORT,uint8 PROTOCOL,uint32 PACKETS,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST"

// OutputSpec is the C module's alert template.
const OutputSpec = "ipaddr DST_IP0,ipaddr DST_IP1,ipaddr DST_IP2,ipaddr DST_IP3,ipaddr SRC_IP,time TIME_FIRST,time TIME_LAST,uint32 ADDR_CNT,uint32 ADDR_THRSD,uint16 DST_PORT,uint8 EVENT_TYPE,uint8 PROTOCOL"

// MaxThreshold bounds -n: a key stores up to this many addresses.
const MaxThreshold = 65535

// Config holds the detector's parameters.
type Config struct {
	Threshold     int   // -n: distinct destinations that raise an alert (50), >= 2
	Idle          int64 // -d: seconds after which an untouched key is dropped (300), >= 1
	PruneInterval int64 // -p: seconds between idle checks (60), >= 1
	// EmptyTrailing sends the C module's trailing alerts that carry no
	// address (ADDR_CNT 0, DST_IP0..3 0.0.0.0, the previous alert's
	// times). Off by default: they repeat an alert already sent.
	EmptyTrailing bool
	// MaxKeys caps the key table (262144; about 85 MiB when every key
	// holds 49 addresses at -n 50). A new key at a full table
	// evicts an old one (approximately the least recently touched; counted, no alert).
	MaxKeys int
}

// DefaultConfig returns the C module's defaults and the default cap.
func DefaultConfig() Config {
	return Config{Threshold: 50, Idle: 300, PruneInterval: 60, MaxKeys: 1 << 18}
}

// Validate checks the parameters as the C module does, plus the caps.
func (c Config) Validate() error {
	switch {
	case c.Threshold < 2 || c.Threshold > MaxThreshold:
		return fmt.Errorf("address threshold %d: want 2..%d", c.Threshold, MaxThreshold)
	case c.Idle < 1:
		return fmt.Errorf("idle threshold %d: want at least 1 s", c.Idle)
	case c.PruneInterval < 1:
		return fmt.Errorf("pruning interval %d: want at least 1 s", c.PruneInterval)
	case c.MaxKeys < 1:
		return fmt.Errorf("max keys %d: want at least 1", c.MaxKeys)
	}
	return nil
}

type entry struct {
	// The distinct destinations since the last alert, in arrival order:
	// the first inlineAddrs in the entry (no second cache miss for the
	// many keys that never grow), the rest in more.
	inline      [inlineAddrs]uint32
	more        []uint32
	n           int
	alerted     bool
	first, last unirec.Time
	modified    int64
}

// inlineAddrs destinations live in the entry itself.
const inlineAddrs = 16

func (e *entry) has(a uint32) bool {
	if slices.Contains(e.inline[:min(e.n, inlineAddrs)], a) {
		return true
	}
	return e.n > inlineAddrs && slices.Contains(e.more, a)
}

func (e *entry) add(a uint32, threshold int) {
	if e.n < inlineAddrs {
		e.inline[e.n] = a
	} else {
		if e.more == nil {
			// Sized to the threshold: no append slack (the cap's memory is documented).
			e.more = make([]uint32, 0, max(threshold-inlineAddrs, 1))
		}
		e.more = append(e.more, a)
	}
	e.n++
}

type inFields struct {
	srcIP, dstIP, dstPort, proto, packets, flags, timeFirst, timeLast unirec.FieldID
}

type outFields struct {
	dst                                                                       [4]unirec.FieldID
	srcIP, timeFirst, timeLast, addrCnt, addrThrsd, dstPort, eventType, proto unirec.FieldID
}

// Detector is one haddrscan instance.
type Detector struct {
	cfg       Config
	clock     detectors.Clock
	keys      *detectors.Table[uint64, entry]
	in        inFields
	out       outFields
	alert     unirec.Record
	lastPrune int64
	expired   []uint64
	c         detectors.Counters
}

// New returns a detector with the given parameters and clock.
func New(cfg Config, clock detectors.Clock) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg, clock: clock, keys: detectors.NewTable[uint64, entry](cfg.MaxKeys)}
	o := &d.out
	var err error
	if d.alert, err = detectors.NewAlert(OutputSpec, &o.dst[0], &o.dst[1], &o.dst[2], &o.dst[3], &o.srcIP, &o.timeFirst, &o.timeLast, &o.addrCnt, &o.addrThrsd, &o.dstPort, &o.eventType, &o.proto); err != nil {
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
	return detectors.Resolve(t, InputSpec, &f.srcIP, &f.dstIP, &f.dstPort, &f.proto, &f.packets, &f.flags, &f.timeFirst, &f.timeLast)
}

// Stats implements detectors.Detector.
func (d *Detector) Stats() detectors.Stats { return d.c.Snapshot() }

// Finish implements detectors.Detector: like the C module, nothing pending
// is sent at end of stream.
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
	if rec.Uint32(f.packets) == 1 && rec.Uint8(f.proto) == 6 && rec.Uint8(f.flags) == 0x02 {
		if err := d.count(rec, uint64(src)|uint64(rec.Uint16(f.dstPort))<<32, dst, tl, now, emit); err != nil {
			return err
		}
	}
	if now-d.lastPrune > d.cfg.PruneInterval {
		if err := d.prune(now, emit); err != nil {
			return err
		}
		d.lastPrune = now
	}
	return nil
}

func (d *Detector) count(rec unirec.Record, key uint64, dst uint32, tl unirec.Time, now int64, emit detectors.Emit) error {
	e, isNew, evicted := d.keys.Upsert(key)
	if evicted {
		d.c.Evicted.Add(1)
	}
	if isNew {
		e.n, e.more, e.alerted = 0, e.more[:0], false
		d.c.Entries.Store(int64(d.keys.Len()))
	}
	tf := rec.Time(d.in.timeFirst)
	if e.n == 0 {
		e.first, e.last = tf, tl
	} else {
		e.first, e.last = min(e.first, tf), max(e.last, tl)
	}
	e.modified = now
	if e.has(dst) {
		return nil
	}
	e.add(dst, d.cfg.Threshold)
	if e.n < d.cfg.Threshold {
		return nil
	}
	e.alerted = true
	err := d.send(key, e, emit)
	e.n, e.more = 0, e.more[:0]
	return err
}

// send emits the alert of a key's current state.
func (d *Detector) send(key uint64, e *entry, emit detectors.Emit) error {
	a, o := d.alert, &d.out
	n := e.n
	for i, id := range o.dst {
		switch {
		case n == 0:
			a.SetIP(id, detectors.IPFromV4(0)) // C: ip_from_int(0), not ::
		case i < n:
			a.SetIP(id, detectors.IPFromV4(e.inline[i]))
		default:
			a.SetIP(id, unirec.IP{})
		}
	}
	a.SetIP(o.srcIP, detectors.IPFromV4(uint32(key)))
	a.SetTime(o.timeFirst, e.first)
	a.SetTime(o.timeLast, e.last)
	a.SetUint32(o.addrCnt, uint32(n))
	a.SetUint32(o.addrThrsd, uint32(d.cfg.Threshold))
	a.SetUint16(o.dstPort, uint16(key>>32))
	a.SetUint8(o.eventType, 1)
	a.SetUint8(o.proto, 6)
	d.c.Alerts.Add(1)
	return emit(a)
}

// prune drops the keys untouched for more than Idle seconds, in key order
// (DST_PORT, then SRC_IP, as the C tree walks them); alerted keys first
// send their trailing alert.
func (d *Detector) prune(now int64, emit detectors.Emit) error {
	d.expired = d.expired[:0]
	d.keys.Range(func(k uint64, e *entry) bool {
		if now-e.modified > d.cfg.Idle {
			d.expired = append(d.expired, k)
		}
		return true
	})
	slices.Sort(d.expired)
	var err error
	for _, k := range d.expired {
		e, _ := d.keys.Get(k)
		if err == nil && e.alerted && (e.n > 0 || d.cfg.EmptyTrailing) {
			err = d.send(k, e, emit)
		}
		d.keys.Delete(k)
		d.c.Expired.Add(1)
	}
	d.c.Entries.Store(int64(d.keys.Len()))
	return err
}
