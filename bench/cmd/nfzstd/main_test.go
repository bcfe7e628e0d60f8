package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/klauspost/compress/zstd"
)

func countRecords(t *testing.T, path string) (int, nfdump.Compression, string) {
	t.Helper()
	f, err := nfdump.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	it := f.Records(context.Background())
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n, f.Compression(), f.Ident()
}

// A golden uncompressed file, recompressed, reads back to the same records
// (with its appendix) as ZSTD.
func TestRecompressReadsBack(t *testing.T) {
	in := filepath.Join(testutil.SharedTestdata(t, "nfdump"), "recomp_v9_none.nf")
	dir := t.TempDir()
	out, frames := filepath.Join(dir, "z.nf"), filepath.Join(dir, "frames.zst")
	if err := convert(in, out, frames); err != nil {
		t.Fatal(err)
	}
	n0, _, id0 := countRecords(t, in)
	n1, c1, id1 := countRecords(t, out)
	if n1 != n0 || id1 != id0 || c1 != 4 {
		t.Errorf("recompressed: %d records, ident %q, compression %v; want %d, %q, 4", n1, id1, c1, n0, id0)
	}

	// The frames stream holds the data blocks' payloads, without checksums
	// (nfdump's writer adds none).
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	appendix := int(binary.LittleEndian.Uint64(raw[24:]))
	for off := headerLen; off < appendix; {
		end := off + blockHeaderLen + int(binary.LittleEndian.Uint32(raw[off+4:]))
		want = append(want, raw[off+blockHeaderLen:end]...)
		off = end
	}
	fr, err := os.ReadFile(frames)
	if err != nil {
		t.Fatal(err)
	}
	if fhd := fr[4]; fhd&0x04 != 0 {
		t.Errorf("frame header descriptor %#x has the checksum flag", fhd)
	}
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err := dec.DecodeAll(fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("frames decode to %d bytes, want the %d bytes of the data blocks", len(got), len(want))
	}
}

func TestRecompressRejectsCompressedInput(t *testing.T) {
	in := filepath.Join(testutil.SharedTestdata(t, "nfdump"), "recomp_v9_lz4.nf")
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := recompress(b); err == nil {
		t.Error("LZ4 input accepted")
	}
	if _, _, err := recompress(b[:10]); err == nil {
		t.Error("10-byte input accepted")
	}
}
