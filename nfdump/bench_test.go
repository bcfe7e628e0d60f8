package nfdump

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// benchFile returns the multi-block golden file, recompressed with Debian's
// nfdump when method is not LZ4 (skipped if nfdump is not installed).
func benchFile(b *testing.B, flag string) []byte {
	b.Helper()
	src := filepath.Join(testdataDir(b, "nfdump"), "gen_ipfix_multiblock_lz4.nf")
	if flag == "" {
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	nfdump, err := exec.LookPath("nfdump")
	if err != nil {
		b.Skip("nfdump not installed: cannot recompress the benchmark file")
	}
	out := filepath.Join(b.TempDir(), "bench.nf")
	args := []string{"-r", src, "-w", out}
	if flag != "none" {
		args = append(args, flag)
	}
	if msg, err := exec.Command(nfdump, args...).CombinedOutput(); err != nil {
		b.Fatalf("nfdump %v: %v: %s", args, err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchmarkIterate(b *testing.B, flag string) {
	data := benchFile(b, flag)
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	var sum uint64
	for i := 0; i < b.N; i++ {
		it := f.Records(context.Background())
		for it.Next() {
			sum += it.Record().Bytes
			n++
		}
		if err := it.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n)/float64(b.N), "records/op")
	_ = sum
}

func BenchmarkIterateMultiblockLZ4(b *testing.B)  { benchmarkIterate(b, "") }
func BenchmarkIterateMultiblockNone(b *testing.B) { benchmarkIterate(b, "none") }
func BenchmarkIterateMultiblockLZO(b *testing.B)  { benchmarkIterate(b, "-z") }
func BenchmarkIterateMultiblockBZ2(b *testing.B)  { benchmarkIterate(b, "-j") }

func TestDecodeV3AllocatesNothing(t *testing.T) {
	data := readGoldenFile(t, "gen_v9_v4v6_none.nf")
	rec := data[headerV2Size+blockHeaderSize+32:] // after the exporter record
	rec = rec[:le16(rec[2:])]
	var r Record
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := decodeV3(rec, &r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("decodeV3 allocates %v per record", allocs)
	}
}

func TestIterationAllocationsDoNotGrowWithRecords(t *testing.T) {
	data := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		it := f.Records(context.Background())
		for it.Next() {
		}
	})
	// Per-iteration setup (goroutines, channels, buffers per block) is
	// allowed; per-record work is not: 21000 records must not cost 21000.
	if allocs > 200 {
		t.Errorf("%v allocations to iterate 21000 records", allocs)
	}
}

// BenchmarkDecodeV3 decodes the V3 records of an nfcapd-written block (the
// per-record work of Iterator.Next without the pipeline): walking the
// element list, and through the shape cache the Iterator uses.
func BenchmarkDecodeV3(b *testing.B) {
	data := readGoldenFile(b, "gen_v9_v4v6_none.nf")
	h := parseBlockHeader(data[headerV2Size:])
	block := data[headerV2Size+blockHeaderSize : headerV2Size+blockHeaderSize+int(h.size)]
	var recs [][]byte
	for pos := 0; pos < len(block); {
		typ, size, err := recordBounds(block, pos)
		if err != nil {
			b.Fatal(err)
		}
		if typ == recV3 {
			recs = append(recs, block[pos:pos+size])
		}
		pos += size
	}
	if len(recs) == 0 {
		b.Fatal("no V3 records in the first block")
	}
	b.Run("walk", func(b *testing.B) {
		var r Record
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := decodeV3(recs[i%len(recs)], &r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("shape", func(b *testing.B) {
		var r Record
		var sh v3Shapes
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := sh.decode(recs[i%len(recs)], &r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

func TestMapRecordsAllocationsDoNotGrowWithRecords(t *testing.T) {
	data := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	newMapper := func() Mapper { return countMapper{} }
	allocs := testing.AllocsPerRun(3, func() {
		bi := f.MapRecords(context.Background(), newMapper)
		for bi.Next() {
		}
	})
	if allocs > 200 {
		t.Errorf("%v allocations to map 21000 records", allocs)
	}
}

// BenchmarkMapRecords maps the multi-block file's records in the workers
// (one byte per record), the path nfreader takes by default.
func BenchmarkMapRecords(b *testing.B) {
	data := benchFile(b, "")
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), "bench")
	if err != nil {
		b.Fatal(err)
	}
	newMapper := func() Mapper { return countMapper{} }
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		bi := f.MapRecords(context.Background(), newMapper)
		for bi.Next() {
			n += bi.Records()
		}
		if err := bi.Err(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
