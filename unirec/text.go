package unirec

import (
	"encoding/binary"
	"math"
	"strconv"
)

// AppendHeader appends the logger -t header: "type NAME" items in template
// order joined by delim.
func (t *Template) AppendHeader(dst []byte, delim byte) []byte {
	for i, f := range t.fields {
		if i > 0 {
			dst = append(dst, delim)
		}
		dst = append(dst, f.Type.String()...)
		dst = append(dst, ' ')
		dst = append(dst, f.Name...)
	}
	return dst
}

// AppendText appends one logger line (without '\n'): every field's text
// form in template order, joined by delim. The delimiter is not escaped in
// unquoted values, as in C. It does not allocate when dst has room.
func (r Record) AppendText(dst []byte, delim byte) []byte {
	for i := range r.T.fields {
		if i > 0 {
			dst = append(dst, delim)
		}
		dst = r.AppendValue(dst, FieldID(i))
	}
	return dst
}

// AppendValue appends the logger text form of one field (unirec.md §5):
// integers in decimal, char raw, float/double as C "%f", ipaddr/macaddr/time
// as their AppendText, strings quoted with "" doubling, '\n' as a space and
// other non-printable bytes dropped, bytes as lowercase hex, arrays as
// [a|b|c].
func (r Record) AppendValue(dst []byte, id FieldID) []byte {
	f := &r.T.fields[id]
	if !f.Type.IsVariable() {
		return appendScalar(dst, f.Type, r.Data[f.Offset:f.Offset+f.Type.Size()])
	}
	v := r.Var(id)
	switch f.Type {
	case String:
		return appendQuoted(dst, v)
	case Bytes:
		for _, b := range v {
			dst = append(dst, hexDigits[b>>4], hexDigits[b&0xf])
		}
		return dst
	}
	elem, size := f.Type.Elem(), f.Type.ElemSize()
	dst = append(dst, '[')
	for i := 0; i+size <= len(v); i += size {
		if i > 0 {
			dst = append(dst, '|')
		}
		dst = appendScalar(dst, elem, v[i:i+size])
	}
	return append(dst, ']')
}

// appendScalar formats one fixed-size value of type t held in b.
func appendScalar(dst []byte, t Type, b []byte) []byte {
	le := binary.LittleEndian
	switch t {
	case Char:
		return append(dst, b[0])
	case Uint8:
		return appendDec(dst, uint64(b[0]))
	case Int8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case Uint16:
		return appendDec(dst, uint64(le.Uint16(b)))
	case Int16:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(b))), 10)
	case Uint32:
		return appendDec(dst, uint64(le.Uint32(b)))
	case Int32:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(b))), 10)
	case Uint64:
		return appendDec(dst, le.Uint64(b))
	case Int64:
		return strconv.AppendInt(dst, int64(le.Uint64(b)), 10)
	case Float:
		return appendCFloat(dst, float64(math.Float32frombits(le.Uint32(b))))
	case Double:
		return appendCFloat(dst, math.Float64frombits(le.Uint64(b)))
	case IPAddr:
		return IP(b).AppendText(dst)
	case MACAddr:
		return MAC(b).AppendText(dst)
	case TimeT:
		return Time(le.Uint64(b)).AppendText(dst)
	}
	return dst
}

// appendCFloat formats like C printf("%f"): six decimals, no exponent,
// glibc's spelling of infinities and NaNs ("inf", "-nan").
func appendCFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		if math.Signbit(v) {
			return append(dst, "-nan"...)
		}
		return append(dst, "nan"...)
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, v, 'f', 6, 64)
}

// appendQuoted writes a string value the way urcsv does: in double quotes,
// '"' doubled, '\n' turned into a space, and only bytes 0x20-0x7E (C
// isprint for a signed char in the C locale) kept; all others are dropped.
func appendQuoted(dst []byte, v []byte) []byte {
	dst = append(dst, '"')
	for _, c := range v {
		switch {
		case c == '"':
			dst = append(dst, '"', '"')
		case c == '\n':
			dst = append(dst, ' ')
		case c >= 0x20 && c <= 0x7e:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
