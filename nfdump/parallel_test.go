package nfdump

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/flowgate/flowgate/internal/testutil"
)

// workerCounts are the pool sizes every equivalence test runs with: 1 is
// the serial path the others must match.
var workerCounts = []int{1, 2, 4}

// blockRecords returns the records of every data block of a LayoutV2 file
// (any codec), one slice of raw records per block, and the block types.
func blockRecords(t testing.TB, src []byte) ([][][]byte, []uint16) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(src), int64(len(src)), "src")
	if err != nil {
		t.Fatal(err)
	}
	if f.Layout() != LayoutV2 {
		t.Fatalf("layout %d: want a LayoutV2 file", f.Layout())
	}
	s := newBlockSource(f)
	d := decompressor{method: f.Compression()}
	defer d.close()
	var blocks [][][]byte
	var types []uint16
	job := &blockJob{}
	for s.next(job) {
		if job.err != nil {
			t.Fatal(job.err)
		}
		data, out, err := d.expand(job.out, job.raw)
		job.out = out
		if err != nil {
			t.Fatal(err)
		}
		var recs [][]byte
		for i, pos := uint32(0), 0; i < job.hdr.numRecords; i++ {
			_, size, err := recordBounds(data, pos)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, bytes.Clone(data[pos:pos+size]))
			pos += size
		}
		blocks, types = append(blocks, recs), append(types, job.hdr.typ)
	}
	return blocks, types
}

// compressBlock compresses a block payload as nfdump would store it.
func compressBlock(t testing.TB, method Compression, payload []byte) []byte {
	t.Helper()
	switch method {
	case CompressNone:
		return payload
	case CompressLZ4:
		buf := make([]byte, lz4.CompressBlockBound(len(payload)))
		n, err := lz4.CompressBlock(payload, buf, nil)
		if err != nil || n == 0 {
			t.Fatalf("lz4: %d bytes, %v", n, err)
		}
		return buf[:n]
	case CompressZSTD:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(payload, nil)
	}
	t.Fatalf("cannot write %v blocks", method)
	return nil
}

// reblock returns a LayoutV2 file holding src's records repeat times over,
// in data blocks of at most perBlock records compressed with method (none,
// LZ4 or ZSTD), without an appendix. Records do not cross the blocks of
// src, so each block keeps its type.
func reblock(t testing.TB, src []byte, perBlock, repeat int, method Compression) []byte {
	t.Helper()
	blocks, types := blockRecords(t, src)
	out := append([]byte(nil), src[:headerV2Size]...)
	out[16] = byte(method)
	binary.LittleEndian.PutUint16(out[18:], 0) // no appendix
	binary.LittleEndian.PutUint64(out[24:], 0)
	n := uint32(0)
	for r := 0; r < repeat; r++ {
		for bi, recs := range blocks {
			for len(recs) > 0 {
				chunk := recs[:min(perBlock, len(recs))]
				recs = recs[len(chunk):]
				payload := bytes.Join(chunk, nil)
				stored := compressBlock(t, method, payload)
				var h [blockHeaderSize]byte
				binary.LittleEndian.PutUint32(h[0:], uint32(len(chunk)))
				binary.LittleEndian.PutUint32(h[4:], uint32(len(stored)))
				binary.LittleEndian.PutUint16(h[8:], types[bi])
				out = append(append(out, h[:]...), stored...)
				n++
			}
		}
	}
	binary.LittleEndian.PutUint32(out[36:], n)
	return out
}

// recompressWithNfdump rewrites b with Debian's nfdump and the given
// compression flag (-z: LZO), skipping the test without nfdump.
func recompressWithNfdump(t testing.TB, b []byte, flag string) []byte {
	t.Helper()
	nfdump, err := exec.LookPath("nfdump")
	if err != nil {
		t.Skip("nfdump not installed: cannot write LZO blocks")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.nf"), filepath.Join(dir, "out.nf")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(nfdump, "-r", in, "-w", out, flag).CombinedOutput(); err != nil {
		t.Fatalf("nfdump: %v: %s", err, msg)
	}
	o, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// reading is everything an iteration delivered.
type reading struct {
	records   []string // each Record, %+v
	exporters string
	blocks    int
	err       string
}

func readWith(t testing.TB, b []byte, workers int) reading {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "test.nf")
	if err != nil {
		t.Fatal(err)
	}
	f.SetWorkers(workers)
	it := f.Records(context.Background())
	defer it.Close()
	var r reading
	for it.Next() {
		r.records = append(r.records, fmt.Sprintf("%+v", *it.Record()))
	}
	r.blocks, r.err = it.Blocks(), fmt.Sprint(it.Err())
	var ids []int
	for id := range it.Exporters() {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	for _, id := range ids {
		e := *it.Exporters()[uint16(id)]
		if e.Sampler != nil {
			r.exporters += fmt.Sprintf("%+v ", *e.Sampler)
			e.Sampler = nil
		}
		r.exporters += fmt.Sprintf("%+v\n", e)
	}
	return r
}

// mapWith is readWith through MapRecords: the output of all blocks and the
// error.
func mapWith(t testing.TB, b []byte, workers int) (string, int, string) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "test.nf")
	if err != nil {
		t.Fatal(err)
	}
	f.SetWorkers(workers)
	bi := f.MapRecords(context.Background(), func() Mapper { return textMapper{} })
	defer bi.Close()
	var out strings.Builder
	n := 0
	for bi.Next() {
		out.Write(bi.Output())
		n += bi.Records()
	}
	return out.String(), n, fmt.Sprint(bi.Err())
}

// sameReading compares a reading with the serial one.
func sameReading(t *testing.T, workers int, got, want reading) {
	t.Helper()
	if len(got.records) != len(want.records) {
		t.Errorf("workers %d: %d records, serial %d", workers, len(got.records), len(want.records))
	}
	for i := range min(len(got.records), len(want.records)) {
		if got.records[i] != want.records[i] {
			t.Errorf("workers %d: record %d differs:\n got %s\nwant %s", workers, i, got.records[i], want.records[i])
			break
		}
	}
	if got.blocks != want.blocks || got.err != want.err || got.exporters != want.exporters {
		t.Errorf("workers %d: %d blocks, error %q, exporters\n%s\nserial: %d blocks, error %q, exporters\n%s",
			workers, got.blocks, got.err, got.exporters, want.blocks, want.err, want.exporters)
	}
}

// checkWorkersAgree reads b with every worker count, through Records and
// MapRecords, and compares with the serial reading.
func checkWorkersAgree(t *testing.T, b []byte) reading {
	t.Helper()
	serial := readWith(t, b, 1)
	serialMap, serialN, serialErr := mapWith(t, b, 1)
	if serialN != len(serial.records) && serial.err == "<nil>" {
		t.Errorf("serial MapRecords mapped %d records, Records delivered %d", serialN, len(serial.records))
	}
	for _, w := range workerCounts[1:] {
		sameReading(t, w, readWith(t, b, w), serial)
		out, n, err := mapWith(t, b, w)
		if out != serialMap || n != serialN || err != serialErr {
			t.Errorf("workers %d: MapRecords gave %d records (%d bytes), error %q; serial %d records (%d bytes), error %q",
				w, n, len(out), err, serialN, len(serialMap), serialErr)
		}
	}
	return serial
}

func TestWorkersAgreeOnGoldenFiles(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testdataDir(t, "nfdump"), "*.nf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden nfdump files: %v", err)
	}
	codecs := map[Compression]bool{}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := NewReader(bytes.NewReader(b), int64(len(b)), p)
			if err != nil {
				t.Fatal(err)
			}
			codecs[f.Compression()] = true
			r := checkWorkersAgree(t, b)
			if r.err != "<nil>" || len(r.records) == 0 {
				t.Errorf("serial reading: %d records, error %s", len(r.records), r.err)
			}
		})
	}
	for _, c := range []Compression{CompressNone, CompressLZO, CompressBZ2, CompressLZ4, CompressZSTD} {
		if !codecs[c] {
			t.Errorf("no golden file compressed with %v", c)
		}
	}
}

func TestWorkersAgreeOnManyBlocks(t *testing.T) {
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	mixed := readGoldenFile(t, "latest178_gen_v9_sf_ipfix_zstd.nf") // exporters, samplers, two shapes
	for _, tc := range []struct {
		name   string
		src    []byte
		per    int
		method Compression
	}{
		{"multiblock none, 97 per block", multi, 97, CompressNone},
		{"multiblock lz4, 97 per block", multi, 97, CompressLZ4},
		{"multiblock zstd, 97 per block", multi, 97, CompressZSTD},
		{"zstd mixed, lz4, 1 per block", mixed, 1, CompressLZ4},
		{"zstd mixed, 7 per block", mixed, 7, CompressZSTD},
		{"zstd mixed, none, 3 per block", mixed, 3, CompressNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := reblock(t, tc.src, tc.per, 1, tc.method)
			r := checkWorkersAgree(t, b)
			if r.err != "<nil>" || r.blocks < 50 {
				t.Errorf("serial reading: %d blocks, error %s", r.blocks, r.err)
			}
			// The same records as the source file, in its order.
			if orig := readWith(t, tc.src, 1); strings.Join(orig.records, "\n") != strings.Join(r.records, "\n") {
				t.Errorf("reblocked file: %d records differ from the source's %d", len(r.records), len(orig.records))
			}
		})
	}
	t.Run("multiblock lzo by nfdump", func(t *testing.T) {
		b := recompressWithNfdump(t, reblock(t, multi, 97, 1, CompressNone), "-z")
		if c := Compression(b[16]); c != CompressLZO {
			t.Fatalf("nfdump wrote %v", c)
		}
		checkWorkersAgree(t, b)
	})
}

// TestWorkersFailAtTheSameRecord corrupts or cuts a file of many blocks at
// a block in its middle: every worker count delivers the records before
// the fault and then the same error.
func TestWorkersFailAtTheSameRecord(t *testing.T) {
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	const per = 100
	lz := reblock(t, multi, per, 1, CompressLZ4)
	plain := reblock(t, multi, per, 1, CompressNone)
	zs := reblock(t, multi, per, 1, CompressZSTD)
	offs := func(b []byte) []int64 { return blockOffsets(t, b) }
	const k = 120 // the faulty block; blocks 0..k-1 are intact
	blocks, _ := blockRecords(t, plain)
	flowsBefore := 0 // flow records in blocks 0..k-1
	for _, recs := range blocks[:k] {
		for _, r := range recs {
			if le16(r) == recV3 {
				flowsBefore++
			}
		}
	}
	if len(blocks[k]) < 38 {
		t.Fatalf("block %d has %d records", k, len(blocks[k]))
	}
	mutate := func(src []byte, fn func(b []byte)) []byte {
		b := bytes.Clone(src)
		fn(b)
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		flows   int // delivered before the error
		wantOff int64
		wantMsg string
	}{
		{"lz4 truncated inside block k", lz[:offs(lz)[k]+50], flowsBefore, offs(lz)[k], "past end of data"},
		{"lz4 truncated before block k", lz[:offs(lz)[k]], flowsBefore, offs(lz)[k], fmt.Sprintf("file ends after %d of", k)},
		{"lz4 corrupt block k", mutate(lz, func(b []byte) {
			p := b[offs(lz)[k]+blockHeaderSize:]
			for i := range 40 {
				p[i] = 0xff
			}
		}), flowsBefore, offs(lz)[k], fmt.Sprintf("block %d (lz4)", k)},
		{"zstd corrupt block k", mutate(zs, func(b []byte) {
			p := b[offs(zs)[k]+blockHeaderSize:]
			p[0] ^= 0xff // frame magic
		}), flowsBefore, offs(zs)[k], fmt.Sprintf("block %d (zstd)", k)},
		{"block k size above 5 MiB", mutate(lz, func(b []byte) {
			binary.LittleEndian.PutUint32(b[offs(lz)[k]+4:], 6<<20)
		}), flowsBefore, offs(lz)[k], "block size"},
		{"record 37 of block k has size 0", mutate(plain, func(b []byte) {
			pos := offs(plain)[k] + blockHeaderSize
			for range 37 {
				pos += int64(binary.LittleEndian.Uint16(b[pos+2:]))
			}
			binary.LittleEndian.PutUint16(b[pos+2:], 0)
		}), flowsBefore + 37, -1, fmt.Sprintf("block %d, record 37", k)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serial := readWith(t, tc.data, 1)
			if len(serial.records) != tc.flows || !strings.Contains(serial.err, tc.wantMsg) {
				t.Fatalf("serial: %d records, error %q; want %d records, an error with %q", len(serial.records), serial.err, tc.flows, tc.wantMsg)
			}
			f, _ := NewReader(bytes.NewReader(tc.data), int64(len(tc.data)), "test.nf")
			f.SetWorkers(1)
			it := f.Records(context.Background())
			for it.Next() {
			}
			var fe *Error
			if !errors.As(it.Err(), &fe) || (tc.wantOff >= 0 && fe.Offset != tc.wantOff) {
				t.Errorf("error %v: want an *Error at offset %d", it.Err(), tc.wantOff)
			}
			checkWorkersAgree(t, tc.data)
		})
	}
}

// goroutinesBack waits for the goroutine count to return to base.
func goroutinesBack(t *testing.T, base int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%s: %d goroutines, %d before:\n%s", what, runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func TestIterationsLeaveNoGoroutines(t *testing.T) {
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	files := map[string][]byte{
		"lz4":  reblock(t, multi, 200, 1, CompressLZ4),
		"none": reblock(t, multi, 200, 1, CompressNone),
		"zstd": reblock(t, multi, 200, 1, CompressZSTD),
	}
	corrupt := bytes.Clone(files["lz4"])
	p := corrupt[blockOffsets(t, corrupt)[50]+blockHeaderSize:]
	for i := range 40 {
		p[i] = 0xff
	}
	files["lz4 corrupt"] = corrupt

	scenarios := []struct {
		name string
		run  func(t *testing.T, f *File)
	}{
		{"to the end", func(t *testing.T, f *File) {
			it := f.Records(context.Background())
			for it.Next() {
			}
		}},
		{"Close after 10 records", func(t *testing.T, f *File) {
			it := f.Records(context.Background())
			for i := 0; i < 10 && it.Next(); i++ {
			}
			it.Close()
		}},
		{"cancelled after 10 records, no Close", func(t *testing.T, f *File) {
			ctx, cancel := context.WithCancel(context.Background())
			it := f.Records(ctx)
			for i := 0; i < 10 && it.Next(); i++ {
			}
			cancel()
		}},
		{"cancelled, Next until false", func(t *testing.T, f *File) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			it := f.Records(ctx)
			for i := 0; it.Next(); i++ {
				if i == 1000 {
					cancel()
				}
			}
			if !errors.Is(it.Err(), context.Canceled) {
				t.Errorf("cancelled iteration ended with %v", it.Err())
			}
		}},
		{"MapRecords closed after 3 blocks", func(t *testing.T, f *File) {
			bi := f.MapRecords(context.Background(), func() Mapper { return countMapper{} })
			for i := 0; i < 3 && bi.Next(); i++ {
			}
			bi.Close()
		}},
		{"MapRecords to the end", func(t *testing.T, f *File) {
			bi := f.MapRecords(context.Background(), func() Mapper { return countMapper{} })
			for bi.Next() {
			}
		}},
	}
	base := runtime.NumGoroutine()
	for name, b := range files {
		for _, w := range workerCounts {
			for _, sc := range scenarios {
				f, err := NewReader(bytes.NewReader(b), int64(len(b)), name)
				if err != nil {
					t.Fatal(err)
				}
				f.SetWorkers(w)
				sc.run(t, f)
				goroutinesBack(t, base, fmt.Sprintf("%s, %d workers, %s", name, w, sc.name))
			}
		}
	}
}

func TestSerialIterationStartsNoGoroutines(t *testing.T) {
	b := reblock(t, readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf"), 500, 1, CompressLZ4)
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "serial")
	if err != nil {
		t.Fatal(err)
	}
	f.SetWorkers(1)
	base := runtime.NumGoroutine()
	it := f.Records(context.Background())
	n := 0
	for it.Next() {
		if g := runtime.NumGoroutine(); g != base {
			t.Fatalf("%d goroutines during a serial iteration, %d before", g, base)
		}
		n++
	}
	if it.Err() != nil || n != 21000 {
		t.Errorf("%d records, %v", n, it.Err())
	}
}

func TestWorkerCount(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct{ set, want int }{
		{0, min(procs, defaultMaxWorkers)},
		{-3, min(procs, defaultMaxWorkers)},
		{1, 1},
		{3, 3},
		{1000, MaxWorkers},
	} {
		f := &File{}
		f.SetWorkers(tc.set)
		if got := f.workerCount(); got != tc.want {
			t.Errorf("SetWorkers(%d): %d workers, want %d", tc.set, got, tc.want)
		}
	}
}

// TestSteadyStateAllocatesNothingPerBlock reads a file of 200 blocks with
// every worker count: an iteration allocates its setup (iterator,
// goroutines, channels), nothing per block or record, as buffers, zstd
// decoders and each job's ready channel are reused.
func TestSteadyStateAllocatesNothingPerBlock(t *testing.T) {
	if testutil.RaceEnabled {
		t.Skip("allocation counts under -race: sync.Pool drops pooled zstd decoders and buffers at random")
	}
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	for _, m := range []Compression{CompressNone, CompressLZ4, CompressZSTD} {
		b := reblock(t, multi, 105, 1, m) // 200 blocks
		for _, w := range workerCounts {
			f, err := NewReader(bytes.NewReader(b), int64(len(b)), "a")
			if err != nil {
				t.Fatal(err)
			}
			f.SetWorkers(w)
			allocs := testing.AllocsPerRun(5, func() {
				it := f.Records(context.Background())
				for it.Next() {
				}
			})
			if limit := 16.0 + 4*float64(w); allocs > limit {
				t.Errorf("%v, %d workers: %v allocations to read 200 blocks of 21000 records, want at most %v", m, w, allocs, limit)
			}
		}
	}
}

// benchmarkWorkers reads a file of 200000 records in blocks of 8000 (as
// nfcapd writes them: about 1 MiB) with every worker count.
func benchmarkWorkers(b *testing.B, method Compression, mapped bool) {
	multi := readGoldenFile(b, "gen_ipfix_multiblock_lz4.nf")
	var data []byte
	if method == CompressLZO {
		data = recompressWithNfdump(b, reblock(b, multi, 8000, 10, CompressNone), "-z")
	} else {
		data = reblock(b, multi, 8000, 10, method)
	}
	for _, w := range workerCounts {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			f, err := NewReader(bytes.NewReader(data), int64(len(data)), "bench")
			if err != nil {
				b.Fatal(err)
			}
			f.SetWorkers(w)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if mapped {
					bi := f.MapRecords(context.Background(), func() Mapper { return countMapper{} })
					for bi.Next() {
						n += bi.Records()
					}
					if bi.Err() != nil {
						b.Fatal(bi.Err())
					}
					continue
				}
				it := f.Records(context.Background())
				for it.Next() {
					n++
				}
				if it.Err() != nil {
					b.Fatal(it.Err())
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func BenchmarkWorkersRecordsNone(b *testing.B) { benchmarkWorkers(b, CompressNone, false) }
func BenchmarkWorkersRecordsLZ4(b *testing.B)  { benchmarkWorkers(b, CompressLZ4, false) }
func BenchmarkWorkersRecordsLZO(b *testing.B)  { benchmarkWorkers(b, CompressLZO, false) }
func BenchmarkWorkersRecordsZSTD(b *testing.B) { benchmarkWorkers(b, CompressZSTD, false) }
func BenchmarkWorkersMapNone(b *testing.B)     { benchmarkWorkers(b, CompressNone, true) }
func BenchmarkWorkersMapLZ4(b *testing.B)      { benchmarkWorkers(b, CompressLZ4, true) }
func BenchmarkWorkersMapLZO(b *testing.B)      { benchmarkWorkers(b, CompressLZO, true) }
func BenchmarkWorkersMapZSTD(b *testing.B)     { benchmarkWorkers(b, CompressZSTD, true) }
