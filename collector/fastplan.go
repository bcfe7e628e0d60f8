package collector

import (
	"encoding/binary"
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
type fastPlan struct {
	pre, post []int // indexes in plan.ops, run with runOp
	kinds     [numFastKinds][]fastPair
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
			fp.post = append(fp.post, i)
			continue
		}
		fp.kinds[k] = append(fp.kinds[k], fastPair{src: uint16(o.off), dst: uint16(o.dstOff), role: o.role})
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

// applyFast is apply's field work for a fast plan. compileFast checked
// that every op reads within the wire template's MinLen bytes and writes
// within the output's static size, so with data and rec.Data at least that
// long (checked here once) the fields are accessed without a bounds check
// each: unsafe.Add on the two base pointers, as fixed-size arrays.
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
	sp := unsafe.Pointer(unsafe.SliceData(data))
	dp := unsafe.Pointer(unsafe.SliceData(rec.Data))
	src2 := func(off uint16) []byte { return (*[2]byte)(unsafe.Add(sp, off))[:] }
	src4 := func(off uint16) []byte { return (*[4]byte)(unsafe.Add(sp, off))[:] }
	src8 := func(off uint16) []byte { return (*[8]byte)(unsafe.Add(sp, off))[:] }
	dst2 := func(off uint16) []byte { return (*[2]byte)(unsafe.Add(dp, off))[:] }
	dst4 := func(off uint16) []byte { return (*[4]byte)(unsafe.Add(dp, off))[:] }
	dst8 := func(off uint16) []byte { return (*[8]byte)(unsafe.Add(dp, off))[:] }
	for _, f := range fp.kinds[fU8] {
		*(*byte)(unsafe.Add(dp, f.dst)) = *(*byte)(unsafe.Add(sp, f.src))
	}
	for _, f := range fp.kinds[fU16] {
		binary.LittleEndian.PutUint16(dst2(f.dst), binary.BigEndian.Uint16(src2(f.src)))
	}
	for _, f := range fp.kinds[fU32] {
		binary.LittleEndian.PutUint32(dst4(f.dst), binary.BigEndian.Uint32(src4(f.src)))
	}
	for _, f := range fp.kinds[fU64] {
		binary.LittleEndian.PutUint64(dst8(f.dst), binary.BigEndian.Uint64(src8(f.src)))
	}
	for _, f := range fp.kinds[fU16to32] {
		binary.LittleEndian.PutUint32(dst4(f.dst), uint32(binary.BigEndian.Uint16(src2(f.src))))
	}
	for _, f := range fp.kinds[fU32to64] {
		binary.LittleEndian.PutUint64(dst8(f.dst), uint64(binary.BigEndian.Uint32(src4(f.src))))
	}
	for _, f := range fp.kinds[fU16to8] {
		*(*byte)(unsafe.Add(dp, f.dst)) = *(*byte)(unsafe.Add(sp, f.src+1))
	}
	for _, f := range fp.kinds[fU32to8] {
		*(*byte)(unsafe.Add(dp, f.dst)) = *(*byte)(unsafe.Add(sp, f.src+3))
	}
	m := c.sampling
	for _, f := range fp.kinds[fScaled32] {
		binary.LittleEndian.PutUint32(dst4(f.dst), uint32(uint64(binary.BigEndian.Uint32(src4(f.src)))*m))
	}
	for _, f := range fp.kinds[fScaled32to64] {
		binary.LittleEndian.PutUint64(dst8(f.dst), uint64(binary.BigEndian.Uint32(src4(f.src)))*m)
	}
	for _, f := range fp.kinds[fScaled64] {
		binary.LittleEndian.PutUint64(dst8(f.dst), binary.BigEndian.Uint64(src8(f.src))*m)
	}
	for _, f := range fp.kinds[fScaled64to32] {
		binary.LittleEndian.PutUint32(dst4(f.dst), uint32(binary.BigEndian.Uint64(src8(f.src))*m))
	}
	for _, f := range fp.kinds[fIPv4] {
		// UniRec IPv4 layout: 8 zero bytes, the address, ff ff ff ff.
		binary.LittleEndian.PutUint64(dst8(f.dst), 0)
		binary.LittleEndian.PutUint32(dst4(f.dst+8), binary.LittleEndian.Uint32(src4(f.src)))
		binary.LittleEndian.PutUint32(dst4(f.dst+12), 0xFFFFFFFF)
	}
	for _, f := range fp.kinds[fIPv6] {
		*(*[16]byte)(unsafe.Add(dp, f.dst)) = *(*[16]byte)(unsafe.Add(sp, f.src))
	}
	for _, f := range fp.kinds[fTimeMilli64] {
		binary.LittleEndian.PutUint64(dst8(f.dst), uint64(unirec.TimeFromUnixMilli(binary.BigEndian.Uint64(src8(f.src)))))
	}
	for _, f := range fp.kinds[fUptime32] {
		v := int64(binary.BigEndian.Uint32(src4(f.src)))
		var abs int64
		if c.recInit != 0 {
			abs = int64(c.recInit) + v
		} else {
			abs = c.uptimeBase + v
			switch f.role {
			case roleFirst:
				abs += c.firstAdj
			case roleLast:
				abs += c.lastAdj
			}
		}
		binary.LittleEndian.PutUint64(dst8(f.dst), uint64(unirec.TimeFromUnixMilli(uint64(max(abs, 0)))))
	}
	for _, i := range fp.post {
		o := &p.ops[i]
		runOp(o, c, data[o.off:o.off+o.n], rec)
	}
	return true
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
