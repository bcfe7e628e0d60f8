// Package amplification is the algorithm of NEMEA's
// amplification_detection: a server (an open DNS resolver, an NTP server)
// sending many large responses from its service port to one victim that
// sends few, small queries (detectors.md §3).
//
// Flows to the port are queries, flows from it responses; both are kept
// per (server, victim) pair as (TIME_FIRST, bytes, packets) items. When a
// flow's TIME_LAST second lies more than the window (900 s) after the
// pair's first second, the pair is evaluated on histograms of its items,
// with the C code's integer arithmetic; a COMPLEX verdict sends an alert.
// The window is then trimmed to its last 600 s and the counters restart,
// so a continuing attack is reported again with the same EVENT_ID.
package amplification

import (
	"sync/atomic"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// InputSpec is the set of fields the detector reads. The C module also
// requires PROTOCOL, which it never reads.
const InputSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST"

// OutputSpec is the C module's alert template.
const OutputSpec = "ipaddr DST_IP,ipaddr SRC_IP,uint64 REQ_BYTES,uint64 RSP_BYTES,time TIME_FIRST,time TIME_LAST,uint32 EVENT_ID,uint32 REQ_FLOWS,uint32 REQ_PACKETS,uint32 RSP_FLOWS,uint32 RSP_PACKETS,uint16 SRC_PORT"

// Indexes of the totals.
const (
	query = iota
	response
	qReported
	rReported
)

type key struct{ src, dst unirec.IP } // server, victim

type item struct {
	t       unirec.Time // the flow's TIME_FIRST
	bytes   uint64
	packets uint32
}

type pair struct {
	vec     [2][]item // query, response items
	pos     [2]int    // ring positions once a vector is full
	flows   [4]uint32
	packets [4]uint32
	bytes   [4]uint64
	first   unirec.Time
	last    unirec.Time
	id      uint32
}

type inFields struct {
	srcIP, dstIP, srcPort, dstPort, packets, bytes, timeFirst, timeLast unirec.FieldID
}

type outFields struct {
	dstIP, srcIP, reqBytes, rspBytes, timeFirst, timeLast, eventID, reqFlows, reqPackets, rspFlows, rspPackets, srcPort unirec.FieldID
}

// Detector is one amplification_detection instance.
type Detector struct {
	cfg         Config
	clock       detectors.Clock
	pairs       *detectors.Table[key, pair]
	items       int // flow items stored over all pairs
	in          inFields
	out         outFields
	alert       unirec.Record
	uniqueID    uint32
	actual      uint32 // largest TIME_LAST second of a port flow
	lastCleanup int64
	h           histScratch
	c           detectors.Counters
	big         atomic.Uint64 // BIG verdicts (no alert, as in C)
	itemsPub    atomic.Int64  // items, for Stats from other goroutines
}

// New returns a detector with the given parameters and clock (which
// triggers the inactive-pair cleanup every Period seconds).
func New(cfg Config, clock detectors.Clock) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{cfg: cfg, clock: clock, pairs: detectors.NewTable[key, pair](cfg.MaxPairs)}
	d.pairs.OnEvict = func(_ key, p *pair) { d.release(p); d.c.Evicted.Add(1) }
	o := &d.out
	var err error
	if d.alert, err = detectors.NewAlert(OutputSpec, &o.dstIP, &o.srcIP, &o.reqBytes, &o.rspBytes, &o.timeFirst, &o.timeLast, &o.eventID, &o.reqFlows, &o.reqPackets, &o.rspFlows, &o.rspPackets, &o.srcPort); err != nil {
		return nil, err
	}
	d.lastCleanup = clock.Now()
	return d, nil
}

// InputSpec implements detectors.Detector.
func (d *Detector) InputSpec() string { return InputSpec }

// OutputSpec implements detectors.Detector.
func (d *Detector) OutputSpec() string { return OutputSpec }

// Bind implements detectors.Detector.
func (d *Detector) Bind(t *unirec.Template) error {
	f := &d.in
	return detectors.Resolve(t, InputSpec, &f.srcIP, &f.dstIP, &f.srcPort, &f.dstPort, &f.packets, &f.bytes, &f.timeFirst, &f.timeLast)
}

// Stats implements detectors.Detector.
func (d *Detector) Stats() detectors.Stats {
	s := d.c.Snapshot()
	s.Extra = map[string]uint64{"big_verdicts": d.big.Load(), "stored_items": uint64(d.itemsPub.Load())}
	return s
}

// Finish implements detectors.Detector: like the C module, nothing is
// flushed at end of stream.
func (d *Detector) Finish(detectors.Emit) error { return nil }

// Process implements detectors.Detector.
func (d *Detector) Process(rec unirec.Record, emit detectors.Emit) error {
	d.c.Records.Add(1)
	f := &d.in
	tl := rec.Time(f.timeLast)
	d.clock.Observe(tl)
	var k key
	var dir int
	switch {
	case rec.Uint16(f.dstPort) == d.cfg.Port:
		k, dir = key{src: rec.IP(f.dstIP), dst: rec.IP(f.srcIP)}, query
	case rec.Uint16(f.srcPort) == d.cfg.Port:
		k, dir = key{src: rec.IP(f.srcIP), dst: rec.IP(f.dstIP)}, response
	default:
		return nil
	}
	d.actual = max(d.actual, tl.Sec())
	it := item{t: rec.Time(f.timeFirst), bytes: rec.Uint64(f.bytes), packets: rec.Uint32(f.packets)}
	p, isNew, _ := d.pairs.Upsert(k)
	var err error
	if isNew {
		d.c.Entries.Store(int64(d.pairs.Len()))
		p.vec[query], p.vec[response] = p.vec[query][:0], p.vec[response][:0]
		p.pos = [2]int{}
		p.flows, p.packets, p.bytes = [4]uint32{}, [4]uint32{}, [4]uint64{}
		p.first, p.last, p.id = it.t, tl, 0
		p.flows[dir], p.packets[dir], p.bytes[dir] = 1, it.packets, it.bytes
		d.store(p, dir, it)
	} else {
		p.last = max(p.last, tl)
		p.flows[dir]++
		p.packets[dir] += it.packets
		p.bytes[dir] += it.bytes
		d.store(p, dir, it)
		if int64(tl.Sec())-int64(p.first.Sec()) > d.cfg.Window {
			err = d.evaluate(k, p, rec.Time(f.timeFirst), tl, emit)
		}
	}
	d.limitItems(k)
	d.itemsPub.Store(int64(d.items))
	if now := d.clock.Now(); now-d.lastCleanup >= d.cfg.Period {
		d.lastCleanup = now
		d.cleanup()
	}
	return err
}

// store keeps a flow item, overwriting the oldest slot once the
// direction holds RecordCount items.
func (d *Detector) store(p *pair, dir int, it item) {
	if len(p.vec[dir]) < d.cfg.RecordCount {
		p.vec[dir] = append(p.vec[dir], it)
		d.items++
		return
	}
	p.vec[dir][p.pos[dir]] = it
	p.pos[dir] = (p.pos[dir] + 1) % d.cfg.RecordCount
}

// limitItems evicts old pairs (never cur) while the
// stored items exceed MaxItems.
func (d *Detector) limitItems(cur key) {
	for d.items > d.cfg.MaxItems && d.pairs.EvictOld(cur) {
		d.c.Entries.Store(int64(d.pairs.Len()))
	}
}

// release forgets a pair's items; large vectors are freed rather than
// kept in the recycled slot.
func (d *Detector) release(p *pair) {
	for dir := range p.vec {
		d.items -= len(p.vec[dir])
		if cap(p.vec[dir]) > 1024 {
			p.vec[dir] = nil
		} else {
			p.vec[dir] = p.vec[dir][:0]
		}
	}
}

// evaluate runs the detection on the flow that pushed the pair's span past
// the window, sends the alert of a COMPLEX verdict, and trims the window.
func (d *Detector) evaluate(k key, p *pair, tf, tl unirec.Time, emit detectors.Emit) error {
	var err error
	switch d.verdict(p) {
	case verdictBig:
		d.big.Add(1)
		if p.id == 0 {
			d.uniqueID++
			p.id = d.uniqueID
		}
	case verdictComplex:
		if p.id == 0 {
			d.uniqueID++
			p.id = d.uniqueID
		}
		a, o := d.alert, &d.out
		a.SetIP(o.srcIP, k.src)
		a.SetIP(o.dstIP, k.dst)
		a.SetUint16(o.srcPort, d.cfg.Port)
		a.SetUint32(o.reqFlows, p.flows[query]-p.flows[qReported])
		a.SetUint32(o.reqPackets, p.packets[query]-p.packets[qReported])
		a.SetUint64(o.reqBytes, p.bytes[query]-p.bytes[qReported])
		a.SetUint32(o.rspFlows, p.flows[response]-p.flows[rReported])
		a.SetUint32(o.rspPackets, p.packets[response]-p.packets[rReported])
		a.SetUint64(o.rspBytes, p.bytes[response]-p.bytes[rReported])
		a.SetTime(o.timeFirst, p.first)
		a.SetTime(o.timeLast, tl)
		a.SetUint32(o.eventID, p.id)
		d.c.Alerts.Add(1)
		err = emit(a)
	}
	d.trim(k, p, tf, tl)
	return err
}

// trim drops the items older than Window-Period seconds (C's unsigned
// comparison: an item later than the flow counts as old too), deletes the
// pair when nothing is left, and otherwise recomputes its totals and
// marks them reported.
func (d *Detector) trim(k key, p *pair, tf, tl unirec.Time) {
	now := tl.Sec()
	limit := uint32(int32(d.cfg.Window - d.cfg.Period))
	first := tf
	for dir := range p.vec {
		v := p.vec[dir]
		kept := v[:0]
		for _, it := range v {
			if now-it.t.Sec() > limit {
				continue
			}
			kept = append(kept, it)
		}
		if len(kept) != len(v) {
			d.items -= len(v) - len(kept)
			p.pos[dir] = 0
		}
		p.vec[dir] = kept
		var fl, pk uint32
		var by uint64
		for _, it := range kept {
			fl++
			pk += it.packets
			by += it.bytes
			first = min(first, it.t)
		}
		p.flows[dir], p.packets[dir], p.bytes[dir] = fl, pk, by
		p.flows[dir+2], p.packets[dir+2], p.bytes[dir+2] = fl, pk, by
	}
	if len(p.vec[query]) == 0 && len(p.vec[response]) == 0 {
		d.release(p)
		d.pairs.Delete(k)
		d.c.Entries.Store(int64(d.pairs.Len()))
		return
	}
	p.first = first
}

// cleanup deletes the pairs whose last flow ended more than Window
// seconds before the latest flow seen.
func (d *Detector) cleanup() {
	n := d.pairs.DeleteIf(func(_ key, p *pair) bool {
		if int64(d.actual)-int64(p.last.Sec()) <= d.cfg.Window {
			return false
		}
		d.release(p)
		return true
	})
	d.c.Expired.Add(uint64(n))
	d.c.Entries.Store(int64(d.pairs.Len()))
}
