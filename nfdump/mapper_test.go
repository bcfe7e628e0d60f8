package nfdump

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// textMapper appends every field of the record as text.
type textMapper struct{}

func (textMapper) Map(out []byte, r *Record) []byte { return fmt.Appendf(out, "%+v\n", *r) }

// MapRecords' output, block after block, is what one Mapper fed by
// Records produces, for every golden file (1.7 files mapped in the
// workers, 1.6 files in order by the consumer).
func TestMapRecordsEqualsRecords(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdataDir(t, "nfdump"), "*.nf"))
	if len(files) == 0 {
		t.Fatal("no golden .nf files")
	}
	layouts := map[int]int{}
	for _, path := range files {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		it := f.Records(context.Background())
		for it.Next() {
			want = textMapper{}.Map(want, it.Record())
		}
		if err := it.Err(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var got []byte
		records := 0
		bi := f.MapRecords(context.Background(), func() Mapper { return textMapper{} })
		for bi.Next() {
			got = append(got, bi.Output()...)
			records += bi.Records()
		}
		if err := bi.Err(); err != nil {
			t.Fatalf("%s: MapRecords: %v", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: MapRecords output (%d bytes) differs from Records (%d bytes)", filepath.Base(path), len(got), len(want))
		}
		if n := bytes.Count(want, []byte("\n")); records != n {
			t.Errorf("%s: MapRecords counted %d records, Records gave %d", filepath.Base(path), records, n)
		}
		if bi.Blocks() != it.Blocks() {
			t.Errorf("%s: %d blocks mapped, %d iterated", filepath.Base(path), bi.Blocks(), it.Blocks())
		}
		layouts[f.h.layout]++
		f.Close()
	}
	if layouts[LayoutV1] == 0 || layouts[LayoutV2] == 0 {
		t.Errorf("golden files cover layouts %v, want both", layouts)
	}
}

// Closing a BlockIterator early, or cancelling its context, ends its
// goroutines.
func TestMapRecordsStopsEarly(t *testing.T) {
	before := runtime.NumGoroutine()
	b := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	bi := f.MapRecords(context.Background(), func() Mapper { return countMapper{} })
	if !bi.Next() {
		t.Fatal(bi.Err())
	}
	bi.Close()
	if bi.Next() {
		t.Error("Next after Close returned true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	bi = f.MapRecords(ctx, func() Mapper { return countMapper{} })
	cancel()
	n := 0
	for bi.Next() {
		n++
	}
	if bi.Err() == nil {
		t.Errorf("cancelled MapRecords ended without error after %d blocks", n)
	}
	bi.Close()
	// Close waits for the pipeline's goroutines to finish; they may take a
	// moment more to exit.
	after := 0
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	t.Errorf("%d goroutines before, %d after closing", before, after)
}
