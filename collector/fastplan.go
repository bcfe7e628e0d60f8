package collector

import (
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// fastKind is a conversion of a fixed-template plan specialised for its
// wire and UniRec widths, so the per-field work is one jump and an inlined
// load and store instead of runOp's general case analysis.
type fastKind uint8

const (
	fGeneric      fastKind = iota // runOp
	fU8                           // 1 byte -> 1 byte
	fU16                          // BE 2 -> LE 2
	fU32                          // BE 4 -> LE 4
	fU64                          // BE 8 -> LE 8
	fU16to32                      // BE 2 -> LE 4
	fU32to64                      // BE 4 -> LE 8
	fU16to8                       // BE 2 -> its low byte (interface -> DIR_BIT_FIELD)
	fU32to8                       // BE 4 -> its low byte
	fScaled32                     // BE 4 * sampling -> LE 4
	fScaled32to64                 // BE 4 * sampling -> LE 8
	fScaled64                     // BE 8 * sampling -> LE 8
	fScaled64to32                 // BE 8 * sampling -> LE 4 (truncated)
	fIPv4                         // 4 bytes -> UniRec IPv4-in-ipaddr
	fIPv6                         // 16 bytes -> ipaddr
	fTimeMilli64                  // BE 8 ms since the epoch -> time
	fUptime32                     // BE 4 ms of sysUpTime -> time (opTimeUptime)
)

// fastPair is one field of a fast plan: where it is in the wire record
// and in the UniRec record, and for fUptime32 its role.
type fastPair struct {
	src, dst uint16
	role     int8
}

// fastPlan runs the ops of a fixed-template plan grouped by kind: first
// the generic ops that set record context (system init time, sampler),
// then one tight loop per specialised kind, then the other generic ops in
// their order (a duration after TIME_FIRST is set). Grouping reorders the
// ops, so it is only used when no two ops write the same UniRec field.
//
// A plan without such context ops (pre) decodes a whole data set a field
// at a time (applySet): each kind's loop runs over every record of the set
// before the next kind, so the per-kind work is done once per set rather
// than once per record.
type fastPlan struct {
	pre, post []int // indexes in plan.ops, run with runOp
	kinds     [numFastKinds][]fastPair
	// upPair are the fUptime32 FIRST and LAST fields (roles roleFirst and
	// roleLast) taken out of kinds, nil unless the plan has one of each.
	upPair *[2]fastPair
	// recInit is set when a pre op reads the record's own system init
	// time (the base of its uptimes): such plans decode a record at a
	// time. The other pre ops pick the record's sampling interval; mults
	// holds those of a set's records (applySet).
	recInit bool
	mults   []uint64
	// vars is set when an op writes a variable-length field (only a
	// record of its own can take that: no applySet for Record calls).
	vars bool
	// odidOff/expOff are the offsets of the ODID and EXPORTER_IP fields
	// the collector fills itself (plan.finish), when the plan has them.
	odidOff, expOff int
}

const numFastKinds = int(fUptime32) + 1

// compileFast builds p.fast from p.ops for a fixed-length wire template
// without lists whose ops write distinct fields; other plans keep p.fast
// nil and run the general loop.
func (p *plan) compileFast() {
	if !p.tmpl.Fixed || p.lists != nil || p.tmpl.MinLen > 1<<16-1 {
		return
	}
	fp := &fastPlan{}
	written := map[int]bool{}
	for i := range p.ops {
		o := &p.ops[i]
		if rank(o.kind) < 0 {
			fp.pre = append(fp.pre, i)
			fp.recInit = fp.recInit || o.kind == opSysInit
			continue
		}
		if written[o.dstOff] {
			return // two sources for one field: their order matters
		}
		written[o.dstOff] = true
		k := fGeneric
		switch o.kind {
		case opUint:
			if !o.signed {
				k = uintKind(o.conv, o.n, o.dstSize)
			}
		case opIPv4:
			k = fIPv4
		case opIPv6:
			k = fIPv6
		case opTimeMilli:
			if o.n == 8 {
				k = fTimeMilli64
			}
		case opTimeUptime:
			if o.n == 4 {
				k = fUptime32
			}
		}
		if k == fGeneric || o.off+o.n > p.tmpl.MinLen || o.dstOff+fastDstSize(k, o.dstSize) > p.out.StaticSize() {
			if o.role != 0 {
				return // the wrap corrections are only applied by fUptime32 here
			}
			fp.post = append(fp.post, i)
			fp.vars = fp.vars || o.kind == opVar
			continue
		}
		fp.kinds[k] = append(fp.kinds[k], fastPair{src: uint16(o.off), dst: uint16(o.dstOff), role: o.role})
	}
	// A FIRST and a LAST (one of each): decoded together a record at a
	// time, as their wrap correction depends on both.
	var first, last []int
	for i, f := range fp.kinds[fUptime32] {
		switch f.role {
		case roleFirst:
			first = append(first, i)
		case roleLast:
			last = append(last, i)
		}
	}
	if len(first) == 1 && len(last) == 1 {
		up := fp.kinds[fUptime32]
		fp.upPair = &[2]fastPair{up[first[0]], up[last[0]]}
		fp.kinds[fUptime32] = slices.DeleteFunc(up, func(f fastPair) bool { return f.role != 0 })
	}
	if p.hasODID {
		fp.odidOff = p.out.Field(p.odid).Offset
	}
	if p.hasExp {
		fp.expOff = p.out.Field(p.exporter).Offset
	}
	p.fast = fp
}

// uintKind picks the specialised unsigned conversion of an n-byte wire
// integer into a size-byte UniRec one, or fGeneric.
func uintKind(conv converters.Conv, n, size int) fastKind {
	switch conv {
	case converters.ConvDirect:
		switch {
		case n == 1 && size == 1:
			return fU8
		case n == 2 && size == 2:
			return fU16
		case n == 4 && size == 4:
			return fU32
		case n == 8 && size == 8:
			return fU64
		case n == 2 && size == 4:
			return fU16to32
		case n == 4 && size == 8:
			return fU32to64
		case n == 2 && size == 1:
			return fU16to8
		case n == 4 && size == 1:
			return fU32to8
		}
	case converters.ConvScaled:
		switch {
		case n == 4 && size == 4:
			return fScaled32
		case n == 4 && size == 8:
			return fScaled32to64
		case n == 8 && size == 8:
			return fScaled64
		case n == 8 && size == 4:
			return fScaled64to32
		}
	}
	return fGeneric
}

// applyFast is apply's field work for a fast plan, on one record.
// compileFast checked that every op reads within the wire template's
// MinLen bytes and writes within the output's static size, so with data
// and rec.Data at least that long (checked here once) the fields are
// accessed without a bounds check each (see runKinds).
//
// It reports false, having done nothing, when data or rec.Data is too
// short for that (apply then runs the general loop, which checks each field).
func (p *plan) applyFast(c *msgCtx, data []byte, rec *unirec.Record) bool {
	fp := p.fast
	if len(data) < p.tmpl.MinLen || len(rec.Data) < p.out.StaticSize() {
		return false
	}
	for _, i := range fp.pre {
		o := &p.ops[i]
		runOp(o, c, data[o.off:o.off+o.n], rec)
	}
	p.runKinds(c, data, rec.Data, 1)
	for _, i := range fp.post {
		o := &p.ops[i]
		runOp(o, c, data[o.off:o.off+o.n], rec)
	}
	return true
}

// setWise reports whether applySet can decode this plan's data sets: a
// fast plan whose records carry no system init time of their own.
func (p *plan) setWise() bool { return p.fast != nil && !p.fast.recInit }

// applySet decodes n records of a setWise plan, n*MinLen bytes of data
// back to back, into out: n records of the output's static size, zeroed
// by the caller (an output without variable-length fields: BatchSink). It decodes like n calls of apply (followed by finish),
// one kind of field at a time over all n records. It reports false,
// having done nothing, when data or out is shorter than that.
func (p *plan) applySet(c *msgCtx, data, out []byte, n int) bool {
	fp := p.fast
	recLen, size := p.tmpl.MinLen, p.out.StaticSize()
	if n <= 0 || len(data) < n*recLen || len(out) < n*size {
		return false
	}
	c.recInit = c.sysInit
	c.sampling = c.base
	c.firstAdj, c.lastAdj = 0, 0
	var mults []uint64 // the records' sampling intervals, when they pick them
	if len(fp.pre) > 0 {
		mults = p.recordMults(c, data, n)
		c.sampling = 1 // the kinds store the counters unscaled, rescale scales them
	}
	p.runKinds(c, data, out, n)
	if mults != nil {
		p.rescale(out, mults)
	}
	for r := 0; r < n && len(fp.post) > 0; r++ {
		rec := unirec.Record{T: p.out, Data: out[r*size : (r+1)*size : (r+1)*size]}
		src := data[r*recLen : (r+1)*recLen]
		if mults != nil {
			c.sampling = mults[r]
		}
		for _, i := range fp.post {
			o := &p.ops[i]
			runOp(o, c, src[o.off:o.off+o.n], &rec)
		}
	}
	if p.hasODID {
		for r := range n {
			binary.LittleEndian.PutUint32(out[r*size+fp.odidOff:], c.domain)
		}
	}
	if p.hasExp {
		for r := range n {
			*(*[16]byte)(out[r*size+fp.expOff:]) = c.exporter
		}
	}
	return true
}

// recordMults returns the sampling interval each of the n records picks
// with its sampler id (the pre ops of a setWise plan are opSampler, as
// runOp runs them), the session's where it names none that is known.
// Records of a set mostly name the same sampler: its interval is looked
// up once.
func (p *plan) recordMults(c *msgCtx, data []byte, n int) []uint64 {
	fp := p.fast
	if cap(fp.mults) < n {
		fp.mults = make([]uint64, n)
	}
	mults := fp.mults[:n]
	recLen := p.tmpl.MinLen
	var lastID, lastRate uint64
	looked := false
	for r := range mults {
		src := data[r*recLen : (r+1)*recLen]
		m := c.base
		for _, i := range fp.pre {
			o := &p.ops[i]
			id := uintBE(src[o.off : o.off+o.n])
			if !looked || id != lastID {
				lastID, lastRate, looked = id, c.samplerRate(id), true
			}
			if lastRate != 0 {
				m = lastRate
			}
		}
		mults[r] = m
	}
	return mults
}

// rescale multiplies the scaled counters that runKinds stored unscaled
// by each record's sampling interval. The product in the field's width is
// the one runKinds makes of the wire value (multiplication commutes with
// the truncation to 4 bytes).
func (p *plan) rescale(out []byte, mults []uint64) {
	fp := p.fast
	size := p.out.StaticSize()
	for _, k := range [...]fastKind{fScaled32, fScaled32to64, fScaled64, fScaled64to32} {
		wide := k == fScaled32to64 || k == fScaled64
		for _, f := range fp.kinds[k] {
			for r, m := range mults {
				if m == 1 {
					continue
				}
				d := out[r*size+int(f.dst):]
				if wide {
					binary.LittleEndian.PutUint64(d, binary.LittleEndian.Uint64(d)*m)
				} else {
					binary.LittleEndian.PutUint32(d, uint32(uint64(binary.LittleEndian.Uint32(d))*m))
				}
			}
		}
	}
}

// runKinds runs the specialised kinds of the fast plan over n records:
// data holds them back to back (MinLen bytes each), out their UniRec
// forms (the output's static size each). The callers checked that data
// and out hold n records, and compileFast that every field lies within
// its record, so fields are accessed by unsafe.Add on the two base
// pointers, as fixed-size arrays, without a bounds check each.
func (p *plan) runKinds(c *msgCtx, data, out []byte, n int) {
	fp := p.fast
	recLen, size := p.tmpl.MinLen, p.out.StaticSize()
	end := n * recLen // the loops' bound on a field's offset in data
	sp := unsafe.Pointer(unsafe.SliceData(data))
	dp := unsafe.Pointer(unsafe.SliceData(out))
	src1 := func(off int) *byte { return (*byte)(unsafe.Add(sp, off)) }
	src2 := func(off int) []byte { return (*[2]byte)(unsafe.Add(sp, off))[:] }
	src4 := func(off int) []byte { return (*[4]byte)(unsafe.Add(sp, off))[:] }
	src8 := func(off int) []byte { return (*[8]byte)(unsafe.Add(sp, off))[:] }
	dst1 := func(off int) *byte { return (*byte)(unsafe.Add(dp, off)) }
	dst2 := func(off int) []byte { return (*[2]byte)(unsafe.Add(dp, off))[:] }
	dst4 := func(off int) []byte { return (*[4]byte)(unsafe.Add(dp, off))[:] }
	dst8 := func(off int) []byte { return (*[8]byte)(unsafe.Add(dp, off))[:] }
	// Each loop walks one field through the n records: s and d are its
	// offsets in the current wire and UniRec record.
	for _, f := range fp.kinds[fU8] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			*dst1(d) = *src1(s)
		}
	}
	for _, f := range fp.kinds[fU16] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint16(dst2(d), binary.BigEndian.Uint16(src2(s)))
		}
	}
	for _, f := range fp.kinds[fU32] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint32(dst4(d), binary.BigEndian.Uint32(src4(s)))
		}
	}
	for _, f := range fp.kinds[fU64] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint64(dst8(d), binary.BigEndian.Uint64(src8(s)))
		}
	}
	for _, f := range fp.kinds[fU16to32] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint32(dst4(d), uint32(binary.BigEndian.Uint16(src2(s))))
		}
	}
	for _, f := range fp.kinds[fU32to64] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint64(dst8(d), uint64(binary.BigEndian.Uint32(src4(s))))
		}
	}
	for _, f := range fp.kinds[fU16to8] {
		for s, d := int(f.src)+1, int(f.dst); s < end; s, d = s+recLen, d+size {
			*dst1(d) = *src1(s)
		}
	}
	for _, f := range fp.kinds[fU32to8] {
		for s, d := int(f.src)+3, int(f.dst); s < end; s, d = s+recLen, d+size {
			*dst1(d) = *src1(s)
		}
	}
	m := c.sampling
	for _, f := range fp.kinds[fScaled32] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint32(dst4(d), uint32(uint64(binary.BigEndian.Uint32(src4(s)))*m))
		}
	}
	for _, f := range fp.kinds[fScaled32to64] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint64(dst8(d), uint64(binary.BigEndian.Uint32(src4(s)))*m)
		}
	}
	for _, f := range fp.kinds[fScaled64] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint64(dst8(d), binary.BigEndian.Uint64(src8(s))*m)
		}
	}
	for _, f := range fp.kinds[fScaled64to32] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint32(dst4(d), uint32(binary.BigEndian.Uint64(src8(s))*m))
		}
	}
	for _, f := range fp.kinds[fIPv4] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			// UniRec IPv4 layout: 8 zero bytes, the address, ff ff ff ff.
			binary.LittleEndian.PutUint64(dst8(d), 0)
			binary.LittleEndian.PutUint64(dst8(d+8), uint64(binary.LittleEndian.Uint32(src4(s)))|0xFFFFFFFF<<32)
		}
	}
	for _, f := range fp.kinds[fIPv6] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			*(*[16]byte)(unsafe.Add(dp, d)) = *(*[16]byte)(unsafe.Add(sp, s))
		}
	}
	for _, f := range fp.kinds[fTimeMilli64] {
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			binary.LittleEndian.PutUint64(dst8(d), uint64(timeFromUnixMilli(binary.BigEndian.Uint64(src8(s)))))
		}
	}
	// sysUpTime-relative times: relative to the record's system init time
	// when there is one, else to the header's uptime, corrected for the
	// counter's wrap (see wrapAdj) when the record has both FIRST and LAST.
	base := c.uptimeBase
	if c.recInit != 0 {
		base = int64(c.recInit)
	}
	wrap := c.recInit == 0 && c.netflowTime && p.upFirst >= 0 && p.upLast >= 0
	lateWrap, sysUptime := c.lateWrap, c.sysUptime
	if up := fp.upPair; up != nil {
		fs, fd, ls, ld := int(up[0].src), int(up[0].dst), int(up[1].src), int(up[1].dst)
		for s, d := 0, 0; s < end; s, d = s+recLen, d+size {
			first, last := binary.BigEndian.Uint32(src4(s+fs)), binary.BigEndian.Uint32(src4(s+ls))
			var firstAdj, lastAdj int64
			if wrap {
				firstAdj, lastAdj = wrapAdj(lateWrap, sysUptime, first, last)
			}
			binary.LittleEndian.PutUint64(dst8(d+fd), uint64(timeFromUnixMilli(uint64(max(base+firstAdj+int64(first), 0)))))
			binary.LittleEndian.PutUint64(dst8(d+ld), uint64(timeFromUnixMilli(uint64(max(base+lastAdj+int64(last), 0)))))
		}
	}
	for _, f := range fp.kinds[fUptime32] {
		if !wrap || f.role == 0 {
			for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
				abs := base + int64(binary.BigEndian.Uint32(src4(s)))
				binary.LittleEndian.PutUint64(dst8(d), uint64(timeFromUnixMilli(uint64(max(abs, 0)))))
			}
			continue
		}
		// The record's FIRST and LAST relative to this field.
		fo, lo := p.upFirstOff-int(f.src), p.upLastOff-int(f.src)
		isFirst := f.role == roleFirst
		for s, d := int(f.src), int(f.dst); s < end; s, d = s+recLen, d+size {
			firstAdj, lastAdj := wrapAdj(lateWrap, sysUptime, binary.BigEndian.Uint32(src4(s+fo)), binary.BigEndian.Uint32(src4(s+lo)))
			abs := base + lastAdj
			if isFirst {
				abs = base + firstAdj
			}
			abs += int64(binary.BigEndian.Uint32(src4(s)))
			binary.LittleEndian.PutUint64(dst8(d), uint64(timeFromUnixMilli(uint64(max(abs, 0)))))
		}
	}
}

// msecToFrac converts milliseconds (below 1000) to the fraction of a
// UniRec time in one multiplication: ur_time_from_sec_msec's
// (msec*10^6 * nsecToFrac) >> 32 with nsecToFrac = 0x44B82FA0A, whose
// product stays below 2^64 for msec < 1000, so it is the same number.
const msecToFrac = 1_000_000 * 0x44B82FA0A

// timeFromUnixMilli is unirec.TimeFromUnixMilli (bit for bit, see its
// test) with the second's fraction in one multiplication.
func timeFromUnixMilli(ms uint64) unirec.Time {
	sec, msec := ms/1000, ms%1000
	return unirec.Time(uint64(uint32(sec))<<32 | msec*msecToFrac>>32)
}

// fastDstSize is how many bytes of the UniRec record op kind k writes.
func fastDstSize(k fastKind, size int) int {
	switch k {
	case fIPv4, fIPv6:
		return 16
	case fTimeMilli64, fUptime32:
		return 8
	}
	return size
}
