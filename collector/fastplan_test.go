package collector

import (
	"bytes"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// byteSink keeps every record's bytes, in order, whether they come one by
// one (Record) or a data set at a time (Records, when batch is set).
type byteSink struct {
	batch   bool
	data    []byte
	calls   int // Records calls
	records int
}

func (s *byteSink) Record(_ Exporter, r unirec.Record) {
	s.data = append(s.data, r.Data...)
	s.records++
}

// recordOnly hides Records, so the decoder sees a plain Sink.
type recordOnly struct{ s *byteSink }

func (r recordOnly) Record(e Exporter, rec unirec.Record) { r.s.Record(e, rec) }

func (s *byteSink) Records(_ Exporter, data []byte, size int) {
	if len(data)%size != 0 {
		panic("Records: not a whole number of records")
	}
	s.data = append(s.data, data...)
	s.calls++
	s.records += len(data) / size
}

// decodeAll runs msgs through a decoder in the given mode and returns what
// its sink received.
func decodeAll(t *testing.T, tmpl *unirec.Template, sampling, general, batch bool, msgs []packet) *byteSink {
	t.Helper()
	s := &byteSink{batch: batch}
	var sink Sink = recordOnly{s}
	if batch {
		sink = s
	}
	d, err := NewDecoder(Config{Output: tmpl, TemplateLifetime: -1, ApplySampling: sampling}, sink)
	if err != nil {
		t.Fatal(err)
	}
	d.generalOnly = general
	if batch != (d.batchSink != nil) {
		t.Fatalf("batch sink in use: %v, want %v", d.batchSink != nil, batch)
	}
	for _, m := range msgs {
		_ = d.Decode(m.from, m.payload) // malformed messages count the same in every mode
	}
	if got := d.Totals().Records.Load(); got != uint64(s.records) {
		t.Fatalf("Records counter %d, sink got %d", got, s.records)
	}
	return s
}

// TestFastPlansDecodeLikeGeneralOnes decodes every capture into several
// output templates with the general op loop, the width-specialised fast
// plans, and the fast plans handing whole data sets to a BatchSink: the
// record bytes must be identical.
func TestFastPlansDecodeLikeGeneralOnes(t *testing.T) {
	dir := filepath.Join(testdataDir(t), "netflow")
	pcaps, err := filepath.Glob(filepath.Join(dir, "*.pcap"))
	if err != nil || len(pcaps) == 0 {
		t.Fatalf("no captures in %s: %v", dir, err)
	}
	tmplMsg, dataMsg := benchMessages()
	built := []packet{{exporterA, tmplMsg}, {exporterA, dataMsg}, {exporterA, dataMsg[:len(dataMsg)-7]}}
	templates := []string{
		converters.BiflowTemplate + ",uint32 ODID,ipaddr EXPORTER_IP",
		converters.BasicFlowTemplate,
		// Widths the fast kinds do not cover go through runOp.
		"uint8 PACKETS,uint16 BYTES,uint64 SRC_PORT,uint32 DST_PORT,uint16 PROTOCOL,time TIME_FIRST,time TIME_LAST,ipaddr SRC_IP,ipaddr DST_IP",
		// Truncations to one byte (ports, interfaces -> DIR_BIT_FIELD).
		"uint8 SRC_PORT,uint8 DST_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,ipaddr SRC_IP",
		// Variable-length fields: no batches, records one by one.
		converters.BasicFlowTemplate + ",string IF_NAME",
	}
	for _, spec := range templates {
		tmpl, err := unirec.ParseTemplate(spec)
		if err != nil {
			t.Fatal(err)
		}
		fixed := tmpl.StaticSize() == tmpl.FixedSize()
		for _, path := range append(pcaps, "built", "cases") {
			var msgs []packet
			switch path {
			case "built":
				msgs = built
			case "cases":
				msgs = fastCaseMessages()
			default:
				msgs, _, _ = readPcap(t, path)
			}
			for _, sampling := range []bool{false, true} {
				want := decodeAll(t, tmpl, sampling, true, false, msgs)
				if path == "cases" && want.records != fastCaseRecords {
					t.Fatalf("%s: the case messages gave %d records, want %d", spec, want.records, fastCaseRecords)
				}
				fast := decodeAll(t, tmpl, sampling, false, false, msgs)
				if !bytes.Equal(fast.data, want.data) {
					t.Errorf("%s, %s, sampling %v: fast plans decode differently from the general loop", filepath.Base(path), spec, sampling)
				}
				if !fixed {
					continue
				}
				batched := decodeAll(t, tmpl, sampling, false, true, msgs)
				if !bytes.Equal(batched.data, want.data) {
					t.Errorf("%s, %s, sampling %v: batches differ from records one by one", filepath.Base(path), spec, sampling)
				}
				if want.records > 0 && batched.calls == 0 {
					t.Errorf("%s: %d records and no Records call", filepath.Base(path), want.records)
				}
			}
		}
	}
}

// TestBatchSinkGetsLargeSetsInPieces: a data set whose records exceed the
// batch buffer is handed over in several calls, nothing lost.
func TestBatchSinkGetsLargeSetsInPieces(t *testing.T) {
	tmpl, err := unirec.ParseTemplate(converters.BiflowTemplate)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1100 // 55-byte wire records: one 60 KB message, 99 KB of UniRec
	var recs [][]byte
	for i := range n {
		recs = append(recs, cat(
			[]byte{10, 0, byte(i >> 8), byte(i)}, []byte{172, 16, 0, 1}, be16(uint16(i)), be16(443),
			[]byte{6, 0x1b, 0}, be64(uint64(1000+i)), be64(uint64(10+i)),
			be64(1700000000000), be64(1700000000500), be32(1), be32(2)))
	}
	tmplMsg := ipfixMsg(1700000000, 0, 1, mkSet(2, ipfixTemplate(256, benchFields...)))
	msgs := []packet{{exporterA, tmplMsg}, {exporterA, ipfixMsg(1700000001, 0, 1, mkSet(256, recs...))}}
	want := decodeAll(t, tmpl, false, true, false, msgs)
	got := decodeAll(t, tmpl, false, false, true, msgs)
	if got.records != n || !bytes.Equal(got.data, want.data) {
		t.Fatalf("batched %d records (%d bytes), want %d (%d bytes)", got.records, len(got.data), n, len(want.data))
	}
	if min := (n*tmpl.StaticSize() + batchLen - 1) / batchLen; got.calls < min {
		t.Errorf("%d Records calls for %d bytes, want at least %d", got.calls, n*tmpl.StaticSize(), min)
	}
}

// TestBatchDecodeDoesNotAllocate: the batch path allocates nothing per
// message either.
func TestBatchDecodeDoesNotAllocate(t *testing.T) {
	tmpl, err := unirec.ParseTemplate(converters.BiflowTemplate + ",uint32 ODID,ipaddr EXPORTER_IP")
	if err != nil {
		t.Fatal(err)
	}
	s := &byteSink{}
	d, err := NewDecoder(Config{Output: tmpl, ApplySampling: true}, countBatch{s})
	if err != nil {
		t.Fatal(err)
	}
	tmplMsg, dataMsg := benchMessages()
	for _, m := range [][]byte{tmplMsg, dataMsg} {
		if err := d.Decode(exporterA, m); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(20, func() { _ = d.Decode(exporterA, dataMsg) }); a != 0 {
		t.Errorf("%.1f allocations per 30-record message, want 0", a)
	}
	if s.records != 22*benchRecords {
		t.Errorf("%d records, want %d", s.records, 22*benchRecords)
	}
}

// countBatch counts records without keeping them.
type countBatch struct{ s *byteSink }

func (c countBatch) Record(Exporter, unirec.Record)            { c.s.records++ }
func (c countBatch) Records(_ Exporter, data []byte, size int) { c.s.records += len(data) / size }

// fastCaseRecords is the number of flow records in fastCaseMessages.
var fastCaseRecords = 2*len(wrapCases) + 2 + 4 + 3 + 4

// fastCaseMessages exercise what the fast plans handle specially beyond
// the captures: the sysUpTime wraps of v5 and v9 (FIRST and LAST decoded
// together), uptimes relative to a system init time from options data
// (the same for the whole set) and from the record itself (per record),
// and records naming their sampler (per-record sampling interval).
func fastCaseMessages() []packet {
	var out []packet
	for _, v := range []int{5, 9} {
		for _, b := range wrapDatagrams(v) {
			out = append(out, packet{exporterA, b})
		}
	}
	up := []Field{{ID: 8, Length: 4}, {ID: 12, Length: 4}, {ID: 7, Length: 2}, {ID: 22, Length: 4}, {ID: 21, Length: 4}, {ID: 2, Length: 4}, {ID: 1, Length: 4}}
	rec := func(i int) []byte {
		return cat([]byte{10, 0, 0, byte(i)}, []byte{10, 0, 1, byte(i)}, be16(uint16(1000+i)),
			be32(uint32(5000+i)), be32(uint32(9000+i*1000)), be32(3), be32(300))
	}
	withInit := append(slices.Clone(up), Field{ID: 160, Length: 8})
	ipfix := []packet{
		{exporterA, ipfixMsg(wrapExportSecs, 0, 7,
			mkSet(3, ipfixOptionsTemplate(300, 1, Field{ID: 149, Length: 4}, Field{ID: 160, Length: 8})),
			mkSet(2, ipfixTemplate(256, up...), ipfixTemplate(257, withInit...)))},
		// No system init time known yet.
		{exporterA, ipfixMsg(wrapExportSecs, 0, 7, mkSet(256, rec(0), rec(1)))},
		// The options data's, then the record's (0: none, the session's).
		{exporterA, ipfixMsg(wrapExportSecs, 2, 7,
			mkSet(300, cat(be32(7), be64(1699990000000))),
			mkSet(256, rec(2), rec(3)),
			mkSet(257, cat(rec(4), be64(1600000000000)), cat(rec(5), be64(0))))},
	}
	// v9: sampler 5 samples 1 in 100; records of sampler 9 take the
	// session's interval (none).
	v9 := []packet{{exporterA, v9Msg(3, 100000, wrapExportSecs, 0, 3,
		mkSet(1, be16(300), be16(4), be16(8), be16(1), be16(4), be16(48), be16(1), be16(34), be16(4)),
		mkSet(0, be16(256), be16(uint16(len(up)+1)), cat(fieldList(up)...), be16(48), be16(1)),
		mkSet(300, cat(be32(0), []byte{5}, be32(100))),
		mkSet(256, cat(rec(6), []byte{5}), cat(rec(7), []byte{9}), cat(rec(8), []byte{5})))},
		// 8-byte counters (into 4-byte PACKETS, 8-byte BYTES), then 4-byte
		// ones whose scaled values overflow 32 bits.
		{exporterA, v9Msg(2, 100000, wrapExportSecs, 1, 3,
			mkSet(0, be16(257), be16(3), cat(fieldList([]Field{{ID: 2, Length: 8}, {ID: 1, Length: 8}, {ID: 48, Length: 1}})...),
				be16(258), be16(3), cat(fieldList([]Field{{ID: 2, Length: 4}, {ID: 1, Length: 4}, {ID: 48, Length: 1}})...)),
			mkSet(257, cat(be64(1<<32+3), be64(1<<40+5), []byte{5}), cat(be64(7), be64(9), []byte{9})),
			mkSet(258, cat(be32(0xFFFFFFF0), be32(0xFFFFFFF1), []byte{5}), cat(be32(7), be32(9), []byte{9})))}}
	return append(append(out, ipfix...), v9...)
}

// fieldList encodes template fields (no enterprise numbers) as v9 lists them.
func fieldList(fields []Field) [][]byte {
	var out [][]byte
	for _, f := range fields {
		out = append(out, cat(be16(f.ID), be16(f.Length)))
	}
	return out
}

// timeFromUnixMilli gives unirec.TimeFromUnixMilli's bits for every
// millisecond of a second and seconds up to and past 32 bits.
func TestTimeFromUnixMilli(t *testing.T) {
	for _, sec := range []uint64{0, 1, 999, 1700000000, 1<<31 - 1, 1<<32 - 1, 1 << 32, 1<<40 + 7, math.MaxUint64 / 1000} {
		for ms := range uint64(1000) {
			v := sec*1000 + ms
			if got, want := timeFromUnixMilli(v), unirec.TimeFromUnixMilli(v); got != want {
				t.Fatalf("%d ms: %#x, want %#x", v, uint64(got), uint64(want))
			}
		}
	}
	if got, want := timeFromUnixMilli(math.MaxUint64), unirec.TimeFromUnixMilli(math.MaxUint64); got != want {
		t.Fatalf("max: %#x, want %#x", uint64(got), uint64(want))
	}
}
