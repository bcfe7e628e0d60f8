package unirec

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTemplateCanonicalOrder(t *testing.T) {
	tests := []struct {
		name, in, want string
		static         int
	}{
		{"basic flows already canonical",
			"ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS",
			"ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS",
			66},
		{"arrays header order is re-sorted",
			"ipaddr SRC_IP,uint16 SRC_PORT,uint16* PORTS,uint32* PKT_SIZES,ipaddr* HOPS,time* TIMES,uint8* FLAGS_ARR,int64* DELTAS,double* RATIOS,string NOTE",
			"ipaddr SRC_IP,uint16 SRC_PORT,uint8* FLAGS_ARR,string NOTE,uint16* PORTS,uint32* PKT_SIZES,int64* DELTAS,double* RATIOS,time* TIMES,ipaddr* HOPS",
			50},
		{"strcmp tie-break puts uppercase before underscore before lowercase",
			"uint8 a,uint8 Ab,uint8 Z,uint8 A_,uint8 AB",
			"uint8 AB,uint8 A_,uint8 Ab,uint8 Z,uint8 a", 5},
		{"sizes descend across all fixed kinds",
			"uint8 P,char C,uint16 Q,float F,macaddr M,double D,ipaddr I,int32 J",
			"ipaddr I,double D,macaddr M,float F,int32 J,uint16 Q,char C,uint8 P", 42},
		{"variable fields ordered by element size then name",
			"ipaddr* H,string S,bytes B,macaddr* M,float* F,int16* I,time* T",
			"bytes B,string S,int16* I,float* F,macaddr* M,time* T,ipaddr* H", 28},
		{"duplicate names keep the first", "uint8 X,uint16 Y,uint8 X", "uint16 Y,uint8 X", 3},
		{"spaces after commas and leading blanks tolerated", "  uint8 A, uint16 B ,string C", "uint16 B,uint8 A,string C", 7},
		{"empty spec", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := ParseTemplate(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tm.Spec() != tc.want {
				t.Errorf("Spec() = %q, want %q", tm.Spec(), tc.want)
			}
			if tm.StaticSize() != tc.static {
				t.Errorf("StaticSize() = %d, want %d", tm.StaticSize(), tc.static)
			}
			again, err := ParseTemplate(tm.Spec())
			if err != nil || !again.Equal(tm) {
				t.Errorf("re-parsing the canonical spec gives a different template (%v)", err)
			}
		})
	}
}

func TestTemplateOffsetsAndLookup(t *testing.T) {
	tm, err := ParseTemplate("string NOTE,uint16 SRC_PORT,ipaddr SRC_IP,bytes PAYLOAD")
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"SRC_IP", IPAddr, 0}, {"SRC_PORT", Uint16, 16}, {"NOTE", String, 18}, {"PAYLOAD", Bytes, 22}}
	for i, f := range tm.Fields() {
		if f != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, f, want[i])
		}
		id, ok := tm.Lookup(f.Name)
		if !ok || id != FieldID(i) || tm.Field(id) != f {
			t.Errorf("Lookup(%s) = %d,%v", f.Name, id, ok)
		}
	}
	if _, ok := tm.Lookup("MISSING"); ok {
		t.Error("Lookup of a missing name succeeded")
	}
	if tm.StaticSize() != 26 || tm.FixedSize() != 18 {
		t.Errorf("StaticSize %d FixedSize %d, want 26 18", tm.StaticSize(), tm.FixedSize())
	}
}

func TestNewTemplateMatchesParse(t *testing.T) {
	a, err := NewTemplate([]Field{{Name: "B", Type: Uint8}, {Name: "A", Type: TimeT, Offset: 99}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ParseTemplate("uint8 B,time A")
	if !a.Equal(b) || a.Spec() != "time A,uint8 B" {
		t.Errorf("NewTemplate spec %q, ParseTemplate %q", a.Spec(), b.Spec())
	}
	if a.Equal(nil) {
		t.Error("template equal to nil")
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
		mention  string
	}{
		{"unknown type", "uint8 A,uint128 B", ErrBadType, "uint128"},
		{"char array is not a type", "char* X", ErrBadType, "char*"},
		{"type case matters", "UINT8 A", ErrBadType, "UINT8"},
		{"name starting with digit", "uint8 1A", ErrBadName, "1A"},
		{"name with dash", "uint8 A-B", ErrBadName, "A-B"},
		{"name starting with underscore", "uint8 _X", ErrBadName, "_X"},
		{"missing name", "uint8", ErrBadItem, "uint8"},
		{"empty item", "uint8 A,,uint8 B", ErrBadItem, "item 2"},
		{"same name two types", "uint8 A,uint16 A", ErrTypeMix, "A"},
		{"static part too big", strings.Repeat("ipaddr A,", 0) + bigSpec(), ErrTooBig, "65535"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTemplate(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
		})
	}
	if _, err := NewTemplate([]Field{{Name: "X", Type: Type(200)}}); !errors.Is(err, ErrBadType) {
		t.Errorf("NewTemplate with invalid type: %v", err)
	}
}

func bigSpec() string {
	var sb strings.Builder
	for i := 0; i < 4100; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("ipaddr F")
		sb.WriteString(strings.Repeat("x", i/26))
		sb.WriteByte(byte('A' + i%26))
	}
	return sb.String()
}

func TestTypeProperties(t *testing.T) {
	for ty := Type(0); ty < numTypes; ty++ {
		got, err := ParseType(ty.String())
		if err != nil || got != ty {
			t.Errorf("ParseType(%q) = %v, %v", ty.String(), got, err)
		}
		if ty.IsVariable() != (ty.Size() == 0) {
			t.Errorf("%s: IsVariable %v but Size %d", ty, ty.IsVariable(), ty.Size())
		}
		if ty.IsArray() && (ty.Elem().IsVariable() || ty.ElemSize() != ty.Elem().Size()) {
			t.Errorf("%s: elem %s size %d", ty, ty.Elem(), ty.ElemSize())
		}
	}
	checks := []struct {
		ty       Type
		sortSize int
	}{{String, -1}, {Bytes, -1}, {Char, 1}, {IPAddr, 16}, {MACAddr, 6}, {TimeT, 8}, {Float, 4},
		{Uint16Array, -2}, {FloatArray, -4}, {MACAddrArray, -6}, {TimeArray, -8}, {IPAddrArray, -16}}
	for _, c := range checks {
		if c.ty.SortSize() != c.sortSize {
			t.Errorf("%s SortSize = %d, want %d", c.ty, c.ty.SortSize(), c.sortSize)
		}
	}
	if Type(77).String() != "Type(77)" || Type(77).Valid() {
		t.Error("invalid type not reported")
	}
}
