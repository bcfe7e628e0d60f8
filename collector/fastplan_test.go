package collector

import (
	"bytes"
	"path/filepath"
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
		for _, path := range append(pcaps, "built") {
			var msgs []packet
			if path == "built" {
				msgs = built
			} else {
				msgs, _, _ = readPcap(t, path)
			}
			for _, sampling := range []bool{false, true} {
				want := decodeAll(t, tmpl, sampling, true, false, msgs)
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
