package nfdump

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readGoldenFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir(t, "nfdump"), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blockOffsets lists the file offsets of the data blocks of a LayoutV2 file.
func blockOffsets(t *testing.T, b []byte) []int64 {
	t.Helper()
	n := binary.LittleEndian.Uint32(b[36:])
	var offs []int64
	off := int64(headerV2Size)
	for i := uint32(0); i < n; i++ {
		offs = append(offs, off)
		off += blockHeaderSize + int64(binary.LittleEndian.Uint32(b[off+4:]))
	}
	return offs
}

// iterate returns the number of flow records delivered and the final error.
func iterate(t *testing.T, b []byte) (int, error) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "test.nf")
	if err != nil {
		return -1, err
	}
	it := f.Records(context.Background())
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	return n, it.Err()
}

// countMapper appends one byte per record.
type countMapper struct{}

func (countMapper) Map(out []byte, _ *Record) []byte { return append(out, 1) }

// mapIterate is iterate through MapRecords: the records mapped and the
// final error.
func mapIterate(t *testing.T, b []byte) (int, error) {
	t.Helper()
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "test.nf")
	if err != nil {
		return -1, err
	}
	it := f.MapRecords(context.Background(), func() Mapper { return countMapper{} })
	defer it.Close()
	n := 0
	for it.Next() {
		if len(it.Output()) != it.Records() {
			t.Fatalf("block output of %d bytes for %d records", len(it.Output()), it.Records())
		}
		n += it.Records()
	}
	return n, it.Err()
}

func TestCorruptFilesFailWithOffsetAfterDeliveringEarlierRecords(t *testing.T) {
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	moffs := blockOffsets(t, multi)
	if len(moffs) != 3 {
		t.Fatalf("multiblock file has %d data blocks, want 3", len(moffs))
	}
	plain := readGoldenFile(t, "gen_v9_v4v6_none.nf")
	// Record layout of the uncompressed file: block at 40, exporter record
	// first (32 bytes), then V3 records of 132 bytes (IPv4) / 180 (IPv6).
	firstFlow := int64(headerV2Size + blockHeaderSize + 32)

	mutate := func(src []byte, fn func(b []byte) []byte) []byte {
		return fn(append([]byte(nil), src...))
	}
	recordsInBlock0 := func() int {
		return int(binary.LittleEndian.Uint32(multi[moffs[0]:])) - 1 // minus the exporter record
	}

	tests := []struct {
		name      string
		data      []byte
		openErr   bool
		wantAtOff int64 // offset the error must name
		wantMsg   string
		minRecs   int // records that must be delivered before the error
		maxRecs   int
	}{
		{
			name:      "wrong magic",
			data:      mutate(plain, func(b []byte) []byte { b[0] = 0x42; return b }),
			openErr:   true,
			wantAtOff: 0,
			wantMsg:   "bad magic",
		},
		{
			name:      "file shorter than its header",
			data:      plain[:20],
			openErr:   true,
			wantAtOff: 0,
			wantMsg:   "truncated",
		},
		{
			name:      "unknown layout version",
			data:      mutate(plain, func(b []byte) []byte { b[2] = 7; return b }),
			openErr:   true,
			wantAtOff: 0,
			wantMsg:   "layout version 7",
		},
		{
			name:      "truncated in the third block",
			data:      multi[:moffs[2]+1000],
			wantAtOff: moffs[2],
			wantMsg:   "past end of data",
			minRecs:   recordsInBlock0() + int(binary.LittleEndian.Uint32(multi[moffs[1]:])),
			maxRecs:   recordsInBlock0() + int(binary.LittleEndian.Uint32(multi[moffs[1]:])),
		},
		{
			name:      "truncated between blocks",
			data:      multi[:moffs[1]],
			wantAtOff: moffs[1],
			wantMsg:   "file ends after 1 of 3 data blocks",
			minRecs:   recordsInBlock0(),
			maxRecs:   recordsInBlock0(),
		},
		{
			name: "corrupt compressed block",
			data: mutate(multi, func(b []byte) []byte {
				p := b[moffs[1]+blockHeaderSize:]
				for i := 0; i < 64; i++ {
					p[i] = 0xff
				}
				return b
			}),
			wantAtOff: moffs[1],
			wantMsg:   "block 1",
			minRecs:   recordsInBlock0(),
			maxRecs:   recordsInBlock0(),
		},
		{
			name: "block length past EOF",
			data: mutate(plain, func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[headerV2Size+4:], 4*1024*1024)
				return b
			}),
			wantAtOff: headerV2Size,
			wantMsg:   "past end of data",
		},
		{
			name: "block length above 5 MiB",
			data: mutate(plain, func(b []byte) []byte {
				binary.LittleEndian.PutUint32(b[headerV2Size+4:], 6*1024*1024)
				return b
			}),
			wantAtOff: headerV2Size,
			wantMsg:   "block size",
		},
		{
			name: "record size zero in the middle of a block",
			data: mutate(plain, func(b []byte) []byte {
				binary.LittleEndian.PutUint16(b[firstFlow+3*132+2:], 0)
				return b
			}),
			wantAtOff: firstFlow + 3*132,
			wantMsg:   "size 0",
			minRecs:   3,
			maxRecs:   3,
		},
		{
			name: "element length overruns record",
			data: mutate(plain, func(b []byte) []byte {
				// first element of the 3rd flow record: header at +12
				binary.LittleEndian.PutUint16(b[firstFlow+2*132+12+2:], 400)
				return b
			}),
			wantAtOff: firstFlow + 2*132 + 12,
			wantMsg:   "length 400",
			minRecs:   2,
			maxRecs:   2,
		},
		{
			name: "record overruns block",
			data: mutate(plain, func(b []byte) []byte {
				binary.LittleEndian.PutUint16(b[firstFlow+2:], 0xfff0)
				return b
			}),
			wantAtOff: firstFlow,
			wantMsg:   "overruns block",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := iterate(t, tc.data)
			if err == nil {
				t.Fatalf("no error after %d records", n)
			}
			if tc.openErr != (n == -1) {
				t.Fatalf("error at open = %v, want %v: %v", n == -1, tc.openErr, err)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if fe.Offset != tc.wantAtOff || fe.File != "test.nf" {
				t.Errorf("error names %s offset %d, want test.nf offset %d: %v", fe.File, fe.Offset, tc.wantAtOff, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
			if !tc.openErr && (n < tc.minRecs || n > tc.maxRecs) {
				t.Errorf("delivered %d records before the error, want %d..%d", n, tc.minRecs, tc.maxRecs)
			}
			// MapRecords maps the same records and ends with the same error.
			if mn, merr := mapIterate(t, tc.data); mn != n || fmt.Sprint(merr) != fmt.Sprint(err) {
				t.Errorf("MapRecords: %d records, %v; Records: %d, %v", mn, merr, n, err)
			}
		})
	}
}

func TestCancelledContextStopsIteration(t *testing.T) {
	b := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	it := f.Records(ctx)
	n := 0
	for it.Next() {
		n++
		if n == 10 {
			cancel()
			break
		}
	}
	// The current block may still be drained, but the iteration must end
	// with the context error before the whole file is read.
	for it.Next() {
		n++
	}
	if !errors.Is(it.Err(), context.Canceled) {
		t.Errorf("Err = %v, want context.Canceled", it.Err())
	}
	if n >= 21000 {
		t.Errorf("read all %d records despite cancellation", n)
	}
}

func TestCloseBeforeEndReleasesPipeline(t *testing.T) {
	b := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	f, err := NewReader(bytes.NewReader(b), int64(len(b)), "multi")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		it := f.Records(context.Background())
		if !it.Next() {
			t.Fatalf("no first record: %v", it.Err())
		}
		it.Close()
		if it.Next() {
			t.Fatal("Next true after Close")
		}
	}
}

func TestTruncatedFileWithoutAppendixStillOpens(t *testing.T) {
	multi := readGoldenFile(t, "gen_ipfix_multiblock_lz4.nf")
	offs := blockOffsets(t, multi)
	f, err := NewReader(bytes.NewReader(multi[:offs[2]]), int64(offs[2]), "cut")
	if err != nil {
		t.Fatalf("open truncated file: %v", err)
	}
	if f.Stats().Flows != 0 {
		t.Errorf("stats from a missing appendix: %+v", f.Stats())
	}
}

// A file still being written (nfcapd.current.*) has a placeholder header:
// NumBlocks 0 and no appendix; its blocks are read up to EOF.
func TestFileBeingWrittenIsReadToEOF(t *testing.T) {
	b := readGoldenFile(t, "gen_v9_v4v6_none.nf")
	app := int64(binary.LittleEndian.Uint64(b[24:]))
	cur := append([]byte(nil), b[:app]...)
	binary.LittleEndian.PutUint16(cur[18:], 0) // appendix blocks
	binary.LittleEndian.PutUint64(cur[24:], 0) // appendix offset
	binary.LittleEndian.PutUint32(cur[36:], 0) // NumBlocks
	n, err := iterate(t, cur)
	if err != nil || n != 200 {
		t.Errorf("read %d records, err %v; want 200 and no error", n, err)
	}
	n, err = iterate(t, cur[:headerV2Size])
	if err != nil || n != 0 {
		t.Errorf("fresh 40-byte file: %d records, err %v", n, err)
	}
}
