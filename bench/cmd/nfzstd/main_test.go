package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
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
	out := filepath.Join(t.TempDir(), "z.nf")
	if err := convert(in, out); err != nil {
		t.Fatal(err)
	}
	n0, _, id0 := countRecords(t, in)
	n1, c1, id1 := countRecords(t, out)
	if n1 != n0 || id1 != id0 || c1 != 4 {
		t.Errorf("recompressed: %d records, ident %q, compression %v; want %d, %q, 4", n1, id1, c1, n0, id0)
	}
}

func TestRecompressRejectsCompressedInput(t *testing.T) {
	in := filepath.Join(testutil.SharedTestdata(t, "nfdump"), "recomp_v9_lz4.nf")
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recompress(b); err == nil {
		t.Error("LZ4 input accepted")
	}
	if _, err := recompress(b[:10]); err == nil {
		t.Error("10-byte input accepted")
	}
}
