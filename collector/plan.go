package collector

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// ntpEpochOffset is the number of seconds from 1900-01-01 (NTP era 0) to the Unix epoch.
const ntpEpochOffset = 2208988800

type opKind uint8

const (
	opUint        opKind = iota // big-endian unsigned -> any UniRec integer
	opFloat                     // float32/float64 -> float/double
	opIPv4                      // 4 bytes -> ipaddr
	opIPv6                      // 16 bytes -> ipaddr
	opMAC                       // 6 bytes -> macaddr
	opTimeSec                   // dateTimeSeconds
	opTimeMilli                 // dateTimeMilliseconds
	opTimeNTP                   // dateTimeMicroseconds / Nanoseconds (NTP format)
	opTimeUptime                // ms relative to system init (sysUpTime)
	opTimeDeltaUs               // µs before the export time
	opVar                       // string / octetArray -> string / bytes
	opSysInit                   // systemInitTimeMilliseconds in the record: context for opTimeUptime
	opDuration                  // flowDurationMilli/Microseconds: TIME_LAST = TIME_FIRST + duration
	opSampler                   // samplerId / selectorId in the record: picks that sampler's interval
	opArray                     // a field whose UniRec target is an array: one more element
	opList                      // basicList / subTemplateList / subTemplateMultiList (RFC 6313)
)

// op converts one wire field into one UniRec field.
type op struct {
	kind    opKind
	conv    converters.Conv
	field   int // index in the wire template
	off     int // byte offset in the record (fixed templates)
	n       int // wire length (fixed fields)
	dst     unirec.FieldID
	dstType unirec.Type
	dstOff  int    // byte offset of the fixed UniRec field (unirec.Field.Offset)
	dstSize int    // its size in bytes
	micro   bool   // opTimeNTP: dateTimeMicroseconds (low 11 fraction bits are not significant)
	srcOff  int    // opDuration: offset of TIME_FIRST in the UniRec record
	role    int8   // opTimeUptime: roleFirst or roleLast (wrap handling), else 0
	signed  bool   // opUint: a signed element in fewer than 8 bytes, sign-extended
	slot    int    // opArray: index of the array's scratch buffer (listState.arrays)
	elem    opKind // opArray: the conversion of one element
}

// Roles of the sysUpTime-relative flow times (NetFlow v5/v9 FIRST_SWITCHED
// and LAST_SWITCHED), whose 32-bit counter wraps every 49.7 days.
const (
	roleFirst int8 = 1
	roleLast  int8 = 2
)

// plan is the compiled conversion of one wire template into one UniRec
// template. It is owned by one session and used under the decoder's lock.
type plan struct {
	out      *unirec.Template
	tmpl     *Template
	ops      []op
	odid     unirec.FieldID
	exporter unirec.FieldID
	hasODID  bool
	hasExp   bool
	// offs/lens are scratch space for variable-length templates.
	offs, lens []int
	// upFirst/upLast are the wire fields of flowStartSysUpTime (22) and
	// flowEndSysUpTime (21), -1 when absent: the uptime wrap needs both.
	// upFirstOff/upLastOff are their offsets in a fixed template.
	upFirst, upLast       int
	upFirstOff, upLastOff int
	lists                 *listState // nil unless the plan has list or array ops
	// fast is ops specialised by width (fixed templates without lists),
	// nil when the general loop runs.
	fast *fastPlan
}

// msgCtx is the per-message context the ops need.
type msgCtx struct {
	uptimeBase int64 // ms: absolute time of sysUpTime 0 (v5/v9 header)
	// NetFlow v5/v9 only: the header's sysUpTime and how its 32-bit wrap
	// is handled (see uptimeWrap); firstAdj/lastAdj are the current
	// record's corrections in ms.
	netflowTime       bool
	lateWrap          bool // v5: also the wrap after the flow's end (nfcapd)
	sysUptime         uint32
	firstAdj, lastAdj int64
	exportSecs        uint32
	sysInit           uint64            // ms: systemInitTimeMilliseconds learnt from options data (IPFIX)
	recInit           uint64            // ms: systemInitTimeMilliseconds of the current record
	sampling          uint64            // multiplier for scaled counters; 1 = unsampled or not applied
	base              uint64            // the session-wide multiplier, restored for every record
	samplers          map[uint64]uint64 // per-sampler intervals; nil when sampling is not applied
	domain            uint32
	exporter          unirec.IP
	// templates are the session's, for subTemplateList records.
	templates map[uint16]*templateEntry
}

// compilePlan builds the ops for wire template t into UniRec template out.
// Fields with no mapping, absent from out, or with an unconvertible
// type combination are skipped: they simply do not reach the output.
func compilePlan(t *Template, out *unirec.Template, tbl *converters.Table, reg *Registry) *plan {
	p := &plan{out: out, tmpl: t, upFirst: -1, upLast: -1}
	if !t.Fixed {
		p.offs = make([]int, len(t.Fields))
		p.lens = make([]int, len(t.Fields))
	}
	if f, ok := tbl.Internal(converters.InternalODID); ok {
		p.odid, p.hasODID = lookupTyped(out, f.Name, unirec.Uint32)
	}
	if f, ok := tbl.Internal(converters.InternalExporterIP); ok {
		p.exporter, p.hasExp = lookupTyped(out, f.Name, unirec.IPAddr)
	}
	off := 0
	for i, f := range t.Fields {
		if f.Scope {
			off += int(f.Length)
			continue
		}
		if f.PEN == 0 && f.ID == 160 && (f.Length == 8 || f.Length == VariableLength) {
			p.ops = append(p.ops, op{kind: opSysInit, field: i, off: off, n: int(f.Length)})
		}
		if f.PEN == 0 && (f.ID == 48 || f.ID == 302) && f.Length >= 1 && f.Length <= 8 {
			p.ops = append(p.ops, op{kind: opSampler, field: i, off: off, n: int(f.Length)})
		}
		ie, known := reg.Lookup(f.PEN, f.ID)
		if f.PEN == 0 && known && (ie.Type == TypeBasicList || ie.Type == TypeSubTemplateList || ie.Type == TypeSubTemplateMultiList) {
			p.ops = append(p.ops, op{kind: opList, field: i, off: off, n: int(f.Length)})
			p.listState(out, tbl, reg)
		}
		for _, tg := range tbl.Lookup(f.PEN, f.ID) {
			dst, ok := out.Lookup(tg.Name)
			if !ok {
				continue
			}
			df := out.Field(dst)
			if df.Type.IsArray() {
				if o, ok := elemOp(f, ie, known, tg, dst, df.Type); ok {
					o.field, o.off, o.n = i, off, int(f.Length)
					o.elem, o.kind, o.slot = o.kind, opArray, p.listState(out, tbl, reg).slot(dst)
					p.ops = append(p.ops, o)
				}
				continue
			}
			o := op{conv: tg.Conv, field: i, off: off, n: int(f.Length), dst: dst, dstType: df.Type, dstOff: df.Offset, dstSize: df.Type.Size()}
			if k, ok := chooseOp(f, ie, known, o.dstType); ok {
				o.kind = k
				o.signed = k == opUint && known && ie.Type.IsSigned()
				o.micro = known && ie.Type == TypeDateTimeMicroseconds
				if k == opTimeUptime && f.PEN == 0 && f.Length == 4 {
					switch f.ID {
					case 22:
						o.role, p.upFirst, p.upFirstOff = roleFirst, i, off
					case 21:
						o.role, p.upLast, p.upLastOff = roleLast, i, off
					}
				}
				p.ops = append(p.ops, o)
			}
		}
		off += int(f.Length)
	}
	p.addDurationOps(t, out)
	// The system init time of a record must be known before its
	// uptime-relative times, and TIME_FIRST before a duration is added to it.
	slices.SortStableFunc(p.ops, func(a, b op) int { return rank(a.kind) - rank(b.kind) })
	if p.lists != nil {
		// Scalar fields the record sets itself are not taken from lists.
		for _, o := range p.ops {
			switch o.kind {
			case opSysInit, opSampler, opArray, opList:
			default:
				p.lists.direct = append(p.lists.direct, o.dst)
			}
		}
	}
	p.compileFast()
	return p
}

func rank(k opKind) int {
	switch k {
	case opSysInit, opSampler:
		return -1
	case opDuration:
		return 1
	}
	return 0
}

// endTimeIDs are the elements that give a flow's end time directly.
var endTimeIDs = [...]uint16{21, 151, 153, 155, 157, 159}

// addDurationOps derives TIME_LAST from flowDurationMilliseconds (161) or
// flowDurationMicroseconds (162) when the template has a start time but no
// end time.
func (p *plan) addDurationOps(t *Template, out *unirec.Template) {
	first, ok1 := lookupTyped(out, "TIME_FIRST", unirec.TimeT)
	last, ok2 := lookupTyped(out, "TIME_LAST", unirec.TimeT)
	if !ok1 || !ok2 {
		return
	}
	off := 0
	dur := -1
	var durOp op
	for i, f := range t.Fields {
		if f.PEN == 0 && !f.Scope {
			if slices.Contains(endTimeIDs[:], f.ID) {
				return
			}
			if (f.ID == 161 || f.ID == 162) && f.Length != VariableLength && f.Length <= 8 {
				dur = i
				durOp = op{kind: opDuration, field: i, off: off, n: int(f.Length), dst: last,
					dstType: unirec.TimeT, dstOff: out.Field(last).Offset, srcOff: out.Field(first).Offset, micro: f.ID == 162}
			}
		}
		off += int(f.Length)
	}
	if dur >= 0 {
		p.ops = append(p.ops, durOp)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func lookupTyped(t *unirec.Template, name string, typ unirec.Type) (unirec.FieldID, bool) {
	id, ok := t.Lookup(name)
	if !ok || t.Field(id).Type != typ {
		return 0, false
	}
	return id, true
}

func isIntType(t unirec.Type) bool {
	switch t {
	case unirec.Uint8, unirec.Uint16, unirec.Uint32, unirec.Uint64,
		unirec.Int8, unirec.Int16, unirec.Int32, unirec.Int64, unirec.Char:
		return true
	}
	return false
}

// chooseOp picks the conversion for wire field f (element ie) into a UniRec
// field of type dst, or reports that the combination is not convertible.
func chooseOp(f Field, ie InfoElement, known bool, dst unirec.Type) (opKind, bool) {
	l := int(f.Length)
	variable := f.Length == VariableLength
	typ := TypeOctetArray
	if known {
		typ = ie.Type
	}
	if f.PEN == 0 || f.PEN == PENReverse {
		switch f.ID {
		case 21, 22:
			return opTimeUptime, dst == unirec.TimeT && !variable && l <= 8
		case 158, 159:
			return opTimeDeltaUs, dst == unirec.TimeT && !variable && l <= 8
		}
	}
	switch dst {
	case unirec.TimeT:
		switch typ {
		case TypeDateTimeSeconds:
			return opTimeSec, !variable && l <= 8
		case TypeDateTimeMilliseconds:
			return opTimeMilli, !variable && l <= 8
		case TypeDateTimeMicroseconds, TypeDateTimeNanoseconds:
			return opTimeNTP, l == 8
		}
		return 0, false
	case unirec.IPAddr:
		switch {
		case l == 4 && (typ == TypeIPv4Address || !known):
			return opIPv4, true
		case l == 16 && (typ == TypeIPv6Address || !known):
			return opIPv6, true
		}
		return 0, false
	case unirec.MACAddr:
		return opMAC, l == 6
	case unirec.String, unirec.Bytes:
		return opVar, typ == TypeString || typ == TypeOctetArray || !known
	case unirec.Float, unirec.Double:
		return opFloat, typ == TypeFloat32 && l == 4 || typ == TypeFloat64 && (l == 4 || l == 8)
	}
	if isIntType(dst) {
		intLike := typ.IsUnsigned() || typ.IsSigned() || typ == TypeBoolean || !known ||
			typ == TypeDateTimeSeconds || typ == TypeDateTimeMilliseconds
		return opUint, intLike && !variable && l >= 1 && l <= 8
	}
	return 0, false
}

// apply decodes one record from data into rec and returns the bytes consumed.
func (p *plan) apply(c *msgCtx, data []byte, rec *unirec.Record) (int, error) {
	t := p.tmpl
	size := t.MinLen
	if !t.Fixed {
		pos := 0
		for i, f := range t.Fields {
			n, pre, err := fieldLen(f, data[pos:])
			if err != nil {
				return 0, fmt.Errorf("template %d record: %w", t.ID, err)
			}
			p.offs[i], p.lens[i] = pos+pre, n
			pos += pre + n
		}
		size = pos
	} else if size > len(data) {
		return 0, fmt.Errorf("template %d record needs %d bytes, %d left: %w", t.ID, size, len(data), ErrShort)
	}
	c.recInit = c.sysInit
	c.sampling = c.base
	c.firstAdj, c.lastAdj = 0, 0
	if p.fast != nil && p.applyFast(c, data, rec) {
		p.finish(c, rec)
		return size, nil
	}
	if c.netflowTime && p.upFirst >= 0 && p.upLast >= 0 {
		p.uptimeWrap(c, data)
	}
	if p.lists != nil {
		p.lists.reset()
	}
	for i := range p.ops {
		o := &p.ops[i]
		var b []byte
		if t.Fixed {
			b = data[o.off : o.off+o.n]
		} else {
			b = data[p.offs[o.field] : p.offs[o.field]+p.lens[o.field]]
		}
		switch o.kind {
		case opList:
			if err := p.lists.walk(c, t.Fields[o.field].ID, b, rec, 0); err != nil {
				return 0, fmt.Errorf("template %d record field %d: %w", t.ID, o.field, err)
			}
		case opArray:
			p.lists.appendElem(o, c, b)
		default:
			runOp(o, c, b, rec)
		}
	}
	if p.lists != nil {
		p.lists.flush(rec)
	}
	p.finish(c, rec)
	return size, nil
}

// finish sets the fields the collector supplies itself.
func (p *plan) finish(c *msgCtx, rec *unirec.Record) {
	if p.hasODID {
		rec.SetUint32(p.odid, c.domain)
	}
	if p.hasExp {
		rec.SetIP(p.exporter, c.exporter)
	}
}

// uptimeWrap corrects a record's sysUpTime-relative times for the 32-bit
// wrap of the exporter's uptime counter, as nfcapd 1.7 does: a FIRST above
// LAST started before the wrap (FIRST goes back 2^32 ms); in v5, a LAST
// more than 100 s above the header's sysUpTime means the counter wrapped
// after the flow ended (both go back; the 100 s tolerate exporters whose
// LAST runs a little ahead, Cisco CSCei12353). nfcapd applies the second
// rule to v5 only, and so do we, so both read the same datagrams alike.
func (p *plan) uptimeWrap(c *msgCtx, data []byte) {
	var first, last uint32
	if p.tmpl.Fixed {
		first = binary.BigEndian.Uint32(data[p.upFirstOff:])
		last = binary.BigEndian.Uint32(data[p.upLastOff:])
	} else {
		first = binary.BigEndian.Uint32(data[p.offs[p.upFirst]:])
		last = binary.BigEndian.Uint32(data[p.offs[p.upLast]:])
	}
	c.firstAdj, c.lastAdj = wrapAdj(c.lateWrap, c.sysUptime, first, last)
}

// wrapAdj returns the corrections (ms) of a record's FIRST and LAST
// sysUpTime values for the counter's wrap (see uptimeWrap); lateWrap and
// sysUptime are the message's (msgCtx).
func wrapAdj(lateWrap bool, sysUptime, first, last uint32) (firstAdj, lastAdj int64) {
	const wrap = 1 << 32
	if first > last {
		firstAdj = -wrap
	}
	if lateWrap && last > sysUptime && last-sysUptime > 100000 {
		firstAdj -= wrap
		lastAdj -= wrap
	}
	return firstAdj, lastAdj
}

// run converts wire value b with o into rec and reports whether it wrote
// a value. Fixed fields are written by offset (o.dstOff), so the same op
// shapes fill an array element in a scratch record.
func runOp(o *op, c *msgCtx, b []byte, rec *unirec.Record) bool {
	switch o.kind {
	case opUint:
		v := uintBE(b)
		if o.signed && len(b) < 8 {
			// Reduced-size signed integer (RFC 7011 §6.2): sign-extend.
			shift := 64 - 8*uint(len(b))
			v = uint64(int64(v<<shift) >> shift)
		}
		switch o.conv {
		case converters.ConvScaled:
			v *= c.sampling
		case converters.ConvNonZero:
			if v == 0 {
				return false
			}
		}
		putLE(rec.Data[o.dstOff:], o.dstSize, v)
	case opIPv4:
		// UniRec IPv4 layout: 8 zero bytes, the address, ff ff ff ff
		// (the record was reset, so the zero part is already there).
		d := rec.Data[o.dstOff : o.dstOff+16]
		copy(d[8:12], b)
		binary.LittleEndian.PutUint32(d[12:], 0xFFFFFFFF)
		clear(d[:8])
	case opIPv6:
		copy(rec.Data[o.dstOff:o.dstOff+16], b)
	case opMAC:
		copy(rec.Data[o.dstOff:o.dstOff+6], b)
	case opTimeSec:
		putTime(rec, o, unirec.TimeFromSecNsec(uint32(uintBE(b)), 0))
	case opTimeMilli:
		binary.LittleEndian.PutUint64(rec.Data[o.dstOff:], uint64(unirec.TimeFromUnixMilli(uintBE(b))))
	case opTimeNTP:
		sec := binary.BigEndian.Uint32(b) - ntpEpochOffset
		frac := binary.BigEndian.Uint32(b[4:])
		if o.micro {
			frac &^= 0x7FF // RFC 7011 §6.1.9: the low 11 bits are not significant
		}
		putTime(rec, o, unirec.Time(uint64(sec)<<32|uint64(frac)))
	case opTimeUptime:
		var abs int64
		if c.recInit != 0 {
			abs = int64(c.recInit) + int64(uintBE(b))
		} else {
			abs = c.uptimeBase + int64(uintBE(b))
			switch o.role {
			case roleFirst:
				abs += c.firstAdj
			case roleLast:
				abs += c.lastAdj
			}
		}
		putTime(rec, o, unirec.TimeFromUnixMilli(uint64(max(abs, 0))))
	case opTimeDeltaUs:
		us := int64(c.exportSecs)*1e6 - int64(uintBE(b))
		us = max(us, 0)
		putTime(rec, o, unirec.TimeFromSecUsec(uint32(us/1e6), uint32(us%1e6)))
	case opFloat:
		var v float64
		if len(b) == 4 {
			v = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		} else {
			v = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		if o.dstType == unirec.Float {
			binary.LittleEndian.PutUint32(rec.Data[o.dstOff:], math.Float32bits(float32(v)))
		} else {
			binary.LittleEndian.PutUint64(rec.Data[o.dstOff:], math.Float64bits(v))
		}
	case opVar:
		// SetVar fails only above 65535 bytes, impossible for one IPFIX field.
		_ = rec.SetVar(o.dst, b)
	case opSysInit:
		if len(b) == 8 {
			c.recInit = binary.BigEndian.Uint64(b)
		}
	case opSampler:
		if r := c.samplerRate(uintBE(b)); r != 0 {
			c.sampling = r
		}
	case opDuration:
		start := unirec.Time(binary.LittleEndian.Uint64(rec.Data[o.srcOff:]))
		if start == 0 {
			return false
		}
		d := uintBE(b) // ms, or µs for flowDurationMicroseconds
		if !o.micro {
			d *= 1000
		}
		end := start + unirec.Time(d<<32/1_000_000)
		binary.LittleEndian.PutUint64(rec.Data[o.dstOff:], uint64(end))
	}
	return true
}

// samplerRate is the sampling interval announced for sampler id, 0 when
// none above 1 is known (or sampling is not applied).
func (c *msgCtx) samplerRate(id uint64) uint64 {
	if r, ok := c.samplers[id]; ok && r > 1 {
		return r
	}
	return 0
}

func putTime(rec *unirec.Record, o *op, t unirec.Time) {
	binary.LittleEndian.PutUint64(rec.Data[o.dstOff:], uint64(t))
}

// putLE stores the low size bytes of v little-endian (UniRec byte order);
// signed and char fields take the same two's complement bytes.
func putLE(d []byte, size int, v uint64) {
	switch size {
	case 1:
		d[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(d, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(d, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(d, v)
	}
}
