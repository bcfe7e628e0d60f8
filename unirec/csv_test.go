package unirec

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCSVHeader(t *testing.T) {
	tests := []struct {
		name, in, spec string
		cols           []string
		hasTime        bool
	}{
		{"plain", "uint16 B,ipaddr A", "ipaddr A,uint16 B", []string{"B", "A"}, false},
		{"logger -T time column", "time,uint16 B,ipaddr A\n", "ipaddr A,uint16 B", []string{"B", "A"}, true},
		{"blank after comma and CRLF", "time, uint16 B, string S\r\n", "uint16 B,string S", []string{"B", "S"}, true},
		{"field named like the time column is not one", "time TIME,uint8 X", "time TIME,uint8 X", []string{"TIME", "X"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseCSVHeader(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if h.T.Spec() != tc.spec || h.HasTime != tc.hasTime || len(h.Columns) != len(tc.cols) {
				t.Fatalf("spec %q time %v columns %v", h.T.Spec(), h.HasTime, h.Columns)
			}
			for i, id := range h.Columns {
				if h.T.Field(id).Name != tc.cols[i] {
					t.Errorf("column %d is %s, want %s", i, h.T.Field(id).Name, tc.cols[i])
				}
			}
		})
	}
	for _, in := range []string{"uint8", "uint8 A,foo B", "uint8 A,,uint8 B", "uint8 A,uint16 A"} {
		if _, err := ParseCSVHeader(in); err == nil {
			t.Errorf("ParseCSVHeader(%q) accepted", in)
		}
	}
}

func TestParseRowQuoting(t *testing.T) {
	h, err := ParseCSVHeader("uint8 N,string S,string T")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := h.T.Lookup("S")
	tt, _ := h.T.Lookup("T")
	tests := []struct {
		name, row, s, t string
	}{
		{"unquoted", `1,abc,def`, "abc", "def"},
		{"quoted with comma", `1,"a,b",c`, "a,b", "c"},
		{"doubled quotes", `1,"say ""hi""",x`, `say "hi"`, "x"},
		{"only quotes", `1,"""quoted""",x`, `"quoted"`, "x"},
		{"empty quoted and unquoted", `1,"",`, "", ""},
		{"backslash kept", `1,"back\slash",x`, `back\slash`, "x"},
		{"backslash-escaped quote is literal", `1,"a\"b",x`, `a\"b`, "x"},
		{"quote inside unquoted value is literal", `1,a"b,x`, `a"b`, "x"},
		{"trailing comma in quotes", `1,"end,",x`, "end,", "x"},
		{"text after closing quote kept", `1,"ab"cd,x`, "abcd", "x"},
		{"unterminated quote takes the rest", `1,"ab,cd`, "", ""},
		{"newline stripped", "1,a,b\n", "a", "b"},
	}
	rec := h.T.NewRecord()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.ParseRow([]byte(tc.row), &rec)
			if tc.name == "unterminated quote takes the rest" {
				if !errors.Is(err, ErrColumns) {
					t.Fatalf("err = %v, want ErrColumns", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(rec.Var(s)) != tc.s || string(rec.Var(tt)) != tc.t {
				t.Errorf("S=%q T=%q, want %q %q", rec.Var(s), rec.Var(tt), tc.s, tc.t)
			}
		})
	}
}

func TestParseRowTimeColumnAndErrors(t *testing.T) {
	h, err := ParseCSVHeader("time,uint16 P,time T")
	if err != nil {
		t.Fatal(err)
	}
	rec := h.T.NewRecord()
	ts, err := h.ParseRow([]byte("2024-01-15T10:00:00,80,2024-01-15T10:00:00.5\n"), &rec)
	if err != nil || ts != "2024-01-15T10:00:00" {
		t.Fatalf("ts %q err %v", ts, err)
	}
	if got := string(rec.AppendText(nil, ',')); got != "2024-01-15T10:00:00.500000,80" {
		t.Errorf("record %q", got)
	}
	tests := []struct {
		name, row string
		want      error
	}{
		{"too few columns", "2024-01-15T10:00:00,80", ErrColumns},
		{"too many columns", "2024-01-15T10:00:00,80,2024-01-15T10:00:00,9", ErrColumns},
		{"bad fixed value", "2024-01-15T10:00:00,x,2024-01-15T10:00:00", ErrBadValue},
		{"bad time value", "2024-01-15T10:00:00,1,2024-01-15 10:00:00", errBadTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.ParseRow([]byte(tc.row), &rec); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	other := mustTemplate(t, "uint8 Z").NewRecord()
	if _, err := h.ParseRow([]byte("x,1,2"), &other); err == nil {
		t.Error("record of another template accepted")
	}
	var zero Record
	if _, err := h.ParseRow([]byte("x,1,2"), &zero); err == nil {
		t.Error("record without template accepted")
	}
	empty := Record{T: h.T}
	if _, err := h.ParseRow([]byte("x,7,2024-01-15T10:00:00"), &empty); err != nil || empty.Uint16(mustID(t, h.T, "P")) != 7 {
		t.Errorf("record without buffer: %v %x", err, empty.Data)
	}
}

func TestParseRowResetsAndTruncates(t *testing.T) {
	h, err := ParseCSVHeader("string S,bytes B,uint8 N")
	if err != nil {
		t.Fatal(err)
	}
	rec := h.T.NewRecord()
	long := strings.Repeat("a", MaxCSVVarLen+100)
	hexLong := strings.Repeat("ab", MaxCSVVarLen)
	if _, err := h.ParseRow([]byte(long+","+hexLong+",1"), &rec); err != nil {
		t.Fatal(err)
	}
	s, _ := h.T.Lookup("S")
	b, _ := h.T.Lookup("B")
	if len(rec.Var(s)) != MaxCSVVarLen || len(rec.Var(b)) != MaxCSVVarLen/2 {
		t.Errorf("lengths %d %d, want %d %d", len(rec.Var(s)), len(rec.Var(b)), MaxCSVVarLen, MaxCSVVarLen/2)
	}
	if _, err := h.ParseRow([]byte("x,,2"), &rec); err != nil {
		t.Fatal(err)
	}
	if got := string(rec.AppendText(nil, ',')); got != `2,,"x"` || len(rec.Data) != h.T.StaticSize()+1 {
		t.Errorf("after reuse %q (%d bytes)", got, len(rec.Data))
	}
}
