package unirec

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestSetFromStringScalars(t *testing.T) {
	tests := []struct {
		name string
		ty   Type
		in   string
		want string // AppendValue output
	}{
		{"unsigned leading blanks and trailing text", Uint16, "  80abc", "80"},
		{"unsigned plus sign", Uint8, "+7", "7"},
		{"unsigned negative wraps like strtoul", Uint8, "-1", "255"},
		{"unsigned 64 negative wraps", Uint64, "-1", "18446744073709551615"},
		{"unsigned truncated to width", Uint8, "256", "0"},
		{"unsigned overflow saturates then truncates", Uint32, "99999999999999999999", "4294967295"},
		{"unsigned has no hex", Uint32, "0x10", "0"},
		{"signed hex", Int32, "0x10", "16"},
		{"signed octal", Int16, "010", "8"},
		{"signed 0x without digits is 0", Int8, "0xg", "0"},
		{"signed truncated to width", Int8, "200", "-56"},
		{"signed overflow saturates", Int64, "9223372036854775808", "9223372036854775807"},
		{"signed underflow saturates", Int64, "-9223372036854775809", "-9223372036854775808"},
		{"char takes first byte even a blank", Char, " x", " "},
		{"float leading blanks", Float, " 1.5xyz", "1.500000"},
		{"double exponent", Double, "2.5e2", "250.000000"},
		{"double dangling exponent ignored", Double, "2e", "2.000000"},
		{"double hex float", Double, "0x1.8", "1.500000"},
		{"double hex float with exponent", Double, "0x1p-2", "0.250000"},
		{"double leading dot", Double, ".5", "0.500000"},
		{"double overflow is inf", Double, "1e999", "inf"},
		{"float overflow is inf", Float, "1e39", "inf"},
		{"time with Z", TimeT, "2024-01-15T10:00:00Z", "2024-01-15T10:00:00.000000"},
		{"mac ignores trailing text", MACAddr, "1:2:3:4:5:6x", "01:02:03:04:05:06"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, _ := NewTemplate([]Field{{Name: "X", Type: tc.ty}})
			r := tm.NewRecord()
			if err := r.SetFromString(0, tc.in); err != nil {
				t.Fatal(err)
			}
			if got := string(r.AppendValue(nil, 0)); got != tc.want {
				t.Errorf("%s from %q prints %q, want %q", tc.ty, tc.in, got, tc.want)
			}
		})
	}
}

func TestSetFromStringErrors(t *testing.T) {
	tests := []struct {
		name string
		ty   Type
		in   string
	}{
		{"empty integer", Uint32, ""},
		{"sign only", Int32, "-"},
		{"letters", Uint16, "abc"},
		{"empty char", Char, ""},
		{"empty float", Double, ""},
		{"float garbage", Float, "x1"},
		{"bad ip", IPAddr, "1.2.3.256"},
		{"ip with blank", IPAddr, "1.2.3.4 "},
		{"bad mac", MACAddr, "aa:bb"},
		{"bad time", TimeT, "2024-01-15 10:00:00"},
		{"bad hex pair", Bytes, "zz"},
		{"array element not a number", Uint16Array, "[1|x|3]"},
		{"array element with trailing text", Uint16Array, "[1|2x]"},
		{"array element bad ip", IPAddrArray, "[1.2.3.4|nope]"},
		{"array too big", Uint64Array, "[" + strings.Repeat("1|", 8200) + "1]"},
		{"string too big", String, strings.Repeat("s", 65535)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, _ := NewTemplate([]Field{{Name: "X", Type: tc.ty}})
			r := tm.NewRecord()
			if tc.ty.IsVariable() {
				if err := r.SetVar(0, make([]byte, 16)); err != nil {
					t.Fatal(err)
				}
			} else {
				for i := range r.Data {
					r.Data[i] = 0xa5
				}
			}
			before := string(r.Data)
			err := r.SetFromString(0, tc.in)
			if err == nil {
				t.Fatalf("%s from %q accepted: %x", tc.ty, tc.in, r.Data)
			}
			if !strings.Contains(err.Error(), "X") {
				t.Errorf("error %q does not name the field", err)
			}
			if tc.ty.IsVariable() && len(r.Var(0)) != 0 {
				t.Errorf("failed variable field left %d bytes", len(r.Var(0)))
			}
			if !tc.ty.IsVariable() && string(r.Data) != before {
				t.Errorf("failed fixed field changed: %x", r.Data)
			}
		})
	}
}

func TestSetFromStringVariable(t *testing.T) {
	tests := []struct {
		name string
		ty   Type
		in   string
		hex  string // expected raw bytes
	}{
		{"string as is", String, `a "b",c\`, hex.EncodeToString([]byte(`a "b",c\`))},
		{"bytes pairs", Bytes, "DEADbeef", "deadbeef"},
		{"bytes odd digit ignored", Bytes, "abc", "ab"},
		{"bytes empty", Bytes, "", ""},
		{"uint8 array", Uint8Array, "[1|2|255]", "0102ff"},
		{"empty array", Uint16Array, "[]", ""},
		{"array without brackets, blank separated", Uint16Array, "1 2", "01000200"},
		{"array with blanks around elements", Int32Array, "[ -1 | 2 ]", "ffffffff02000000"},
		{"int64 array extremes", Int64Array, "[-9223372036854775808|9223372036854775807]", "0000000000000080ffffffffffffff7f"},
		{"double array", DoubleArray, "[0.5|1.25]", "000000000000e03f000000000000f43f"},
		{"ip array", IPAddrArray, "[::|0.0.0.0]", "00000000000000000000000000000000" + "000000000000000000000000ffffffff"},
		{"time array", TimeArray, "[2024-01-15T10:00:00.123]", "91ed7c1f2002a565"},
		{"mac array", MACAddrArray, "[01:02:03:04:05:06]", "010203040506"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tm, _ := NewTemplate([]Field{{Name: "X", Type: tc.ty}, {Name: "Y", Type: String}})
			r := tm.NewRecord()
			y, _ := tm.Lookup("Y")
			x, _ := tm.Lookup("X")
			if err := r.SetVarString(y, "tail"); err != nil {
				t.Fatal(err)
			}
			if err := r.SetFromString(x, tc.in); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(r.Var(x)); got != tc.hex {
				t.Errorf("raw %s, want %s", got, tc.hex)
			}
			if string(r.Var(y)) != "tail" {
				t.Errorf("other field damaged: %q", r.Var(y))
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	const base = 1705312800 // 2024-01-15T10:00:00
	tests := []struct {
		in   string
		sec  uint32
		nsec uint32
	}{
		{"2024-01-15T10:00:00", base, 0},
		{"2024-01-15T10:00:00.123", base, 123000000},
		{"2024-01-15T10:00:00.5Z", base, 500000000},
		{"2024-01-15T10:00:00z", base, 0},
		{"2024-01-15T10:00:00.123456789", base, 123456789},
		{"2024-01-15T10:00:00.1234567899999", base, 123456789},
		{"2024-01-15T10:00:1.0", base + 1, 0},
		{"2024-1-5T1:2:3", 1704416523, 0},
		{"2024-01-15T 10:00:00", base, 0},
		{"2024-02-30T00:00:00", 1709251200, 0}, // normalised to March 1st like timegm
		{"2024-01-15T10:00:60", base + 60, 0},
		{"1970-01-01T00:00:00", 0, 0},
		{"2106-02-07T06:28:15", 0xFFFFFFFF, 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTime(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := TimeFromSecNsec(tc.sec, tc.nsec); got != want {
				t.Errorf("= %s (%#x), want %s (%#x)", got, uint64(got), want, uint64(want))
			}
		})
	}
	for _, in := range []string{"", "2024-01-15", "2024-01-15T10:00", "2024-01-15 10:00:00", "2024-01-15T10:00:00 ",
		"2024-01-15T10:00:00.", "2024-01-15T10:00:00.12x", "2024-01-15T10:00:00ZZ", "2024-13-01T00:00:00",
		"2024-00-01T00:00:00", "2024-01-32T00:00:00", "2024-01-15T24:00:00", "2024-01-15T10:60:00", "2024-01-15T10:00:62",
		"20245-01-15T10:00:00", "1969-12-31T23:59:59", "2106-02-07T06:28:16", "x2024-01-15T10:00:00"} {
		if tv, err := ParseTime(in); err == nil || !errors.Is(err, errBadTime) {
			t.Errorf("ParseTime(%q) = %s, %v; want errBadTime", in, tv, err)
		}
	}
}

func TestValueErrorsWrapErrBadValue(t *testing.T) {
	_, ipErr := ParseIP("x")
	_, macErr := ParseMAC("x")
	_, timeErr := ParseTime("x")
	tm, _ := NewTemplate([]Field{{Name: "X", Type: Uint8Array}})
	r := tm.NewRecord()
	arrErr := r.SetFromString(0, "[1|y]")
	for _, err := range []error{ipErr, macErr, timeErr, arrErr} {
		if !errors.Is(err, ErrBadValue) {
			t.Errorf("%v does not wrap ErrBadValue", err)
		}
	}
}
