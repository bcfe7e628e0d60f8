package collector

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// IPFIX structured data (RFC 6313): basicList, subTemplateList and
// subTemplateMultiList. The elements inside a list are offered to the
// element table like the record's own fields:
//
//   - a target of an array type (uint16*, ipaddr*, ...) collects every value
//     of its elements, in wire order, from the record itself and from its
//     lists (nested lists included);
//   - a scalar target takes a list element only when the record's own
//     fields do not set it; of several list values the last one stays.
//
// Semantics (allOf, exactlyOneOf, ...) are not interpreted.

// maxListDepth bounds the nesting of lists inside sub-template records.
const maxListDepth = 8

// listTarget is one UniRec field a list element fills; o is the op shape
// (kind chosen per element, as its length is only known on the wire).
type listTarget struct {
	tg    converters.Target
	dst   unirec.FieldID
	typ   unirec.Type
	off   int
	array bool
	slot  int
}

// listState is a plan's scratch for lists and arrays. It belongs to the
// plan and is used under the decoder's lock.
type listState struct {
	out *unirec.Template
	tbl *converters.Table
	reg *Registry
	// targets caches the UniRec targets of each element seen in a list;
	// filled on first sight, so steady-state decoding does not allocate.
	targets map[converters.IE][]listTarget
	direct  []unirec.FieldID // scalar fields the record's own fields set
	slots   []unirec.FieldID // array field of each slot
	arrays  [][]byte         // the slots' elements of the current record, UniRec encoded
	elem    unirec.Record    // scratch for one array element
}

func (p *plan) listState(out *unirec.Template, tbl *converters.Table, reg *Registry) *listState {
	if p.lists == nil {
		p.lists = &listState{out: out, tbl: tbl, reg: reg, targets: make(map[converters.IE][]listTarget),
			elem: unirec.Record{Data: make([]byte, 16)}}
	}
	return p.lists
}

// slot returns the scratch slot of array field dst, adding one if needed.
func (l *listState) slot(dst unirec.FieldID) int {
	for i, d := range l.slots {
		if d == dst {
			return i
		}
	}
	l.slots = append(l.slots, dst)
	l.arrays = append(l.arrays, make([]byte, 0, 64))
	return len(l.slots) - 1
}

func (l *listState) reset() {
	for i := range l.arrays {
		l.arrays[i] = l.arrays[i][:0]
	}
}

// flush writes the collected arrays into rec (empty arrays stay empty).
func (l *listState) flush(rec *unirec.Record) {
	for i, a := range l.arrays {
		if len(a) > 0 {
			// Fails only above 65535 bytes; the record then keeps the
			// array empty rather than a truncated one.
			_ = rec.SetVar(l.slots[i], a)
		}
	}
}

// elemOp builds the op that converts element f into one element of array
// type arr, or reports that it cannot.
func elemOp(f Field, ie InfoElement, known bool, tg converters.Target, dst unirec.FieldID, arr unirec.Type) (op, bool) {
	et := arr.Elem()
	k, ok := chooseOp(f, ie, known, et)
	if !ok || k == opVar || k == opTimeUptime || k == opTimeDeltaUs {
		return op{}, false
	}
	return op{kind: k, conv: tg.Conv, dst: dst, dstType: et, dstSize: et.Size(),
		signed: k == opUint && known && ie.Type.IsSigned(), micro: known && ie.Type == TypeDateTimeMicroseconds}, true
}

// appendElem converts b with array op o and appends it to o's slot.
func (l *listState) appendElem(o *op, c *msgCtx, b []byte) {
	e := *o
	e.kind, e.dstOff = o.elem, 0
	if runOp(&e, c, b, &l.elem) {
		l.arrays[o.slot] = append(l.arrays[o.slot], l.elem.Data[:e.dstSize]...)
	}
}

// lookup returns the targets of element (pen, id) in the output template.
func (l *listState) lookup(pen uint32, id uint16) []listTarget {
	k := converters.IE{PEN: pen, ID: id}
	if ts, ok := l.targets[k]; ok {
		return ts
	}
	var ts []listTarget
	for _, tg := range l.tbl.Lookup(pen, id) {
		dst, ok := l.out.Lookup(tg.Name)
		if !ok {
			continue
		}
		f := l.out.Field(dst)
		t := listTarget{tg: tg, dst: dst, typ: f.Type, off: f.Offset, array: f.Type.IsArray()}
		if t.array {
			t.slot = l.slot(dst)
		} else if slices.Contains(l.direct, dst) {
			continue
		}
		ts = append(ts, t)
	}
	l.targets[k] = ts
	return ts
}

// element offers one list element (its wire value b) to its targets.
func (l *listState) element(c *msgCtx, f Field, b []byte, rec *unirec.Record) {
	ts := l.lookup(f.PEN, f.ID)
	if len(ts) == 0 {
		return
	}
	ie, known := l.reg.Lookup(f.PEN, f.ID)
	fl := f
	fl.Length = uint16(len(b))
	for i := range ts {
		t := &ts[i]
		if t.array {
			o, ok := elemOp(fl, ie, known, t.tg, t.dst, t.typ)
			if !ok {
				continue
			}
			o.slot = t.slot
			o.elem = o.kind
			l.appendElem(&o, c, b)
			continue
		}
		k, ok := chooseOp(fl, ie, known, t.typ)
		if !ok || k == opTimeUptime || k == opTimeDeltaUs {
			// Uptime-relative times need the record's wrap context.
			continue
		}
		o := op{kind: k, conv: t.tg.Conv, dst: t.dst, dstType: t.typ, dstOff: t.off, dstSize: t.typ.Size(),
			signed: k == opUint && known && ie.Type.IsSigned(), micro: known && ie.Type == TypeDateTimeMicroseconds}
		runOp(&o, c, b, rec)
	}
}

// walk decodes list value b of element id (291, 292 or 293) and offers its
// elements to the mapping.
func (l *listState) walk(c *msgCtx, id uint16, b []byte, rec *unirec.Record, depth int) error {
	if depth >= maxListDepth {
		return fmt.Errorf("lists nested deeper than %d: %w", maxListDepth, ErrLength)
	}
	if len(b) == 0 {
		return nil // an empty list may be sent as a zero-length field
	}
	// b[0] is the semantic (RFC 6313 §4.4), not interpreted.
	switch id {
	case 291:
		return l.walkBasic(c, b[1:], rec, depth)
	case 292:
		if len(b) < 3 {
			return fmt.Errorf("subTemplateList header of %d bytes: %w", len(b), ErrShort)
		}
		return l.walkRecords(c, binary.BigEndian.Uint16(b[1:]), b[3:], rec, depth)
	default:
		rest := b[1:]
		for len(rest) > 0 {
			if len(rest) < 4 {
				return fmt.Errorf("subTemplateMultiList entry header of %d bytes: %w", len(rest), ErrShort)
			}
			tid, n := binary.BigEndian.Uint16(rest), int(binary.BigEndian.Uint16(rest[2:]))
			if n < 4 || n > len(rest) {
				return fmt.Errorf("subTemplateMultiList entry of %d bytes, %d left: %w", n, len(rest), ErrLength)
			}
			if err := l.walkRecords(c, tid, rest[4:n], rec, depth); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	}
}

// walkBasic decodes a basicList body after the semantic: field id (with
// the enterprise bit), element length, enterprise number, the elements.
func (l *listState) walkBasic(c *msgCtx, b []byte, rec *unirec.Record, depth int) error {
	if len(b) < 4 {
		return fmt.Errorf("basicList header of %d bytes: %w", len(b), ErrShort)
	}
	raw := binary.BigEndian.Uint16(b)
	f := Field{ID: raw & 0x7FFF, Length: binary.BigEndian.Uint16(b[2:])}
	b = b[4:]
	if raw&0x8000 != 0 {
		if len(b) < 4 {
			return fmt.Errorf("basicList enterprise number: %w", ErrShort)
		}
		f.PEN = binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	if f.Length == 0 {
		return fmt.Errorf("basicList of element %d with length 0: %w", f.ID, ErrLength)
	}
	for len(b) > 0 {
		n, pre, err := fieldLen(f, b)
		if err != nil {
			return fmt.Errorf("basicList: %w", err)
		}
		if err := l.value(c, f, b[pre:pre+n], rec, depth); err != nil {
			return err
		}
		b = b[pre+n:]
	}
	return nil
}

// value offers one value inside a list to the mapping; a nested list is
// walked one level deeper.
func (l *listState) value(c *msgCtx, f Field, v []byte, rec *unirec.Record, depth int) error {
	if f.PEN == 0 && (f.ID == 291 || f.ID == 292 || f.ID == 293) {
		return l.walk(c, f.ID, v, rec, depth+1)
	}
	l.element(c, f, v, rec)
	return nil
}

// walkRecords decodes the records of sub-template tid in b. A template
// the session does not know (yet) is skipped: its contents are counted
// nowhere else, like a data set whose template is missing.
func (l *listState) walkRecords(c *msgCtx, tid uint16, b []byte, rec *unirec.Record, depth int) error {
	e := c.templates[tid]
	if e == nil || e.tmpl.Options {
		return nil
	}
	t := e.tmpl
	if t.MinLen == 0 {
		return nil
	}
	for len(b) >= t.MinLen {
		for _, f := range t.Fields {
			n, pre, err := fieldLen(f, b)
			if err != nil {
				return fmt.Errorf("subTemplateList record of template %d: %w", tid, err)
			}
			if err := l.value(c, f, b[pre:pre+n], rec, depth); err != nil {
				return err
			}
			b = b[pre+n:]
		}
	}
	return nil
}
