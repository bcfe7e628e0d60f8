package lzo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// goldenBlocks returns the LZO-compressed data blocks of the golden nfdump
// files nfcapd and nfdump wrote with -z (1.6 and 1.7 layouts).
func goldenBlocks(t testing.TB) [][]byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var nfdir string
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "shared", "testdata", "nfdump")); err == nil && st.IsDir() {
			nfdir = filepath.Join(d, "shared", "testdata", "nfdump")
			break
		}
		if filepath.Dir(d) == d {
			t.Skip("golden data shared/testdata/nfdump not found above the working directory")
		}
	}
	files, _ := filepath.Glob(filepath.Join(nfdir, "*lzo*.nf"))
	var blocks [][]byte
	for _, path := range files {
		blocks = append(blocks, fileBlocks(t, path)...)
	}
	if len(blocks) == 0 {
		t.Fatal("no LZO blocks in the golden files")
	}
	return blocks
}

// fileBlocks returns the compressed data blocks of the nfdump file at path.
func fileBlocks(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4 {
		t.Fatalf("%s: not an nfdump file", path)
	}
	// Data blocks start after the header: 40 bytes in layout 2, the
	// 1.6 header and its stat record (140 + 136 bytes) in layout 1.
	off := 40
	if b[2] == 1 {
		off = 276
	}
	var blocks [][]byte
	for off+12 <= len(b) {
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		typ := binary.LittleEndian.Uint16(b[off+8:])
		if size == 0 || off+12+size > len(b) {
			break
		}
		if typ == 2 || typ == 3 {
			blocks = append(blocks, b[off+12:off+12+size])
		}
		off += 12 + size
	}
	return blocks
}

// same reports whether the fast and the reference decoder agree on src:
// bytes written, the output, and the kind of error.
func same(t *testing.T, src []byte, dstLen int) {
	t.Helper()
	a, b := make([]byte, dstLen), make([]byte, dstLen)
	n, err := Decompress(a, src)
	rn, rerr := refDecompress(b, src)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("fast: %d, %v; reference: %d, %v", n, err, rn, rerr)
	}
	if err != nil {
		for _, e := range []error{ErrInputOverrun, ErrOutputOverrun, ErrLookBehind, ErrNoEOF, ErrTrailing} {
			if errors.Is(err, e) != errors.Is(rerr, e) {
				t.Fatalf("fast error %v, reference error %v", err, rerr)
			}
		}
		return
	}
	if n != rn || !bytes.Equal(a[:n], b[:rn]) {
		t.Fatalf("fast decoded %d bytes, reference %d; outputs differ", n, rn)
	}
}

// Every LZO block nfcapd wrote decodes as the reference decoder decodes it,
// also into a buffer that is exactly large enough (no room for the 8-byte
// moves at the end) and one byte too small.
func TestDecompressMatchesReferenceOnGoldenBlocks(t *testing.T) {
	for _, src := range goldenBlocks(t) {
		ref := make([]byte, 5<<20)
		n, err := refDecompress(ref, src)
		if err != nil {
			t.Fatalf("reference decoder: %v", err)
		}
		for _, l := range []int{5 << 20, n, n - 1} {
			same(t, src, l)
		}
	}
}

// FuzzDecompressMatchesReference mutates streams and golden blocks: the
// fast decoder must agree with the reference on every input.
func FuzzDecompressMatchesReference(f *testing.F) {
	f.Add(stream([]byte{17 + 3}, []byte("abc"), []byte{5<<5 | 2<<2, 0}, eof), 64)
	f.Add(stream([]byte{0, 2}, bytes.Repeat([]byte("x"), 20), eof), 64)
	f.Add(stream([]byte{17 + 1}, []byte("z"), []byte{32 | 2, 1, 0}, []byte("q"), eof), 6)
	if dir, err := os.Getwd(); err == nil {
		for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
			if b, err := os.ReadFile(filepath.Join(d, "shared", "testdata", "nfdump", "recomp_v9_lzo.nf")); err == nil {
				size := int(binary.LittleEndian.Uint32(b[44:]))
				if 52+size <= len(b) {
					blk := b[52 : 52+size]
					f.Add(blk[:min(len(blk), 4096)], 1<<16)
				}
				break
			}
		}
	}
	// Valid streams with every instruction kind, for the fast loop.
	r := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		src, want := genStream(r, 100+r.IntN(3000))
		f.Add(src, len(want)+r.IntN(64))
	}
	f.Fuzz(func(t *testing.T, src []byte, dstLen int) {
		if dstLen < 0 || dstLen > 1<<20 {
			return
		}
		same(t, src, dstLen)
	})
}

func BenchmarkDecompress(b *testing.B) {
	benchDecompress(b, goldenBlocks(b), Decompress)
}

// BenchmarkDecompressFile decodes the blocks of a large nfdump file written
// with LZO (nfdump -r FILE -J 1; bench/nfdump.sh with KEEP= keeps one):
//
//	LZO_BENCH_FILE=/tmp/flows_lzo.nf go test -run X -bench DecompressFile ./nfdump/lzo
func BenchmarkDecompressFile(b *testing.B) {
	path := os.Getenv("LZO_BENCH_FILE")
	if path == "" {
		b.Skip("LZO_BENCH_FILE (an nfdump file written with -J 1) not set")
	}
	blocks := fileBlocks(b, path)
	b.Run("fast", func(b *testing.B) { benchDecompress(b, blocks, Decompress) })
	b.Run("reference", func(b *testing.B) { benchDecompress(b, blocks, refDecompress) })
}

func benchDecompress(b *testing.B, blocks [][]byte, decompress func(dst, src []byte) (int, error)) {
	dst := make([]byte, 5<<20)
	total := 0
	for _, src := range blocks {
		n, err := decompress(dst, src)
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	// CPU seconds as well as wall time: on a shared machine MB/cpu-s is the
	// steadier figure.
	cpu0 := processCPU()
	n := 0
	for b.Loop() {
		for _, src := range blocks {
			if _, err := decompress(dst, src); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	if cpu := (processCPU() - cpu0).Seconds(); cpu > 0 {
		b.ReportMetric(float64(total)*float64(n)/cpu/1e6, "MB/cpu-s")
	}
}
