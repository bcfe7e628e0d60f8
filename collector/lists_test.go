package collector

import (
	"errors"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// listTable maps ports and addresses into array fields, besides the usual
// scalar fields.
const listTable = `
SRC_IP     ipaddr   e0id8,e0id27
DST_PORT   uint16   e0id11
DST_PORTS  uint16*  e0id11
SRC_IPS    ipaddr*  e0id8,e0id27
MACS       macaddr* e0id56
PACKETS    uint32   e0id2
DELTAS     int32*   e0id433
OFFSET     int32    e0id434
`

const listOutput = "ipaddr SRC_IP,uint16 DST_PORT,uint16* DST_PORTS,ipaddr* SRC_IPS,macaddr* MACS,uint32 PACKETS,int32* DELTAS,int32 OFFSET"

func listDecoder(t testing.TB) (*Decoder, *recSink) {
	t.Helper()
	tbl, err := converters.ParseTable(strings.NewReader(listTable))
	if err != nil {
		t.Fatal(err)
	}
	out, err := unirec.ParseTemplate(listOutput)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	// Two signed test elements (unassigned ids in our registry).
	reg.Add(InfoElement{ID: 433, Name: "testSigned32", Type: TypeSigned32})
	reg.Add(InfoElement{ID: 434, Name: "testSigned32b", Type: TypeSigned32})
	return newTestDecoder(t, Config{Output: out, Table: tbl, Registry: reg})
}

// basicList builds an RFC 6313 basicList value (semantic allOf).
func basicList(id, elemLen uint16, elems ...[]byte) []byte {
	return cat(append([][]byte{{3}, be16(id), be16(elemLen)}, elems...)...)
}

// varField prefixes b with its IPFIX variable-length length.
func varField(b []byte) []byte {
	if len(b) < 255 {
		return cat([]byte{byte(len(b))}, b)
	}
	return cat([]byte{255}, be16(uint16(len(b))), b)
}

func text(r unirec.Record, name string) string {
	return string(r.AppendValue(nil, field(r, name)))
}

// Acceptance 3: a hand-built IPFIX message with a basicList of ports and
// one of addresses fills array fields; the logger text is [a|b|c].
func TestBasicListIntoArrayFields(t *testing.T) {
	d, s := listDecoder(t)
	tmpl := ipfixTemplate(300, Field{ID: 8, Length: 4}, Field{ID: 291, Length: VariableLength},
		Field{ID: 291, Length: VariableLength}, Field{ID: 2, Length: 4})
	ports := basicList(11, 2, be16(80), be16(443), be16(8080))
	addrs := basicList(27, 16, []byte{0x20, 0x01, 0x0d, 0xb8, 15: 1}, []byte{0x20, 0x01, 0x0d, 0xb8, 15: 2})
	msg := ipfixMsg(1, 0, 1, mkSet(2, tmpl),
		mkSet(300, be32(0xC0000201), varField(ports), varField(addrs), be32(5)))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	if len(s.recs) != 1 {
		t.Fatalf("%d records", len(s.recs))
	}
	r := s.recs[0]
	for name, want := range map[string]string{
		"DST_PORTS": "[80|443|8080]",
		// The record's own SRC_IP (element 8) comes first, then the list's.
		"SRC_IPS": "[192.0.2.1|2001:db8::1|2001:db8::2]",
		"SRC_IP":  "192.0.2.1", // the record's own field wins over the list
		// A scalar target the record does not set takes the list's last value.
		"DST_PORT": "8080",
		"PACKETS":  "5",
		"MACS":     "[]",
	} {
		if got := text(r, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	line := string(r.AppendText(nil, ','))
	if !strings.Contains(line, ",[80|443|8080],") {
		t.Errorf("logger text %q lacks [80|443|8080]", line)
	}
}

// subTemplateList and subTemplateMultiList records are walked; their
// elements reach array and scalar fields, nested basicLists too.
func TestSubTemplateListsAreWalked(t *testing.T) {
	d, s := listDecoder(t)
	sub := ipfixTemplate(400, Field{ID: 11, Length: 2}, Field{ID: 56, Length: 6})
	subIP := ipfixTemplate(401, Field{ID: 8, Length: 4}, Field{ID: 291, Length: VariableLength})
	top := ipfixTemplate(300, Field{ID: 292, Length: VariableLength}, Field{ID: 293, Length: VariableLength})
	stl := cat([]byte{3}, be16(400),
		be16(22), []byte{0, 1, 2, 3, 4, 5},
		be16(23), []byte{0, 1, 2, 3, 4, 6})
	inner := basicList(11, 2, be16(1), be16(2))
	entry401 := cat(be32(0x0A000001), varField(inner))
	stml := cat([]byte{3},
		be16(401), be16(uint16(4+len(entry401))), entry401,
		be16(400), be16(4+8), be16(25), []byte{6, 5, 4, 3, 2, 1})
	msg := ipfixMsg(1, 0, 1, mkSet(2, sub, subIP, top), mkSet(300, varField(stl), varField(stml)))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	r := s.recs[0]
	for name, want := range map[string]string{
		"DST_PORTS": "[22|23|1|2|25]",
		"MACS":      "[00:01:02:03:04:05|00:01:02:03:04:06|06:05:04:03:02:01]",
		"SRC_IPS":   "[10.0.0.1]",
		"SRC_IP":    "10.0.0.1",
		"DST_PORT":  "25",
	} {
		if got := text(r, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

// Reduced-size signed integers are sign-extended, as scalars and as array
// elements, from the record and from lists.
func TestReducedSizeSignedIntegersAreSignExtended(t *testing.T) {
	d, s := listDecoder(t)
	tmpl := ipfixTemplate(300, Field{ID: 434, Length: 2}, Field{ID: 433, Length: 1}, Field{ID: 291, Length: VariableLength})
	deltas := basicList(433, 2, be16(0xFFFE), be16(3))
	msg := ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, be16(0xFF38), []byte{0x80}, varField(deltas)))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	r := s.recs[0]
	if got := text(r, "OFFSET"); got != "-200" {
		t.Errorf("OFFSET = %s, want -200", got)
	}
	if got := text(r, "DELTAS"); got != "[-128|-2|3]" {
		t.Errorf("DELTAS = %s, want [-128|-2|3]", got)
	}
}

// Malformed lists are an error for the message, never a panic, and the
// decoder goes on.
func TestMalformedListsAreErrors(t *testing.T) {
	tmpl := ipfixTemplate(300, Field{ID: 291, Length: VariableLength})
	stml := ipfixTemplate(301, Field{ID: 293, Length: VariableLength})
	tests := []struct {
		name string
		msg  []byte
	}{
		{"basicList header cut", ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, varField([]byte{3, 0, 11})))},
		{"basicList element length 0", ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, varField(basicList(11, 0, be16(1)))))},
		{"basicList enterprise number cut", ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, varField([]byte{3, 0x80, 11, 0, 2, 0})))},
		{"basicList variable element overruns", ipfixMsg(1, 0, 1, mkSet(2, tmpl), mkSet(300, varField(basicList(82, VariableLength, []byte{9, 'a'}))))},
		{"subTemplateMultiList entry overruns", ipfixMsg(1, 0, 1, mkSet(2, stml), mkSet(301, varField(cat([]byte{3}, be16(300), be16(40)))))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := listDecoder(t)
			if err := d.Decode(exporterA, tc.msg); err == nil {
				t.Error("no error")
			}
			if c := d.Totals().Snapshot(); c.DecodeErrors != 1 {
				t.Errorf("DecodeErrors %d, want 1", c.DecodeErrors)
			}
		})
	}
}

// FuzzIPFIXLists decodes messages whose records carry RFC 6313 lists into
// array and scalar fields (the list walker, nested lists, sub-templates).
func FuzzIPFIXLists(f *testing.F) {
	tmpl := ipfixTemplate(300, Field{ID: 8, Length: 4}, Field{ID: 291, Length: VariableLength}, Field{ID: 292, Length: VariableLength}, Field{ID: 293, Length: VariableLength})
	sub := ipfixTemplate(400, Field{ID: 11, Length: 2}, Field{ID: 291, Length: VariableLength})
	inner := basicList(27, 16, make([]byte, 16))
	stl := cat([]byte{3}, be16(400), be16(22), varField(inner))
	stml := cat([]byte{3}, be16(400), be16(uint16(4+2+1+len(inner))), be16(23), varField(inner))
	f.Add(ipfixMsg(1, 0, 1, mkSet(2, tmpl, sub),
		mkSet(300, be32(1), varField(basicList(11, 2, be16(80), be16(443))), varField(stl), varField(stml))))
	f.Add(ipfixMsg(1, 0, 1, mkSet(2, tmpl, sub),
		mkSet(300, be32(1), varField(basicList(291, VariableLength, varField(basicList(433, 1, []byte{0xff})))), []byte{0}, []byte{0})))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, s := listDecoder(t)
		for range 2 {
			if err := d.Decode(exporterA, data); err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) &&
				!errors.Is(err, ErrVersion) && !errors.Is(err, ErrTemplate) && !strings.Contains(err.Error(), "reserved set id") {
				t.Fatalf("unclassified error: %v", err)
			}
		}
		for _, r := range s.recs {
			for _, name := range []string{"DST_PORTS", "SRC_IPS", "MACS", "DELTAS"} {
				id := field(r, name)
				if len(r.Var(id))%r.T.Field(id).Type.ElemSize() != 0 {
					t.Fatalf("%s holds a partial element", name)
				}
			}
		}
	})
}

func listBenchMessages() (tmplMsg, dataMsg []byte) {
	tmpl := ipfixTemplate(300, Field{ID: 8, Length: 4}, Field{ID: 2, Length: 4}, Field{ID: 291, Length: VariableLength}, Field{ID: 291, Length: VariableLength})
	tmplMsg = ipfixMsg(1, 0, 1, mkSet(2, tmpl))
	var recs [][]byte
	for i := range 20 {
		recs = append(recs, cat(be32(0x0A000000|uint32(i)), be32(7),
			varField(basicList(11, 2, be16(80), be16(443), be16(uint16(1024+i)))),
			varField(basicList(8, 4, be32(0xC0000201), be32(0xC0000202)))))
	}
	return tmplMsg, ipfixMsg(1, 0, 1, mkSet(300, recs...))
}

// Records with basicLists into array fields decode without allocating
// once the plan is compiled (a count, not a timing).
func TestListDecodeDoesNotAllocate(t *testing.T) {
	d, s := listDecoder(t)
	tmplMsg, dataMsg := listBenchMessages()
	for _, m := range [][]byte{tmplMsg, dataMsg} {
		if err := d.Decode(exporterA, m); err != nil {
			t.Fatal(err)
		}
	}
	if got := text(s.recs[0], "DST_PORTS"); got != "[80|443|1024]" {
		t.Fatalf("DST_PORTS = %s", got)
	}
	d.sink = SinkFunc(func(Exporter, unirec.Record) {})
	if a := testing.AllocsPerRun(20, func() { _ = d.Decode(exporterA, dataMsg) }); a != 0 {
		t.Errorf("%.1f allocations per 20-record message, want 0", a)
	}
}

func BenchmarkDecodeIPFIXBasicLists(b *testing.B) {
	d, _ := listDecoder(b)
	d.sink = SinkFunc(func(Exporter, unirec.Record) {})
	tmplMsg, dataMsg := listBenchMessages()
	_ = d.Decode(exporterA, tmplMsg)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := d.Decode(exporterA, dataMsg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*20/b.Elapsed().Seconds(), "records/s")
}
