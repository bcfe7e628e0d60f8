package collector

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// benchTemplate is a common 13-field IPv4 IPFIX template.
var benchFields = []Field{
	{ID: 8, Length: 4}, {ID: 12, Length: 4}, {ID: 7, Length: 2}, {ID: 11, Length: 2},
	{ID: 4, Length: 1}, {ID: 6, Length: 1}, {ID: 5, Length: 1},
	{ID: 1, Length: 8}, {ID: 2, Length: 8}, {ID: 152, Length: 8}, {ID: 153, Length: 8},
	{ID: 10, Length: 4}, {ID: 14, Length: 4},
}

const benchRecords = 30

func benchMessages() (tmplMsg, dataMsg []byte) {
	tmplMsg = ipfixMsg(1700000000, 0, 1, mkSet(2, ipfixTemplate(256, benchFields...)))
	var recs [][]byte
	for i := range benchRecords {
		recs = append(recs, cat(
			[]byte{10, 0, 0, byte(i)}, []byte{172, 16, 0, byte(i)}, be16(uint16(1024+i)), be16(443),
			[]byte{6, 0x1b, 0}, be64(uint64(1000+i)), be64(uint64(10+i)),
			be64(1700000000000+uint64(i)), be64(1700000000500+uint64(i)), be32(1), be32(2)))
	}
	dataMsg = ipfixMsg(1700000001, 0, 1, mkSet(256, recs...))
	return
}

// TestSteadyStateDecodeDoesNotAllocate checks the 0 allocs/record contract
// (a count, not a timing).
func TestSteadyStateDecodeDoesNotAllocate(t *testing.T) {
	tmpl, err := unirec.ParseTemplate(converters.BiflowTemplate + ",uint32 ODID,ipaddr EXPORTER_IP")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	d, err := NewDecoder(Config{Output: tmpl, ApplySampling: true}, SinkFunc(func(Exporter, unirec.Record) { n++ }))
	if err != nil {
		t.Fatal(err)
	}
	tmplMsg, dataMsg := benchMessages()
	if err := d.Decode(exporterA, tmplMsg); err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(exporterA, dataMsg); err != nil { // compiles the plan
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() { _ = d.Decode(exporterA, dataMsg) }); a != 0 {
		t.Errorf("%.1f allocations per 30-record message, want 0", a)
	}
	if n != 21*benchRecords+benchRecords {
		t.Errorf("%d records", n)
	}
}

// BenchmarkDecodeIPFIX measures our decode + convert to a UniRec basic-flow
// record (NEMEA's 14-field template) per record.
func BenchmarkDecodeIPFIX(b *testing.B) {
	tmpl, err := unirec.ParseTemplate(converters.BasicFlowTemplate)
	if err != nil {
		b.Fatal(err)
	}
	var sum uint64
	bytesID, _ := tmpl.Lookup("BYTES")
	d, err := NewDecoder(Config{Output: tmpl, TemplateLifetime: -1}, SinkFunc(func(_ Exporter, r unirec.Record) {
		sum += r.Uint64(bytesID)
	}))
	if err != nil {
		b.Fatal(err)
	}
	tmplMsg, dataMsg := benchMessages()
	if err := d.Decode(exporterA, tmplMsg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(dataMsg)))
	b.ResetTimer()
	for b.Loop() {
		if err := d.Decode(exporterA, dataMsg); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N) * benchRecords
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(testing.AllocsPerRun(10, func() { _ = d.Decode(exporterA, dataMsg) }))/benchRecords, "allocs/record")
	if sum == 0 {
		b.Fatal("no records decoded")
	}
}

// BenchmarkGoflow2DecodeIPFIX decodes the same messages with goflow2 v2's
// netflow decoder. "decode" stops at goflow2's generic DataRecord values;
// "decode+convert" also copies them into the same UniRec record as ours.
func BenchmarkGoflow2DecodeIPFIX(b *testing.B) {
	for _, convert := range []bool{false, true} {
		name := "decode"
		if convert {
			name = "decode+convert"
		}
		b.Run(name, func(b *testing.B) {
			tmpl, err := unirec.ParseTemplate(converters.BasicFlowTemplate)
			if err != nil {
				b.Fatal(err)
			}
			rec := tmpl.NewRecord()
			ids := map[uint16]unirec.FieldID{}
			for ie, name := range map[uint16]string{8: "SRC_IP", 12: "DST_IP", 7: "SRC_PORT", 11: "DST_PORT", 4: "PROTOCOL", 6: "TCP_FLAGS", 5: "TOS", 1: "BYTES", 2: "PACKETS", 152: "TIME_FIRST", 153: "TIME_LAST"} {
				ids[ie], _ = tmpl.Lookup(name)
			}
			ts := netflow.CreateTemplateSystem()
			tmplMsg, dataMsg := benchMessages()
			var v9 netflow.NFv9Packet
			var ipfix netflow.IPFIXPacket
			if err := netflow.DecodeMessageVersion(bytes.NewBuffer(tmplMsg), ts, &v9, &ipfix); err != nil {
				b.Fatal(err)
			}
			records := 0
			decodeOnce := func() {
				var pkt netflow.IPFIXPacket
				if err := netflow.DecodeMessageVersion(bytes.NewBuffer(dataMsg), ts, &v9, &pkt); err != nil {
					b.Fatal(err)
				}
				for _, fs := range pkt.FlowSets {
					ds, ok := fs.(netflow.DataFlowSet)
					if !ok {
						continue
					}
					for _, r := range ds.Records {
						records++
						if !convert {
							continue
						}
						rec = rec.Reset()
						for _, v := range r.Values {
							id, ok := ids[v.Type]
							raw, isBytes := v.Value.([]byte)
							if !ok || !isBytes {
								continue
							}
							switch v.Type {
							case 8, 12:
								rec.SetIP(id, unirec.IPv4([4]byte(raw)))
							case 152, 153:
								rec.SetTime(id, unirec.TimeFromUnixMilli(uintBE(raw)))
							default:
								setInt(&rec, id, tmpl.Field(id).Type, uintBE(raw))
							}
						}
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				decodeOnce()
			}
			if records != b.N*benchRecords {
				b.Fatalf("goflow2 decoded %d records, want %d", records, b.N*benchRecords)
			}
			b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(testing.AllocsPerRun(10, decodeOnce)/benchRecords, "allocs/record")
		})
	}
}

// setInt stores v into an integer field of any width (for the goflow2 conversion).
func setInt(rec *unirec.Record, id unirec.FieldID, t unirec.Type, v uint64) {
	switch t {
	case unirec.Uint8:
		rec.SetUint8(id, uint8(v))
	case unirec.Uint16:
		rec.SetUint16(id, uint16(v))
	case unirec.Uint32:
		rec.SetUint32(id, uint32(v))
	case unirec.Uint64:
		rec.SetUint64(id, v)
	case unirec.Int8:
		rec.SetInt8(id, int8(v))
	case unirec.Int16:
		rec.SetInt16(id, int16(v))
	case unirec.Int32:
		rec.SetInt32(id, int32(v))
	case unirec.Int64:
		rec.SetInt64(id, int64(v))
	case unirec.Char:
		rec.SetChar(id, byte(v))
	}
}

// BenchmarkDecodeV5 measures a full 30-record NetFlow v5 packet.
func BenchmarkDecodeV5(b *testing.B) {
	tmpl, err := unirec.ParseTemplate(converters.BasicFlowTemplate)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	d, err := NewDecoder(Config{Output: tmpl}, SinkFunc(func(Exporter, unirec.Record) { n++ }))
	if err != nil {
		b.Fatal(err)
	}
	msg := cat(be16(5), be16(benchRecords), be32(100000), be32(1700000000), be32(0), be32(0), []byte{0, 1}, be16(0))
	for i := range benchRecords {
		rec := make([]byte, v5RecordLen)
		copy(rec, []byte{10, 0, 0, byte(i), 172, 16, 0, byte(i)})
		copy(rec[16:], cat(be32(10), be32(1000), be32(1000), be32(2000), be16(1024), be16(80)))
		rec[37], rec[38] = 0x1b, 6
		msg = append(msg, rec...)
	}
	b.ReportAllocs()
	for b.Loop() {
		// The sequence number is not advanced: gaps are counted, which is
		// part of the per-packet work anyway.
		if err := d.Decode(exporterA, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(testing.AllocsPerRun(10, func() { _ = d.Decode(exporterA, msg) })/benchRecords, "allocs/record")
}

// flowsendFields are the 13 fields bench/cmd/flowsend exports (the
// daemon's load test): v9 with sysUpTime-relative FIRST/LAST_SWITCHED,
// IPFIX with flowStart/EndMilliseconds.
func flowsendFields(version uint16) []Field {
	f := []Field{{ID: 8, Length: 4}, {ID: 12, Length: 4}, {ID: 7, Length: 2}, {ID: 11, Length: 2},
		{ID: 4, Length: 1}, {ID: 6, Length: 1}, {ID: 5, Length: 1}, {ID: 2, Length: 4}, {ID: 1, Length: 4},
		{ID: 10, Length: 2}, {ID: 14, Length: 2}}
	if version == 9 {
		return append(f, Field{ID: 22, Length: 4}, Field{ID: 21, Length: 4})
	}
	return append(f, Field{ID: 152, Length: 8}, Field{ID: 153, Length: 8})
}

// flowsendMessages returns a template message and a data message of
// benchRecords records as flowsend builds them, and a function that
// advances the data message's sequence number as an exporter would. With
// sampler (v9 only), the records also name their sampler (samplerId 48,
// one byte), which the template message announces as 1 in 100.
func flowsendMessages(version uint16, sampler bool) (tmplMsg, dataMsg []byte, next func()) {
	fields := flowsendFields(version)
	if sampler {
		fields = append(fields, Field{ID: 48, Length: 1})
	}
	const uptime, secs = 3600_000, 1700000000
	var recs [][]byte
	for i := range benchRecords {
		r := cat([]byte{10, 0, 0, byte(i)}, []byte{192, 168, 0, byte(i)}, be16(uint16(1024+i)), be16(443),
			[]byte{6, byte(i % 64), 0}, be32(uint32(1+i)), be32(uint32(40+i)), be16(1), be16(2))
		if version == 9 {
			r = cat(r, be32(uptime-1000), be32(uptime))
			if sampler {
				r = append(r, 1)
			}
		} else {
			r = cat(r, be64(secs*1000-1000), be64(secs*1000))
		}
		recs = append(recs, r)
	}
	var seqOff, step int
	if version == 9 {
		var tb []byte
		for _, f := range fields {
			tb = cat(tb, be16(f.ID), be16(f.Length))
		}
		tmplMsg = v9Msg(1, uptime, secs, 0, 1, mkSet(0, be16(256), be16(uint16(len(fields))), tb))
		if sampler {
			tmplMsg = v9Msg(3, uptime, secs, 0, 1, mkSet(0, be16(256), be16(uint16(len(fields))), tb),
				mkSet(1, be16(300), be16(4), be16(8), be16(1), be16(4), be16(48), be16(1), be16(34), be16(4)),
				mkSet(300, cat(be32(0), []byte{1}, be32(100))))
		}
		dataMsg = v9Msg(benchRecords, uptime, secs, 1, 1, mkSet(256, recs...))
		seqOff, step = 12, 1
	} else {
		tmplMsg = ipfixMsg(secs, 0, 1, mkSet(2, ipfixTemplate(256, fields...)))
		dataMsg = ipfixMsg(secs, 0, 1, mkSet(256, recs...))
		seqOff, step = 8, benchRecords
	}
	next = func() {
		binary.BigEndian.PutUint32(dataMsg[seqOff:], binary.BigEndian.Uint32(dataMsg[seqOff:])+uint32(step))
	}
	return tmplMsg, dataMsg, next
}

// BenchmarkDecodeBatch measures the daemon's decode path per record:
// flowsend's v9 and IPFIX messages (30 records of 13 fields) decoded into
// the default biflow template and handed to a BatchSink a data set at a
// time, with sampling applied and UDP template lifetimes, as flowgate runs.
// v9-sampler's records also name their sampler (a per-record interval).
func BenchmarkDecodeBatch(b *testing.B) {
	for _, c := range []struct {
		name    string
		version uint16
		sampler bool
	}{{"v9", 9, false}, {"v10", 10, false}, {"v9-sampler", 9, true}} {
		version := c.version
		b.Run(c.name, func(b *testing.B) {
			tmpl, err := unirec.ParseTemplate(converters.BiflowTemplate)
			if err != nil {
				b.Fatal(err)
			}
			s := &byteSink{}
			d, err := NewDecoder(Config{Output: tmpl, ApplySampling: true}, countBatch{s})
			if err != nil {
				b.Fatal(err)
			}
			tmplMsg, dataMsg, next := flowsendMessages(version, c.sampler)
			if err := d.Decode(exporterA, tmplMsg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(exporterA, dataMsg); err != nil {
					b.Fatal(err)
				}
				next()
			}
			if s.records == 0 || d.Totals().SequenceErrors.Load() != 0 {
				b.Fatalf("%d records, %d sequence errors", s.records, d.Totals().SequenceErrors.Load())
			}
			b.ReportMetric(float64(s.records)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(s.records), "ns/record")
			b.ReportMetric(testing.AllocsPerRun(10, func() { _ = d.Decode(exporterA, dataMsg); next() })/benchRecords, "allocs/record")
		})
	}
}
