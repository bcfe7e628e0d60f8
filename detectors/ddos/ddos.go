// Package ddos is the Go port of NEMEA's ddos_detector (detectors.md §6):
// per destination (IPv4, optionally a prefix) it keeps 7 windows of 60 s
// of bytes and approximate distinct source prefixes, declares a flood
// when two consecutive windows exceed t times the bytes and c times the
// sources of the windows before, re-reports it every 5 minutes while it
// lasts and once more when it ends. Time is flow time (TIME_LAST) only.
//
// The arithmetic is the C module's, quirks included (§8.3 item 6): a
// flow spanning three or more windows feeds only its two newest, sources
// hash into a 512-bit table by (address % 511), all averages are integer.
// Differences: EVENT_ID is deterministic ((flood number << 32) + DST_IP
// instead of rand() << 32); end of stream is checked before any field is
// read; a /0 mask masks everything; the destination table is capped
// (Config.MaxRecords) with eviction.
package ddos

import (
	"cmp"
	"slices"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// InputSpec is the set of fields the detector reads.
const InputSpec = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST"

// OutputSpec is the C module's alert template, in canonical order.
const OutputSpec = "ipaddr DST_IP,uint64 AVG_BYTES_CURRENT,uint64 AVG_BYTES_ORIGINAL,uint64 BYTES,uint64 EVENT_ID,time TIME_FIRST,time TIME_LAST,uint32 AVG_IP_CNT_CURRENT,uint32 AVG_IP_CNT_ORIGINAL,uint16 EVENT_SEQ"

// Compile-time constants of the C module.
const (
	interval      = 60                           // seconds per window
	nWindows      = 7                            // (MAX_FLOW_LEN 330 + MAX_FLOW_DELAY 90) / 60
	maxClockJump  = nWindows * interval          // a larger jump of the clock re-initialises
	hashMod       = 511                          // N_TABLE_SIZE - 1: the C hash modulus
	reportBetween = 300                          // MIN_TIME_BETWEEN_REPORT
	srcbitWords   = 512 / 64                     // the 512-bit source table
	lookBack      = nWindows*interval - interval // 360: offset of W[0] before S
)

// record is one destination's history. Windows are kept in ring order:
// chronological window W[k] lives at slot (Detector.idx + 1 + k) % 7.
type record struct {
	bytes   [nWindows]uint64
	srcs    [nWindows]uint16
	total   uint64
	srcbits [srcbitWords]uint64
	flood   *flood // nil: none; floods are rare, so they live apart
}

type flood struct {
	dst          uint32
	uuid         uint64
	lastReported int64
	totalBytes   uint64
	msgCnt       uint8
	valid        bool
	avgFlowOrig  uint64 // bytes per window
	avgIPOrig    uint64
	avgFlowCur   uint64
	avgIPCur     uint64
	windowCnt    uint8
}

// Detector is one ddos_detector instance. Process is not safe for
// concurrent use; Stats is.
type Detector struct {
	cfg                         Config
	minAttack, minBefore, prune uint64
	srcMask, dstMask            uint32

	in struct{ dst, src, bytes, first, last unirec.FieldID }

	recs *detectors.Table[uint32, record]
	last struct {
		key uint32
		rec *record
		ok  bool
	} // the record of the previous flow, while the table is unchanged
	keys        []uint32 // reused for key-ordered walks
	currentTime int64
	start       int64 // S: start of the current window
	idx         int   // ring index of the current window (C's current_int_idx)
	floods      uint64

	out      unirec.Record
	o        struct{ dst, avgCur, avgOrig, bytes, id, first, last, ipCur, ipOrig, seq unirec.FieldID }
	emit     detectors.Emit
	err      error   // first emit error inside a callback
	deferred bool    // reports wait in pending (during a window move)
	pending  []alert // reports of the current window move
	unpub    uint64  // records not yet added to ctr.Records

	ctr     detectors.Counters
	skipped struct{ negDuration, floodsDropped uint64 }
}

// New returns a detector with cfg.
func New(cfg Config) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ot, err := unirec.ParseTemplate(OutputSpec)
	if err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:       cfg,
		minAttack: cfg.minAttackBytes(),
		minBefore: cfg.minBeforeBytes(),
		prune:     cfg.pruneBytes(),
		srcMask:   mask(cfg.SrcMask),
		dstMask:   mask(cfg.DstMask),
		recs:      detectors.NewTable[uint32, record](cfg.MaxRecords),
		idx:       nWindows - 1,
		out:       ot.NewRecord(),
	}
	if err := detectors.Resolve(ot, "ipaddr DST_IP,uint64 AVG_BYTES_CURRENT,uint64 AVG_BYTES_ORIGINAL,uint64 BYTES,uint64 EVENT_ID,time TIME_FIRST,time TIME_LAST,uint32 AVG_IP_CNT_CURRENT,uint32 AVG_IP_CNT_ORIGINAL,uint16 EVENT_SEQ",
		&d.o.dst, &d.o.avgCur, &d.o.avgOrig, &d.o.bytes, &d.o.id, &d.o.first, &d.o.last, &d.o.ipCur, &d.o.ipOrig, &d.o.seq); err != nil {
		return nil, err
	}
	d.recs.OnEvict = func(_ uint32, r *record) {
		d.ctr.Evicted.Add(1)
		d.finalReport(r)
	}
	return d, nil
}

// InputSpec returns the fields the detector reads.
func (d *Detector) InputSpec() string { return InputSpec }

// OutputSpec returns the alert template.
func (d *Detector) OutputSpec() string { return OutputSpec }

// Bind resolves the input fields in the sender's template.
func (d *Detector) Bind(t *unirec.Template) error {
	return detectors.Resolve(t, InputSpec, &d.in.dst, &d.in.src, &d.in.bytes, &d.in.first, &d.in.last)
}

// Stats returns the counters. Records is published in steps of 1024
// while flows come, exactly after Finish. Extra: "negative_duration" (flows with
// TIME_LAST before TIME_FIRST, skipped as in C) and "floods_dropped"
// (floods that could not be validated: C exits there).
func (d *Detector) Stats() detectors.Stats {
	s := d.ctr.Snapshot()
	s.Extra = map[string]uint64{"negative_duration": d.skipped.negDuration, "floods_dropped": d.skipped.floodsDropped}
	return s
}

// slot returns the ring slot of chronological window k (0 oldest, 6 current).
func (d *Detector) slot(k int) int { return (d.idx + 1 + k) % nWindows }

// Process handles one flow.
func (d *Detector) Process(rec unirec.Record, emit detectors.Emit) error {
	// The shared counter is updated in batches: an atomic add per record
	// costs more than the rest of a typical record's work.
	if d.unpub++; d.unpub == 1024 {
		d.ctr.Records.Add(d.unpub)
		d.unpub = 0
	}
	dstIP := rec.IP(d.in.dst)
	dst, ok := detectors.IPv4(dstIP)
	if !ok {
		d.ctr.IPv6Skipped.Add(1)
		return nil
	}
	dst &= d.dstMask
	// IPv6 sources are hashed by bytes 8..11, as ip_get_v4_as_int reads them.
	sip := rec.IP(d.in.src)
	src := (uint32(sip[8])<<24 | uint32(sip[9])<<16 | uint32(sip[10])<<8 | uint32(sip[11])) & d.srcMask
	d.emit, d.err = emit, nil

	fe := int64(rec.Time(d.in.last).Sec())
	if fe > d.currentTime {
		if fe-d.currentTime > maxClockJump {
			d.flushAll()
			d.start = fe - fe%interval
		}
		d.currentTime = fe
	}
	if d.currentTime >= d.start+interval {
		move := int((d.currentTime - d.start) / interval)
		d.moveWindows(move)
		d.idx = (d.idx + move) % nWindows
		d.start += interval * int64(move)
	}

	// Flows of one destination tend to come together: the last record
	// found is kept until the table next changes (not counting its touch).
	r := d.last.rec
	if !d.last.ok || d.last.key != dst {
		var isNew bool
		r, isNew, _ = d.recs.Upsert(dst)
		if isNew {
			*r = record{}
			d.ctr.Entries.Store(int64(d.recs.Len()))
		}
		d.last.key, d.last.rec, d.last.ok = dst, r, true
	}
	fs := int64(rec.Time(d.in.first).Sec())
	if fe < fs {
		d.skipped.negDuration++
		return d.err
	}
	dur := uint64(fe - fs + 1)

	h := src % hashMod
	if r.srcbits[h/64]&(1<<(h%64)) == 0 {
		r.srcbits[h/64] |= 1 << (h % 64)
		r.srcs[d.slot(nWindows-1)]++
	}

	b := rec.Uint64(d.in.bytes)
	for i := 0; i < nWindows && b > 0; i++ {
		s := d.slot(nWindows - 1 - i)
		st := d.start - interval*int64(i)
		en := st + interval
		switch {
		case fe < st:
			continue
		case fs >= st:
			r.bytes[s] += b
			r.total += b
			b = 0
		case fe > en:
			// C bug kept: the rest of a flow spanning 3+ windows is dropped.
			part := b * interval / dur
			r.bytes[s] += part
			r.total += part
			b = 0
		default:
			sec := uint64(fe - st + 1)
			part := b * sec / dur
			r.bytes[s] += part
			r.total += part
			b -= part
			dur -= sec
		}
	}

	if r.flood == nil && d.anyAbove(r) {
		d.detect(r, dst)
	}
	return d.err
}

// anyAbove is detect's cheap precondition: a flood needs windows above
// the minimal attack size.
func (d *Detector) anyAbove(r *record) bool {
	for _, b := range r.bytes {
		if b > d.minAttack {
			return true
		}
	}
	return false
}

// detect looks for two consecutive windows far above the average of the
// non-empty run of windows before them (§6.5 step 10).
func (d *Detector) detect(r *record, dst uint32) {
	e := 0
	for e < nWindows-2 && r.bytes[d.slot(e)] == 0 {
		e++
	}
	t, c := uint64(d.cfg.FlowRate), uint64(d.cfg.IPCountRate)
	var sumB, sumS uint64
	for p := e; p <= nWindows-3; p++ {
		sumB += r.bytes[d.slot(p)]
		sumS += uint64(r.srcs[d.slot(p)])
		n := uint64(p + 1 - e)
		avgB, avgS := sumB/n, sumS/n
		b1, b2 := r.bytes[d.slot(p+1)], r.bytes[d.slot(p+2)]
		s1, s2 := uint64(r.srcs[d.slot(p+1)]), uint64(r.srcs[d.slot(p+2)])
		if avgB*t < b1 && avgB*t < b2 && b1 > d.minAttack && b2 > d.minAttack && avgS*c < s1 && avgS*c < s2 {
			d.floods++
			r.flood = &flood{
				dst:          dst,
				uuid:         d.floods<<32 + uint64(dst),
				lastReported: d.start - interval*int64(nWindows-2-p),
			}
			return
		}
	}
}

// sortedKeys returns the destinations in ascending order (C walks a B+ tree).
func (d *Detector) sortedKeys() []uint32 {
	d.keys = d.keys[:0]
	d.recs.Range(func(k uint32, _ *record) bool {
		d.keys = append(d.keys, k)
		return true
	})
	slices.Sort(d.keys)
	return d.keys
}

// moveWindows is move_window(move) over every record before S advances
// (§6.7). C walks the records in key order; a record reports at most
// once per move, so the records are walked in table order and the
// reports are sent afterwards, sorted by key: the same alerts in the same
// order without sorting every key every minute.
func (d *Detector) moveWindows(move int) {
	d.last.ok = false
	d.deferred = true
	n := d.recs.DeleteIf(func(_ uint32, r *record) bool { return d.moveRecord(r, move) })
	d.ctr.Expired.Add(uint64(n))
	d.ctr.Entries.Store(int64(d.recs.Len()))
	d.deferred = false
	slices.SortFunc(d.pending, func(a, b alert) int { return cmp.Compare(a.dst, b.dst) })
	for _, a := range d.pending {
		d.send(a)
	}
	d.pending = d.pending[:0]
}

// moveRecord is move_window for one record; it reports whether the
// record is pruned.
func (d *Detector) moveRecord(r *record, move int) (prune bool) {
	t, c := uint64(d.cfg.FlowRate), uint64(d.cfg.IPCountRate)
	f := r.flood
	if r.flood != nil && f.valid {
		last := -1
		for w := nWindows - 1; w >= 0; w-- {
			s := d.slot(w)
			if r.bytes[s] >= t*f.avgFlowOrig && uint64(r.srcs[s]) >= c*f.avgIPOrig {
				last = w
				break
			}
		}
		switch {
		case last == -1:
			if f.avgFlowOrig >= d.minBefore {
				d.report(f, d.start+interval)
			}
			r.flood = nil
		case last < move:
			for w := 0; w <= last; w++ {
				f.totalBytes += r.bytes[d.slot(w)] - f.avgFlowOrig // unsigned, wraps as in C
			}
			if f.avgFlowOrig >= d.minBefore {
				d.report(f, d.start+interval)
			}
			r.flood = nil
		}
	}
	if r.flood != nil && !f.valid {
		n := int((f.lastReported - d.start + lookBack) / interval)
		e := 0
		for e < n && r.bytes[d.slot(e)] == 0 {
			e++
		}
		if n <= 0 || e >= n || n > nWindows {
			// C prints an error and exits here; unreachable in practice.
			d.skipped.floodsDropped++
			r.flood = nil
		} else {
			var sb, ss uint64
			for w := e; w < n; w++ {
				sb += r.bytes[d.slot(w)]
				ss += uint64(r.srcs[d.slot(w)])
			}
			f.avgFlowOrig = sb / uint64(n-e)
			f.avgIPOrig = ss / uint64(n-e)
			f.valid = true
		}
	}
	if r.flood != nil {
		k0 := max(0, int((f.lastReported-d.start+lookBack)/interval))
		for w := k0; w < move; w++ {
			s := d.slot(w)
			if r.bytes[s] > f.avgFlowOrig {
				f.totalBytes += r.bytes[s] - f.avgFlowOrig
				f.avgFlowCur += r.bytes[s]
				f.avgIPCur += uint64(r.srcs[s])
				f.windowCnt++
			}
		}
	}
	for w := 0; w < move; w++ {
		s := d.slot(w)
		r.total -= r.bytes[s]
		r.bytes[s], r.srcs[s] = 0, 0
	}
	r.srcbits = [srcbitWords]uint64{}
	if r.total <= d.prune {
		if r.flood != nil && f.valid && f.avgFlowOrig >= d.minBefore {
			d.report(f, d.start+interval)
		}
		return true
	}
	tl := d.start - interval*int64(nWindows-1-move)
	if r.flood != nil && f.lastReported+reportBetween <= tl {
		if f.avgFlowOrig >= d.minBefore {
			d.report(f, tl)
		} else {
			r.flood = nil
		}
	}
	return false
}

// finalReport is delete_tree's report of one record's validated flood:
// every window counts towards the current averages (§6.8).
func (d *Detector) finalReport(r *record) {
	f := r.flood
	if f == nil {
		return
	}
	r.flood = nil
	if !f.valid {
		return
	}
	for s := range nWindows {
		if r.bytes[s] > f.avgFlowOrig {
			f.totalBytes += r.bytes[s] - f.avgFlowOrig
		}
		f.avgFlowCur += r.bytes[s]
		f.avgIPCur += uint64(r.srcs[s])
		f.windowCnt++
	}
	if f.avgFlowOrig >= d.minBefore {
		d.report(f, d.start+interval)
	}
}

// flushAll reports every validated flood and forgets every destination
// (re-initialisation and end of stream).
func (d *Detector) flushAll() {
	d.last.ok = false
	for _, k := range d.sortedKeys() {
		r, _ := d.recs.Get(k)
		d.finalReport(r)
		d.recs.Delete(k)
	}
	d.ctr.Entries.Store(0)
}

// alert is one report's values.
type alert struct {
	dst                        uint32
	bytes, avgCur, avgOrig, id uint64
	first, last                int64
	ipCur, ipOrig              uint32
	seq                        uint16
}

// report emits one alert for f and starts its next reporting span (§6.6).
// During a window move the alert waits in pending (see moveWindows).
func (d *Detector) report(f *flood, tl int64) {
	if f.windowCnt > 0 {
		f.avgFlowCur /= uint64(f.windowCnt) * interval
		f.avgIPCur /= uint64(f.windowCnt)
	} else {
		f.avgFlowCur, f.avgIPCur = 0, 0
	}
	if tl == 0 {
		tl = f.lastReported
	}
	a := alert{dst: f.dst, bytes: f.totalBytes, avgCur: f.avgFlowCur, avgOrig: f.avgFlowOrig / interval, id: f.uuid,
		first: f.lastReported, last: tl, ipCur: uint32(f.avgIPCur), ipOrig: uint32(f.avgIPOrig), seq: uint16(f.msgCnt)}
	f.lastReported = tl
	f.msgCnt++
	f.totalBytes, f.avgFlowCur, f.avgIPCur, f.windowCnt = 0, 0, 0, 0
	d.ctr.Alerts.Add(1)
	if d.deferred {
		d.pending = append(d.pending, a)
		return
	}
	d.send(a)
}

func (d *Detector) send(a alert) {
	if d.emit == nil || d.err != nil {
		return
	}
	o := d.out
	o.SetIP(d.o.dst, detectors.IPFromV4(a.dst))
	o.SetUint64(d.o.bytes, a.bytes)
	o.SetTime(d.o.first, unirec.TimeFromSecMsec(uint32(a.first), 0))
	o.SetTime(d.o.last, unirec.TimeFromSecMsec(uint32(a.last), 0))
	o.SetUint64(d.o.id, a.id)
	o.SetUint16(d.o.seq, a.seq)
	o.SetUint64(d.o.avgCur, a.avgCur)
	o.SetUint64(d.o.avgOrig, a.avgOrig)
	o.SetUint32(d.o.ipCur, a.ipCur)
	o.SetUint32(d.o.ipOrig, a.ipOrig)
	d.err = d.emit(o)
}

// Finish reports the validated floods still open (C's delete_tree at
// exit). It does not forward end of stream.
func (d *Detector) Finish(emit detectors.Emit) error {
	d.ctr.Records.Add(d.unpub)
	d.unpub = 0
	d.emit, d.err = emit, nil
	d.flushAll()
	return d.err
}
