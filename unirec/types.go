package unirec

import "fmt"

// Type is one of the 29 UniRec field types (unirec.md §1).
type Type uint8

// The UniRec field types. The order is ours; only the type names and sizes
// are part of the wire contract.
const (
	String Type = iota
	Bytes
	Char
	Uint8
	Int8
	Uint16
	Int16
	Uint32
	Int32
	Uint64
	Int64
	Float
	Double
	IPAddr
	MACAddr
	TimeT
	Uint8Array
	Int8Array
	Uint16Array
	Int16Array
	Uint32Array
	Int32Array
	Uint64Array
	Int64Array
	FloatArray
	DoubleArray
	IPAddrArray
	MACAddrArray
	TimeArray

	numTypes
)

// typeInfo describes a type: its spec name and the signed size libunirec
// sorts by (negative = variable length, absolute value = element size).
var typeInfo = [numTypes]struct {
	name     string
	sortSize int
	elem     Type
}{
	String:       {"string", -1, Char},
	Bytes:        {"bytes", -1, Uint8},
	Char:         {"char", 1, Char},
	Uint8:        {"uint8", 1, Uint8},
	Int8:         {"int8", 1, Int8},
	Uint16:       {"uint16", 2, Uint16},
	Int16:        {"int16", 2, Int16},
	Uint32:       {"uint32", 4, Uint32},
	Int32:        {"int32", 4, Int32},
	Uint64:       {"uint64", 8, Uint64},
	Int64:        {"int64", 8, Int64},
	Float:        {"float", 4, Float},
	Double:       {"double", 8, Double},
	IPAddr:       {"ipaddr", 16, IPAddr},
	MACAddr:      {"macaddr", 6, MACAddr},
	TimeT:        {"time", 8, TimeT},
	Uint8Array:   {"uint8*", -1, Uint8},
	Int8Array:    {"int8*", -1, Int8},
	Uint16Array:  {"uint16*", -2, Uint16},
	Int16Array:   {"int16*", -2, Int16},
	Uint32Array:  {"uint32*", -4, Uint32},
	Int32Array:   {"int32*", -4, Int32},
	Uint64Array:  {"uint64*", -8, Uint64},
	Int64Array:   {"int64*", -8, Int64},
	FloatArray:   {"float*", -4, Float},
	DoubleArray:  {"double*", -8, Double},
	IPAddrArray:  {"ipaddr*", -16, IPAddr},
	MACAddrArray: {"macaddr*", -6, MACAddr},
	TimeArray:    {"time*", -8, TimeT},
}

// ParseType returns the type named s ("uint16*", "ipaddr", ...). Names are
// matched exactly and case-sensitively, like ur_get_field_type_from_str.
func ParseType(s string) (Type, error) {
	for t := Type(0); t < numTypes; t++ {
		if typeInfo[t].name == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unirec: unknown field type %q", s)
}

// String returns the spec name of the type, e.g. "uint16*".
func (t Type) String() string {
	if t >= numTypes {
		return fmt.Sprintf("Type(%d)", uint8(t))
	}
	return typeInfo[t].name
}

// Valid reports whether t is one of the 29 UniRec types.
func (t Type) Valid() bool { return t < numTypes }

// SortSize is the signed size libunirec's compare_fields sorts by:
// the byte size of a fixed type, or minus the element size of a variable one.
func (t Type) SortSize() int {
	if t >= numTypes {
		return 0
	}
	return typeInfo[t].sortSize
}

// IsVariable reports whether values of t live in the variable area
// (string, bytes and all arrays).
func (t Type) IsVariable() bool { return t.SortSize() < 0 }

// Size is the fixed byte size of t, or 0 for variable types.
func (t Type) Size() int {
	if s := t.SortSize(); s > 0 {
		return s
	}
	return 0
}

// IsArray reports whether t is one of the array types ("uint8*" ...).
func (t Type) IsArray() bool { return t >= Uint8Array && t < numTypes }

// Elem is the scalar type of one element: the element type of an array,
// Char for string, Uint8 for bytes, and t itself for fixed types.
func (t Type) Elem() Type {
	if t >= numTypes {
		return t
	}
	return typeInfo[t].elem
}

// ElemSize is the byte size of one element (1 for string and bytes, the
// scalar size for arrays, Size() for fixed types).
func (t Type) ElemSize() int {
	s := t.SortSize()
	if s < 0 {
		return -s
	}
	return s
}
