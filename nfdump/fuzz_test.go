package nfdump

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// seedFiles adds the small golden files (one per layout and compression)
// to a fuzz corpus; absent golden data just leaves the synthetic seeds.
func seedFiles(f *testing.F) [][]byte {
	var out [][]byte
	dir := ""
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "testdata", "nfdump")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			dir = p
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if dir == "" {
		return nil
	}
	for _, name := range []string{"nfpcapd_http_lz4.nf", "v9_mixed_lzo.nf", "ipfix_bidir_bz2.nf",
		"nf16_softflowd_v5_lz4.nf", "latest178_gen_v9_sf_ipfix_zstd.nf", "recomp_v9_none.nf", "nf16_gen_v9_v4v6_none.nf"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// FuzzFile feeds whole files (header, appendix, blocks, records) to the
// reader: read serially, then with three workers through Records and
// MapRecords, which must deliver the same records and end with the same
// error.
func FuzzFile(f *testing.F) {
	for _, b := range seedFiles(f) {
		f.Add(b)
	}
	f.Add([]byte{0x0c, 0xa5, 2, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := NewReader(bytes.NewReader(b), int64(len(b)), "fuzz")
		if err != nil {
			return
		}
		read := func(workers int) ([]byte, bool, error) {
			file.SetWorkers(workers)
			it := file.Records(context.Background())
			defer it.Close()
			var out []byte
			n := 0
			for ; n < 100000 && it.Next(); n++ {
				out = textMapper{}.Map(out, it.Record())
			}
			return out, n == 100000, it.Err()
		}
		want, tooMany, wantErr := read(1)
		if tooMany {
			return
		}
		if got, _, err := read(3); !bytes.Equal(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("3 workers: %d bytes, %v; serial: %d bytes, %v", len(got), err, len(want), wantErr)
		}
		// MapRecords delivers the same records and ends the same way.
		for _, w := range []int{1, 3} {
			file.SetWorkers(w)
			bi := file.MapRecords(context.Background(), func() Mapper { return textMapper{} })
			var got []byte
			for bi.Next() {
				got = append(got, bi.Output()...)
			}
			bi.Close()
			if !bytes.Equal(got, want) || fmt.Sprint(bi.Err()) != fmt.Sprint(wantErr) {
				t.Fatalf("MapRecords, %d workers: %d bytes, %v; Records: %d bytes, %v", w, len(got), bi.Err(), len(want), wantErr)
			}
		}
	})
}

// uncompressedFile wraps a block payload in a minimal LayoutV2 file.
func uncompressedFile(payload []byte, numRecords uint32, blockType uint16) []byte {
	b := make([]byte, headerV2Size+blockHeaderSize, headerV2Size+blockHeaderSize+len(payload))
	binary.LittleEndian.PutUint16(b, magic)
	binary.LittleEndian.PutUint16(b[2:], LayoutV2)
	binary.LittleEndian.PutUint32(b[36:], 1)
	binary.LittleEndian.PutUint32(b[headerV2Size:], numRecords)
	binary.LittleEndian.PutUint32(b[headerV2Size+4:], uint32(len(payload)))
	binary.LittleEndian.PutUint16(b[headerV2Size+8:], blockType)
	return append(b, payload...)
}

// FuzzBlock parses one uncompressed data block of records of any type.
func FuzzBlock(f *testing.F) {
	for _, b := range seedFiles(f) {
		if len(b) > headerV2Size+blockHeaderSize && b[2] == LayoutV2 && b[16] == 0 {
			h := parseBlockHeader(b[headerV2Size:])
			end := headerV2Size + blockHeaderSize + int(h.size)
			if end <= len(b) {
				f.Add(b[headerV2Size+blockHeaderSize:end], h.numRecords, h.typ)
			}
		}
	}
	f.Add([]byte{11, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 4, 0}, uint32(1), uint16(3))
	f.Fuzz(func(t *testing.T, payload []byte, n uint32, typ uint16) {
		if len(payload) == 0 || len(payload) > maxBlockSize {
			return
		}
		file, err := NewReader(bytes.NewReader(uncompressedFile(payload, n, typ)), int64(headerV2Size+blockHeaderSize+len(payload)), "fuzz")
		if err != nil {
			t.Fatalf("valid header rejected: %v", err)
		}
		it := file.Records(context.Background())
		defer it.Close()
		for it.Next() {
		}
	})
}

// FuzzRecordV3 decodes single V3 records.
func FuzzRecordV3(f *testing.F) {
	for _, b := range seedFiles(f) {
		if b[2] != LayoutV2 || b[16] != 0 {
			continue
		}
		data := b[headerV2Size+blockHeaderSize:]
		for off := 0; off+4 <= len(data); {
			typ, size := le16(data[off:]), int(le16(data[off+2:]))
			if size < 4 || off+size > len(data) {
				break
			}
			if typ == recV3 {
				f.Add(data[off : off+size])
			}
			off += size
		}
	}
	// A record rich in elements, decoded first into the reused Record: the
	// fuzzed record must then decode exactly as into a fresh Record.
	rich := v3Record(9, elGeneric, elIPv6, elMisc, elCnt, elVlan, elAS, elBgpNextHop6, elNextHop6, elReceived6, elMPLS, elMAC, elASAdjacent, elSamplerInfo)
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		_, err := decodeV3(b, &r)
		if err == nil && r.Flows == 0 && !r.Has(elCnt) {
			t.Fatalf("flows 0 without counter element")
		}
		if err != nil {
			return
		}
		var reused Record
		if _, err := decodeV3(rich, &reused); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeV3(b, &reused); err != nil {
			t.Fatalf("decodes fresh but not into a reused record: %v", err)
		}
		if !reflect.DeepEqual(r, reused) {
			t.Fatalf("reused record differs from a fresh decode:\n got %+v\nwant %+v", reused, r)
		}
	})
}

// FuzzRecordV1 decodes a 1.6 extension map followed by a common record.
func FuzzRecordV1(f *testing.F) {
	m := []byte{2, 0, 16, 0, 0, 0, 12, 0, 5, 0, 7, 0, 0, 0, 0, 0}
	rec := make([]byte, 32+16+16)
	binary.LittleEndian.PutUint16(rec, recCommonV1)
	binary.LittleEndian.PutUint16(rec[2:], uint16(len(rec)))
	f.Add(m, rec)
	f.Fuzz(func(t *testing.T, mapRec, rec []byte) {
		maps := map[uint16]*extMap{}
		_ = parseExtMap(mapRec, maps)
		var r Record
		_, _ = decodeV1(rec, maps, &r)
	})
}

// FuzzHeader parses file headers of both layouts.
func FuzzHeader(f *testing.F) {
	for _, b := range seedFiles(f) {
		n := dataStartV1
		if len(b) < n {
			n = len(b)
		}
		f.Add(b[:n], int64(len(b)))
	}
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		h, err := parseHeader(b, size)
		if err == nil && h.layout != LayoutV1 && h.layout != LayoutV2 {
			t.Fatalf("accepted layout %d", h.layout)
		}
	})
}
