package unirec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustTemplate(t testing.TB, spec string) *Template {
	t.Helper()
	tm, err := ParseTemplate(spec)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func mustID(t testing.TB, tm *Template, name string) FieldID {
	t.Helper()
	id, ok := tm.Lookup(name)
	if !ok {
		t.Fatalf("no field %s in %s", name, tm.Spec())
	}
	return id
}

const arraysSpec = "ipaddr SRC_IP,uint16 SRC_PORT,uint8* FLAGS_ARR,string NOTE,uint16* PORTS,uint32* PKT_SIZES,int64* DELTAS,double* RATIOS,time* TIMES,ipaddr* HOPS"

// TestArraysWorkedExample builds the second arrays record of unirec.md §4
// with typed setters and SetVar and checks all 103 bytes.
func TestArraysWorkedExample(t *testing.T) {
	tm := mustTemplate(t, arraysSpec)
	r := tm.NewRecord()
	r.SetIP(mustID(t, tm, "SRC_IP"), IPv4([4]byte{10, 0, 0, 2}))
	r.SetUint16(mustID(t, tm, "SRC_PORT"), 2000)
	// Set in an order different from the layout to exercise shifting.
	sets := []struct {
		name string
		val  string // hex
	}{
		{"HOPS", "0000000000000000" + "08080808" + "ffffffff"},
		{"NOTE", hex.EncodeToString([]byte("single"))},
		{"FLAGS_ARR", "00"},
		{"RATIOS", "6e861bf0f9210940"},
		{"PORTS", "1600"},
		{"PKT_SIZES", "dc050000"},
		{"DELTAS", "0000000000000080"},
		{"TIMES", "0000000022" + "02a565"},
	}
	for _, s := range sets {
		b, _ := hex.DecodeString(s.val)
		if err := r.SetVar(mustID(t, tm, s.name), b); err != nil {
			t.Fatal(err)
		}
	}
	want := "0000000000000000" + "0a000002ffffffff" + "d007" +
		"00000100" + "01000600" + "07000200" + "09000400" + "0d000800" + "15000800" + "1d000800" + "25001000" +
		"00" + hex.EncodeToString([]byte("single")) + "1600" + "dc050000" + "0000000000000080" +
		"6e861bf0f9210940" + "000000002202a565" + "0000000000000000" + "08080808ffffffff"
	if got := hex.EncodeToString(r.Data); got != want {
		t.Fatalf("record\n got %s\nwant %s", got, want)
	}
	if len(r.Data) != 103 {
		t.Errorf("len = %d, want 103", len(r.Data))
	}
	if n := r.ArrayLen(mustID(t, tm, "HOPS")); n != 1 {
		t.Errorf("ArrayLen(HOPS) = %d", n)
	}
	if string(r.Var(mustID(t, tm, "NOTE"))) != "single" {
		t.Errorf("NOTE = %q", r.Var(mustID(t, tm, "NOTE")))
	}
	// Shrinking and growing a middle field keeps later fields intact.
	note := mustID(t, tm, "NOTE")
	if err := r.SetVar(note, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.SetVar(note, []byte("single")); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(r.Data); got != want {
		t.Fatalf("after shrink+grow\n got %s\nwant %s", got, want)
	}
}

func TestTypedAccessRoundTrip(t *testing.T) {
	tm := mustTemplate(t, "uint8 U8,int8 I8,char C,uint16 U16,int16 I16,uint32 U32,int32 I32,uint64 U64,int64 I64,float F,double D,ipaddr IP,macaddr M,time T")
	r := tm.NewRecord()
	id := func(n string) FieldID { return mustID(t, tm, n) }
	r.SetUint8(id("U8"), 200)
	r.SetInt8(id("I8"), -100)
	r.SetChar(id("C"), 'x')
	r.SetUint16(id("U16"), 65000)
	r.SetInt16(id("I16"), -30000)
	r.SetUint32(id("U32"), 4000000000)
	r.SetInt32(id("I32"), -2000000000)
	r.SetUint64(id("U64"), 1<<63+5)
	r.SetInt64(id("I64"), -1<<62)
	r.SetFloat(id("F"), 1.5)
	r.SetDouble(id("D"), -2.25)
	ip := IPv6([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: 1})
	r.SetIP(id("IP"), ip)
	r.SetMAC(id("M"), MAC{1, 2, 3, 4, 5, 6})
	r.SetTime(id("T"), TimeFromSecMsec(1705312800, 123))
	if r.Uint8(id("U8")) != 200 || r.Int8(id("I8")) != -100 || r.Char(id("C")) != 'x' ||
		r.Uint16(id("U16")) != 65000 || r.Int16(id("I16")) != -30000 ||
		r.Uint32(id("U32")) != 4000000000 || r.Int32(id("I32")) != -2000000000 ||
		r.Uint64(id("U64")) != 1<<63+5 || r.Int64(id("I64")) != -1<<62 ||
		r.Float(id("F")) != 1.5 || r.Double(id("D")) != -2.25 || r.IP(id("IP")) != ip ||
		r.MAC(id("M")) != (MAC{1, 2, 3, 4, 5, 6}) || r.Time(id("T")) != TimeFromSecMsec(1705312800, 123) {
		t.Errorf("round trip mismatch: %x", r.Data)
	}
	r = r.Reset()
	if !bytes.Equal(r.Data, make([]byte, tm.StaticSize())) {
		t.Errorf("Reset left %x", r.Data)
	}
}

func TestWrapGoldenBasicFlows(t *testing.T) {
	tm, recs := goldenRecords(t, "basic_flows")
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20", len(recs))
	}
	r, err := tm.Wrap(recs[3])
	if err != nil {
		t.Fatal(err)
	}
	if r.Uint64(mustID(t, tm, "BYTES")) != 18446744073709551615 || r.Uint32(mustID(t, tm, "PACKETS")) != 4294967295 ||
		r.Uint16(mustID(t, tm, "DST_PORT")) != 65535 || r.IP(mustID(t, tm, "DST_IP")) != IPv4([4]byte{255, 255, 255, 255}) {
		t.Errorf("record 4 decoded wrongly: %x", recs[3])
	}
	r, _ = tm.Wrap(recs[1])
	if got := r.Time(mustID(t, tm, "TIME_FIRST")); got != Time(0x65a5022000000000|0x1F7CED91) {
		t.Errorf("TIME_FIRST = %#x", uint64(got))
	}
}

func TestWrapErrors(t *testing.T) {
	tm := mustTemplate(t, "uint16 A,string S,bytes B")
	tests := []struct {
		name string
		data string
		want error
	}{
		{"record too short", "0100" + "000000", ErrShort},
		{"slot past end", "0100" + "00000300" + "03000000" + "6162", ErrSlot},
		{"second slot offset past end", "0100" + "00000000" + "05000000" + "6162", ErrSlot},
		{"too long", "0100" + "00000000" + "00000000" + strings.Repeat("00", 65530), ErrTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.data)
			if _, err := tm.Wrap(b); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	ok, _ := hex.DecodeString("0100" + "00000200" + "02000100" + "616263" + "ffff")
	r, err := tm.Wrap(ok)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Var(1)) != "ab" || !bytes.Equal(r.Var(2), []byte{'c'}) {
		t.Errorf("Var = %q %q", r.Var(1), r.Var(2))
	}
}

func TestSetVarLimits(t *testing.T) {
	tm := mustTemplate(t, "uint32 X,string S,bytes B")
	r := tm.NewRecord()
	s, b := mustID(t, tm, "S"), mustID(t, tm, "B")
	if err := r.SetVar(s, make([]byte, 65536)); !errors.Is(err, ErrTooLong) {
		t.Errorf("65536-byte value: %v", err)
	}
	if err := r.SetVar(s, make([]byte, 65535-tm.StaticSize())); err != nil {
		t.Errorf("value filling the record exactly: %v", err)
	}
	if err := r.SetVar(b, []byte{1}); !errors.Is(err, ErrTooLong) {
		t.Errorf("one byte over: %v", err)
	}
	if len(r.Data) != 65535 {
		t.Errorf("failed SetVar changed the record to %d bytes", len(r.Data))
	}
	if err := r.SetVar(mustID(t, tm, "X"), nil); !errors.Is(err, ErrNotVar) {
		t.Errorf("SetVar on fixed field: %v", err)
	}
	// A wrapped record with a small capacity grows on SetVar.
	w, err := tm.Wrap(make([]byte, tm.StaticSize()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetVarString(s, "hello"); err != nil || string(w.Var(s)) != "hello" {
		t.Errorf("SetVarString on wrapped record: %v %q", err, w.Var(s))
	}
}

func TestCopyFields(t *testing.T) {
	src := mustTemplate(t, "ipaddr SRC_IP,uint16 SRC_PORT,string NOTE,uint32 ONLY_SRC,uint8 PROTOCOL")
	dst := mustTemplate(t, "ipaddr SRC_IP,uint32 SRC_PORT,string NOTE,uint64 ONLY_DST,uint8 PROTOCOL")
	s := src.NewRecord()
	s.SetIP(mustID(t, src, "SRC_IP"), IPv4([4]byte{1, 2, 3, 4}))
	s.SetUint16(mustID(t, src, "SRC_PORT"), 80)
	s.SetUint8(mustID(t, src, "PROTOCOL"), 6)
	if err := s.SetVar(mustID(t, src, "NOTE"), []byte("note")); err != nil {
		t.Fatal(err)
	}
	d := dst.NewRecord()
	d.SetUint64(mustID(t, dst, "ONLY_DST"), 7)
	if err := CopyFields(&d, s); err != nil {
		t.Fatal(err)
	}
	if d.IP(mustID(t, dst, "SRC_IP")) != IPv4([4]byte{1, 2, 3, 4}) || d.Uint8(mustID(t, dst, "PROTOCOL")) != 6 ||
		string(d.Var(mustID(t, dst, "NOTE"))) != "note" || d.Uint64(mustID(t, dst, "ONLY_DST")) != 7 ||
		d.Uint32(mustID(t, dst, "SRC_PORT")) != 0 {
		t.Errorf("CopyFields result %x", d.Data)
	}
}

func TestCopierMatchesCopyFields(t *testing.T) {
	src := mustTemplate(t, arraysSpec+",uint8 PROTOCOL")
	dst := mustTemplate(t, "ipaddr SRC_IP,uint32 SRC_PORT,string NOTE,uint16* PORTS,uint8 PROTOCOL,bytes EXTRA")
	s := src.NewRecord()
	for name, v := range map[string]string{"SRC_IP": "10.0.0.1", "SRC_PORT": "1000", "NOTE": "n", "PORTS": "[80|443]", "PROTOCOL": "6", "HOPS": "[::1]"} {
		if err := s.SetFromString(mustID(t, src, name), v); err != nil {
			t.Fatal(err)
		}
	}
	a, b := dst.NewRecord(), dst.NewRecord()
	for _, r := range []*Record{&a, &b} {
		if err := r.SetVar(mustID(t, dst, "EXTRA"), []byte{9}); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopyFields(&a, s); err != nil {
		t.Fatal(err)
	}
	if err := NewCopier(dst, src).Copy(&b, s); err != nil {
		t.Fatal(err)
	}
	want := `10.0.0.1,0,6,09,"n",[80|443]`
	if got := string(a.AppendText(nil, ',')); got != want {
		t.Errorf("CopyFields gives %q, want %q", got, want)
	}
	if !bytes.Equal(a.Data, b.Data) {
		t.Errorf("Copier %x != CopyFields %x", b.Data, a.Data)
	}
	c := b.Clone()
	b.SetUint8(mustID(t, dst, "PROTOCOL"), 17)
	if c.Uint8(mustID(t, dst, "PROTOCOL")) != 6 {
		t.Error("Clone shares data")
	}
}
