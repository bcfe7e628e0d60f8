package unirec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenLines returns the lines of a golden CSV, or nil when the golden
// data is absent (fuzz seeds then come from the literals only).
func goldenLines(name string) []string {
	b := goldenFile(name)
	if b == nil {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func goldenFile(name string) []byte {
	d := findTrapDir()
	if d == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(d, name))
	if err != nil {
		return nil
	}
	return b
}

func FuzzParseTemplate(f *testing.F) {
	for _, name := range []string{"basic_flows.csv", "strings.csv", "arrays.csv"} {
		if l := goldenLines(name); l != nil {
			f.Add(l[0])
		}
	}
	f.Add("")
	f.Add("uint8 A,uint8 A,uint16 A")
	f.Add(" time* T, macaddr M,char C")
	f.Fuzz(func(t *testing.T, spec string) {
		tm, err := ParseTemplate(spec)
		if err != nil {
			return
		}
		if tm.StaticSize() > MaxRecordSize {
			t.Fatalf("static size %d", tm.StaticSize())
		}
		again, err := ParseTemplate(tm.Spec())
		if err != nil || !again.Equal(tm) {
			t.Fatalf("canonical spec %q does not re-parse to itself: %v", tm.Spec(), err)
		}
		for i, fl := range tm.Fields() {
			if i > 0 {
				p := tm.Field(FieldID(i - 1))
				if p.Type.SortSize() < fl.Type.SortSize() || p.Type.SortSize() == fl.Type.SortSize() && p.Name >= fl.Name {
					t.Fatalf("fields %v and %v out of order", p, fl)
				}
			}
		}
		r := tm.NewRecord()
		if _, err := tm.Wrap(r.Data); err != nil {
			t.Fatalf("fresh record rejected: %v", err)
		}
	})
}

func FuzzRecordText(f *testing.F) {
	templates := []*Template{}
	for _, spec := range []string{
		"ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS,string NOTE,bytes PAYLOAD",
		arraysSpec,
		"char C,float F,double D,macaddr M,int8* A,int16* B,int32* C2,uint64* D2,float* E,macaddr* G",
	} {
		tm, err := ParseTemplate(spec)
		if err != nil {
			f.Fatal(err)
		}
		templates = append(templates, tm)
	}
	for _, name := range []string{"strings", "arrays"} {
		if tc, err := parseTrapcap(goldenFile(name + ".trapcap")); err == nil {
			for _, m := range tc.msgs {
				f.Add(m)
			}
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, 60))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tm := range templates {
			r, err := tm.Wrap(data)
			if err != nil {
				continue
			}
			line := r.AppendText(nil, ',')
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("newline in logger line %q", line)
			}
			// Rebuilding the record field by field gives canonical slots and
			// the same text.
			c := tm.NewRecord()
			if err := CopyFields(&c, r); err != nil {
				t.Fatal(err)
			}
			if got := c.AppendText(nil, ','); !bytes.Equal(got, line) {
				t.Fatalf("copy prints %q, original %q", got, line)
			}
		}
	})
}

func FuzzSetFromString(f *testing.F) {
	seeds := []struct {
		ty Type
		s  string
	}{
		{Uint8, "255"}, {Int8, "-0x7f"}, {Uint64, "18446744073709551615"}, {Int32, "010"},
		{Float, "1e39"}, {Double, "-nan(123)"}, {Double, "0x1.8p3"}, {Char, "x"},
		{IPAddr, "::ffff:1.2.3.4"}, {IPAddr, "2001:db8::1"}, {IPAddr, "10.0.0.1"},
		{MACAddr, "aa:bb:cc:dd:ee:ff"}, {TimeT, "2024-01-15T10:00:00.123Z"},
		{String, "a\"b"}, {Bytes, "deadbeef"}, {Uint16Array, "[80|443]"}, {IPAddrArray, "[::|0.0.0.0|::1]"},
		{TimeArray, "[2024-01-15T10:00:00.000|2024-01-15T10:00:01.500]"}, {DoubleArray, "[-1.5|0]"},
	}
	for _, s := range seeds {
		f.Add(uint8(s.ty), s.s)
	}
	for _, name := range []string{"basic_flows.csv", "arrays.csv"} {
		lines := goldenLines(name)
		if len(lines) < 2 {
			continue
		}
		h, err := ParseCSVHeader(lines[0])
		if err != nil {
			f.Fatal(err)
		}
		for i, v := range strings.Split(lines[1], ",") {
			if i < len(h.Columns) {
				f.Add(uint8(h.T.Field(h.Columns[i]).Type), v)
			}
		}
	}
	f.Fuzz(func(t *testing.T, ty uint8, s string) {
		typ := Type(ty % uint8(numTypes))
		tm, err := NewTemplate([]Field{{Name: "X", Type: typ}, {Name: "Y", Type: Bytes}})
		if err != nil {
			t.Fatal(err)
		}
		r := tm.NewRecord()
		x, _ := tm.Lookup("X")
		y, _ := tm.Lookup("Y")
		if err := r.SetVar(y, []byte{1, 2}); err != nil {
			t.Fatal(err)
		}
		if err := r.SetFromString(x, s); err != nil {
			return
		}
		if _, err := tm.Wrap(r.Data); err != nil {
			t.Fatalf("record invalid after SetFromString: %v", err)
		}
		if !bytes.Equal(r.Var(y), []byte{1, 2}) {
			t.Fatalf("other field damaged: %x", r.Var(y))
		}
		text := r.AppendValue(nil, x)
		// Text of integers, addresses and arrays of them parses back to the same value.
		switch typ.Elem() {
		case Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64, IPAddr, MACAddr:
			if typ == Bytes {
				return
			}
			r2 := tm.NewRecord()
			if err := r2.SetFromString(x, string(text)); err != nil {
				t.Fatalf("%s text %q of %q does not parse back: %v", typ, text, s, err)
			}
			if got := r2.AppendValue(nil, x); !bytes.Equal(got, text) {
				t.Fatalf("%s: %q -> %q -> %q", typ, s, text, got)
			}
		}
	})
}

func FuzzParseCSVRow(f *testing.F) {
	for _, name := range []string{"basic_flows.csv", "strings.csv", "arrays.csv"} {
		lines := goldenLines(name)
		for _, row := range lines[min(1, len(lines)):] {
			f.Add(lines[0], []byte(row))
		}
	}
	f.Add("time,uint8 A,string S", []byte(`2024-01-15T10:00:00,1,"a""b,c"`))
	f.Add("uint8 A,string S", []byte(`1,"\"`))
	f.Fuzz(func(t *testing.T, header string, row []byte) {
		h, err := ParseCSVHeader(header)
		if err != nil {
			return
		}
		rec := h.T.NewRecord()
		if _, err := h.ParseRow(row, &rec); err != nil {
			return
		}
		if _, err := h.T.Wrap(rec.Data); err != nil {
			t.Fatalf("ParseRow produced an invalid record: %v", err)
		}
		_ = rec.AppendText(nil, ',')
	})
}
