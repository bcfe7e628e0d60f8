package unirec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Errors returned (wrapped) by text parsing.
var (
	// ErrBadValue is wrapped by every error about a value's text (numbers,
	// addresses, times, hex, array elements).
	ErrBadValue = errors.New("invalid value")
)

// SetFromString sets field id from its text form with libunirec's
// ur_set_from_string rules (unirec.md §6):
//   - unsigned integers as sscanf %u (decimal; leading blanks, a sign and
//     trailing text accepted, the value truncated to the field width),
//     signed integers as %i (also 0x hex and leading-0 octal);
//   - float/double as %f/%lf; char is the first byte;
//   - ipaddr as inet_pton, macaddr as "%hhx:...", time as ParseTime;
//   - string as is; bytes as hex pairs (length len/2);
//   - arrays as "[a|b|c]" (brackets optional, '|' or blanks separate
//     elements, "[]" is empty), each element by its scalar rule and required
//     to be a complete number.
//
// A fixed field is left unchanged on error; a variable field is emptied.
func (r *Record) SetFromString(id FieldID, s string) error { return setFromText(r, id, s) }

// SetFromBytes is SetFromString for a []byte, without allocating.
func (r *Record) SetFromBytes(id FieldID, b []byte) error { return setFromText(r, id, b) }

func setFromText[S ~string | ~[]byte](r *Record, id FieldID, s S) error {
	f := &r.T.fields[id]
	var err error
	switch {
	case f.Type == String:
		err = setVar(r, id, s)
	case f.Type == Bytes:
		err = setBytesHex(r, id, s)
	case f.Type.IsArray():
		err = setArray(r, id, s)
	default:
		err = setScalar(r.Data[f.Offset:f.Offset+f.Type.Size()], f.Type, s, false)
	}
	if err != nil {
		if f.Type.IsVariable() {
			_, _ = r.resizeVar(id, 0)
		}
		return fmt.Errorf("unirec: field %s (%s) from %q: %w", f.Name, f.Type, string(s), err)
	}
	return nil
}

// setScalar parses s as one value of fixed type t into dst. With whole set,
// numbers must use all of s (array elements); otherwise trailing text is
// ignored as sscanf does.
func setScalar[S ~string | ~[]byte](dst []byte, t Type, s S, whole bool) error {
	le := binary.LittleEndian
	switch t {
	case Char:
		if len(s) == 0 {
			return fmt.Errorf("%w: empty", ErrBadValue)
		}
		dst[0] = s[0]
		return nil
	case Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64:
		signed := t == Int8 || t == Int16 || t == Int32 || t == Int64
		base := 10
		if signed {
			base = 0
		}
		v, n, ok := scanInt(s, base, signed, -1)
		if !ok || whole && n != len(s) {
			return fmt.Errorf("%w: not an integer", ErrBadValue)
		}
		switch t.Size() {
		case 1:
			dst[0] = byte(v)
		case 2:
			le.PutUint16(dst, uint16(v))
		case 4:
			le.PutUint32(dst, uint32(v))
		default:
			le.PutUint64(dst, v)
		}
		return nil
	case Float, Double:
		bits := 64
		if t == Float {
			bits = 32
		}
		v, n, ok := scanFloat(s, bits)
		if !ok || whole && n != len(s) {
			return fmt.Errorf("%w: not a number", ErrBadValue)
		}
		if t == Float {
			le.PutUint32(dst, math.Float32bits(float32(v)))
		} else {
			le.PutUint64(dst, math.Float64bits(v))
		}
		return nil
	case IPAddr:
		ip, err := parseIP(s)
		if err != nil {
			return err
		}
		copy(dst, ip[:])
		return nil
	case MACAddr:
		m, err := parseMAC(s)
		if err != nil {
			return err
		}
		copy(dst, m[:])
		return nil
	case TimeT:
		tv, err := parseTime(s)
		if err != nil {
			return err
		}
		le.PutUint64(dst, uint64(tv))
		return nil
	}
	return fmt.Errorf("%w: type %s is not scalar", ErrBadValue, t)
}

// setBytesHex decodes hex pairs like ur_set_from_string: len(s)/2 bytes,
// each read by sscanf("%2hhx") from position 2i; an odd trailing digit is
// ignored. A pair that sscanf cannot convert is an error (C would leave the
// byte unset).
func setBytesHex[S ~string | ~[]byte](r *Record, id FieldID, s S) error {
	dst, err := r.resizeVar(id, len(s)/2)
	if err != nil {
		return err
	}
	for i := range dst {
		v, _, ok := scanInt(s[2*i:], 16, false, 2)
		if !ok {
			_, _ = r.resizeVar(id, 0)
			return fmt.Errorf("%w: bad hex pair at offset %d", ErrBadValue, 2*i)
		}
		dst[i] = byte(v)
	}
	return nil
}

func isArraySep(c byte) bool { return c == '|' || isSpace(c) }

// setArray parses "[a|b|c]" into an array field.
func setArray[S ~string | ~[]byte](r *Record, id FieldID, s S) error {
	f := &r.T.fields[id]
	elem, size := f.Type.Elem(), f.Type.ElemSize()
	// trim blanks and the brackets
	lo, hi := 0, len(s)
	for lo < hi && isSpace(s[lo]) {
		lo++
	}
	for hi > lo && isSpace(s[hi-1]) {
		hi--
	}
	if lo < hi && s[lo] == '[' {
		lo++
	}
	if hi > lo && s[hi-1] == ']' {
		hi--
	}
	body := s[lo:hi]
	count := 0
	for i := 0; i < len(body); {
		for i < len(body) && isArraySep(body[i]) {
			i++
		}
		if i < len(body) {
			count++
		}
		for i < len(body) && !isArraySep(body[i]) {
			i++
		}
	}
	dst, err := r.resizeVar(id, count*size)
	if err != nil {
		return err
	}
	k := 0
	for i := 0; i < len(body); {
		for i < len(body) && isArraySep(body[i]) {
			i++
		}
		j := i
		for j < len(body) && !isArraySep(body[j]) {
			j++
		}
		if j > i {
			if err := setScalar(dst[k*size:(k+1)*size], elem, body[i:j], true); err != nil {
				_, _ = r.resizeVar(id, 0)
				return fmt.Errorf("element %d: %w", k+1, err)
			}
			k++
		}
		i = j
	}
	return nil
}
