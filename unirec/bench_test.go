package unirec

import (
	"testing"
)

const basicSpec = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"

func reportRecords(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

type basicIDs struct{ dst, src, bytes, first, last, pkts, dport, sport, proto, flags FieldID }

func resolveBasic(b *testing.B, tm *Template) basicIDs {
	return basicIDs{mustID(b, tm, "DST_IP"), mustID(b, tm, "SRC_IP"), mustID(b, tm, "BYTES"),
		mustID(b, tm, "TIME_FIRST"), mustID(b, tm, "TIME_LAST"), mustID(b, tm, "PACKETS"),
		mustID(b, tm, "DST_PORT"), mustID(b, tm, "SRC_PORT"), mustID(b, tm, "PROTOCOL"), mustID(b, tm, "TCP_FLAGS")}
}

// BenchmarkTypedSetGet writes and reads back every field of a basic flow.
func BenchmarkTypedSetGet(b *testing.B) {
	tm := mustTemplate(b, basicSpec)
	id := resolveBasic(b, tm)
	r := tm.NewRecord()
	src, dst := IPv4([4]byte{10, 0, 0, 1}), IPv4([4]byte{192, 168, 1, 1})
	var sink uint64
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r.SetIP(id.dst, dst)
		r.SetIP(id.src, src)
		r.SetUint64(id.bytes, uint64(n))
		r.SetTime(id.first, Time(n))
		r.SetTime(id.last, Time(n+1))
		r.SetUint32(id.pkts, 3)
		r.SetUint16(id.dport, 80)
		r.SetUint16(id.sport, 51234)
		r.SetUint8(id.proto, 6)
		r.SetUint8(id.flags, 27)
		ip := r.IP(id.src)
		sink += r.Uint64(id.bytes) + uint64(r.Time(id.first)) + uint64(r.Time(id.last)) + uint64(r.Uint32(id.pkts)) +
			uint64(r.Uint16(id.dport)) + uint64(r.Uint16(id.sport)) + uint64(r.Uint8(id.proto)) + uint64(r.Uint8(id.flags)) +
			uint64(ip[11]) + uint64(r.IP(id.dst)[11])
		n++
	}
	reportRecords(b, n)
	if sink == 0 {
		b.Fatal("no work done")
	}
}

// BenchmarkSetVar rewrites two variable fields of a strings-like record.
func BenchmarkSetVar(b *testing.B) {
	tm := mustTemplate(b, basicSpec+",string NOTE,bytes PAYLOAD")
	note, payload := mustID(b, tm, "NOTE"), mustID(b, tm, "PAYLOAD")
	r := tm.NewRecord()
	vals := [][]byte{[]byte("hello"), []byte("a somewhat longer note"), nil}
	pl := []byte{0xde, 0xad, 0xbe, 0xef}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := r.SetVar(payload, pl); err != nil {
			b.Fatal(err)
		}
		if err := r.SetVar(note, vals[n%3]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRecords(b, n)
}

// BenchmarkAppendText formats the basic_flows records as logger lines.
func BenchmarkAppendText(b *testing.B) {
	tm, msgs := goldenRecords(b, "basic_flows")
	recs := make([]Record, len(msgs))
	for i, m := range msgs {
		r, err := tm.Wrap(m)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = r
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		buf = recs[n%len(recs)].AppendText(buf[:0], ',')
		n++
	}
	reportRecords(b, n)
}

// BenchmarkParseRow parses the basic_flows and strings CSV rows.
func BenchmarkParseRow(b *testing.B) {
	for _, name := range []string{"basic_flows", "strings"} {
		b.Run(name, func(b *testing.B) {
			lines := goldenLines(name + ".csv")
			if lines == nil {
				b.Skip("golden data shared/testdata/trap not found")
			}
			h, err := ParseCSVHeader(lines[0])
			if err != nil {
				b.Fatal(err)
			}
			rows := make([][]byte, 0, len(lines)-1)
			for _, l := range lines[1:] {
				rows = append(rows, []byte(l))
			}
			rec := h.T.NewRecord()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if _, err := h.ParseRow(rows[n%len(rows)], &rec); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportRecords(b, n)
		})
	}
}
