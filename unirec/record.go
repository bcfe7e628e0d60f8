package unirec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Record is one message's bytes viewed through a template. It is a small
// value type, cheap to copy; copies share Data.
//
// Getters and setters do not check the field's type: resolve ids once per
// template and use the accessor matching Field(id).Type. On a record made by
// NewRecord or accepted by Wrap they never index out of range.
type Record struct {
	T    *Template
	Data []byte
}

// Errors returned (wrapped) by record operations.
var (
	ErrShort   = errors.New("record shorter than the template's static size")
	ErrSlot    = errors.New("variable field slot points past the end of the record")
	ErrTooLong = errors.New("record longer than 65535 bytes")
	ErrNotVar  = errors.New("field is not variable-length")
)

// NewRecord returns a record with a zeroed static part and capacity 65535,
// so SetVar never reallocates.
func (t *Template) NewRecord() Record {
	return Record{T: t, Data: make([]byte, t.staticSize, MaxRecordSize)}
}

// Wrap views data (a received message) as a record of t. It checks that data
// holds the static part and that every variable field's offset+length lies
// within the variable area. Slack after the last field is accepted, as in C.
// data is not copied.
func (t *Template) Wrap(data []byte) (Record, error) {
	if len(data) < t.staticSize {
		return Record{}, fmt.Errorf("unirec: %d bytes for template needing %d: %w", len(data), t.staticSize, ErrShort)
	}
	if len(data) > MaxRecordSize {
		return Record{}, fmt.Errorf("unirec: %d bytes: %w", len(data), ErrTooLong)
	}
	varLen := len(data) - t.staticSize
	for id := t.firstVar; int(id) < len(t.fields); id++ {
		f := &t.fields[id]
		off := int(binary.LittleEndian.Uint16(data[f.Offset:]))
		n := int(binary.LittleEndian.Uint16(data[f.Offset+2:]))
		if off+n > varLen {
			return Record{}, fmt.Errorf("unirec: field %s: offset %d + length %d > %d bytes of variable data: %w",
				f.Name, off, n, varLen, ErrSlot)
		}
	}
	return Record{T: t, Data: data}, nil
}

// Reset truncates the record to its static size and zeroes the fixed part
// and all slots. It returns the reset record.
func (r Record) Reset() Record {
	r.Data = r.Data[:r.T.staticSize]
	clear(r.Data)
	return r
}

// Size returns the record length in bytes.
func (r Record) Size() int { return len(r.Data) }

func (r Record) off(id FieldID) int { return r.T.fields[id].Offset }

// Uint8 returns a uint8 field.
func (r Record) Uint8(id FieldID) uint8 { return r.Data[r.off(id)] }

// Int8 returns an int8 field.
func (r Record) Int8(id FieldID) int8 { return int8(r.Data[r.off(id)]) }

// Char returns a char field.
func (r Record) Char(id FieldID) byte { return r.Data[r.off(id)] }

// Uint16 returns a uint16 field.
func (r Record) Uint16(id FieldID) uint16 { return binary.LittleEndian.Uint16(r.Data[r.off(id):]) }

// Int16 returns an int16 field.
func (r Record) Int16(id FieldID) int16 { return int16(r.Uint16(id)) }

// Uint32 returns a uint32 field.
func (r Record) Uint32(id FieldID) uint32 { return binary.LittleEndian.Uint32(r.Data[r.off(id):]) }

// Int32 returns an int32 field.
func (r Record) Int32(id FieldID) int32 { return int32(r.Uint32(id)) }

// Uint64 returns a uint64 field.
func (r Record) Uint64(id FieldID) uint64 { return binary.LittleEndian.Uint64(r.Data[r.off(id):]) }

// Int64 returns an int64 field.
func (r Record) Int64(id FieldID) int64 { return int64(r.Uint64(id)) }

// Float returns a float field.
func (r Record) Float(id FieldID) float32 { return math.Float32frombits(r.Uint32(id)) }

// Double returns a double field.
func (r Record) Double(id FieldID) float64 { return math.Float64frombits(r.Uint64(id)) }

// IP returns an ipaddr field.
func (r Record) IP(id FieldID) IP { return IP(r.Data[r.off(id):][:16]) }

// MAC returns a macaddr field.
func (r Record) MAC(id FieldID) MAC { return MAC(r.Data[r.off(id):][:6]) }

// Time returns a time field.
func (r Record) Time(id FieldID) Time { return Time(r.Uint64(id)) }

// SetUint8 sets a uint8 field.
func (r Record) SetUint8(id FieldID, v uint8) { r.Data[r.off(id)] = v }

// SetInt8 sets an int8 field.
func (r Record) SetInt8(id FieldID, v int8) { r.Data[r.off(id)] = byte(v) }

// SetChar sets a char field.
func (r Record) SetChar(id FieldID, v byte) { r.Data[r.off(id)] = v }

// SetUint16 sets a uint16 field.
func (r Record) SetUint16(id FieldID, v uint16) {
	binary.LittleEndian.PutUint16(r.Data[r.off(id):], v)
}

// SetInt16 sets an int16 field.
func (r Record) SetInt16(id FieldID, v int16) { r.SetUint16(id, uint16(v)) }

// SetUint32 sets a uint32 field.
func (r Record) SetUint32(id FieldID, v uint32) {
	binary.LittleEndian.PutUint32(r.Data[r.off(id):], v)
}

// SetInt32 sets an int32 field.
func (r Record) SetInt32(id FieldID, v int32) { r.SetUint32(id, uint32(v)) }

// SetUint64 sets a uint64 field.
func (r Record) SetUint64(id FieldID, v uint64) {
	binary.LittleEndian.PutUint64(r.Data[r.off(id):], v)
}

// SetInt64 sets an int64 field.
func (r Record) SetInt64(id FieldID, v int64) { r.SetUint64(id, uint64(v)) }

// SetFloat sets a float field.
func (r Record) SetFloat(id FieldID, v float32) { r.SetUint32(id, math.Float32bits(v)) }

// SetDouble sets a double field.
func (r Record) SetDouble(id FieldID, v float64) { r.SetUint64(id, math.Float64bits(v)) }

// SetIP sets an ipaddr field.
func (r Record) SetIP(id FieldID, v IP) { copy(r.Data[r.off(id):][:16], v[:]) }

// SetMAC sets a macaddr field.
func (r Record) SetMAC(id FieldID, v MAC) { copy(r.Data[r.off(id):][:6], v[:]) }

// SetTime sets a time field.
func (r Record) SetTime(id FieldID, v Time) { r.SetUint64(id, uint64(v)) }

// slot returns the offset (relative to the variable area) and length of a
// variable field.
func (r Record) slot(id FieldID) (off, n int) {
	o := r.off(id)
	return int(binary.LittleEndian.Uint16(r.Data[o:])), int(binary.LittleEndian.Uint16(r.Data[o+2:]))
}

// Var returns the raw bytes of a variable field as a slice of Data (nil if
// the slot is inconsistent, which Wrap rules out).
func (r Record) Var(id FieldID) []byte {
	off, n := r.slot(id)
	start := r.T.staticSize + off
	if start+n > len(r.Data) {
		return nil
	}
	return r.Data[start : start+n : start+n]
}

// ArrayLen returns the number of elements of an array field (the byte
// length divided by the element size; a partial trailing element is not counted).
func (r Record) ArrayLen(id FieldID) int {
	_, n := r.slot(id)
	return n / r.T.fields[id].Type.ElemSize()
}

// SetVar sets a variable field with libunirec's ur_set_var semantics: the
// bytes after the field move by the size change, and the offsets of all
// later variable fields are adjusted by it. On a record built only through
// SetVar this keeps offset[i] = offset[i-1] + length[i-1], byte for byte as
// C writes it. It fails if the record would exceed 65535 bytes; Data is only
// reallocated if its capacity is too small (never for NewRecord).
func (r *Record) SetVar(id FieldID, b []byte) error { return setVar(r, id, b) }

// SetVarString is SetVar for a string value, without converting it to []byte.
func (r *Record) SetVarString(id FieldID, s string) error { return setVar(r, id, s) }

func setVar[S ~string | ~[]byte](r *Record, id FieldID, b S) error {
	dst, err := r.resizeVar(id, len(b))
	if err != nil {
		return err
	}
	copy(dst, b)
	return nil
}

// resizeVar gives variable field id a length of n bytes with ur_set_var's
// shifting rules and returns the field's bytes for the caller to fill (the
// contents are unspecified).
func (r *Record) resizeVar(id FieldID, n int) ([]byte, error) {
	f := &r.T.fields[id]
	if !f.Type.IsVariable() {
		return nil, fmt.Errorf("unirec: field %s (%s): %w", f.Name, f.Type, ErrNotVar)
	}
	off, oldLen := r.slot(id)
	start := r.T.staticSize + off
	if start+oldLen > len(r.Data) {
		return nil, fmt.Errorf("unirec: field %s: %w", f.Name, ErrSlot)
	}
	delta := n - oldLen
	newSize := len(r.Data) + delta
	if n > MaxRecordSize || newSize > MaxRecordSize {
		return nil, fmt.Errorf("unirec: field %s: setting %d bytes makes a %d-byte record: %w", f.Name, n, newSize, ErrTooLong)
	}
	if delta != 0 {
		oldSize := len(r.Data)
		if newSize > cap(r.Data) {
			grown := make([]byte, newSize, MaxRecordSize)
			copy(grown, r.Data)
			r.Data = grown
		}
		r.Data = r.Data[:max(oldSize, newSize)]
		copy(r.Data[start+n:], r.Data[start+oldLen:oldSize])
		r.Data = r.Data[:newSize]
		for j := id + 1; int(j) < len(r.T.fields); j++ {
			o := r.T.fields[j].Offset
			v := int(binary.LittleEndian.Uint16(r.Data[o:])) + delta
			binary.LittleEndian.PutUint16(r.Data[o:], uint16(v))
		}
		binary.LittleEndian.PutUint16(r.Data[f.Offset+2:], uint16(n))
	}
	return r.Data[start : start+n], nil
}

// CopyFields copies into dst every field of dst's template that src's
// template also has with the same name and type. Other dst fields are left
// unchanged.
func CopyFields(dst *Record, src Record) error {
	for id, f := range dst.T.fields {
		sid, ok := src.T.byName[f.Name]
		if !ok || src.T.fields[sid].Type != f.Type {
			continue
		}
		if f.Type.IsVariable() {
			if err := dst.SetVar(FieldID(id), src.Var(sid)); err != nil {
				return err
			}
			continue
		}
		n := f.Type.Size()
		so := src.T.fields[sid].Offset
		copy(dst.Data[f.Offset:f.Offset+n], src.Data[so:so+n])
	}
	return nil
}
