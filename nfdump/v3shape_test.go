package nfdump

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// checkShaped decodes seq through one v3Shapes cache and each record
// afresh with decodeV3: results and errors must agree record for record.
func checkShaped(t *testing.T, name string, seq [][]byte) {
	t.Helper()
	var c v3Shapes
	var reused Record
	for i, b := range seq {
		var fresh Record
		_, wantErr := decodeV3(b, &fresh)
		_, err := c.decode(b, &reused)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%s: record %d: shaped error %v, walk error %v", name, i, err, wantErr)
		}
		if err != nil {
			reused = Record{} // the Iterator stops at an error
			continue
		}
		if !reflect.DeepEqual(fresh, reused) {
			t.Fatalf("%s: record %d: shaped decode differs:\n got %+v\nwant %+v", name, i, reused, fresh)
		}
	}
}

// The shape cache gives exactly what walking the elements gives, for
// records of alternating, repeating and conflicting layouts.
func TestShapedDecodeMatchesWalk(t *testing.T) {
	recs := [][]byte{
		v3Record(1, elGeneric, elIPv4, elMisc, elAS, elNextHop4, elReceived4),
		v3Record(2, elGeneric, elIPv6, elMisc, elAS, elNextHop6, elReceived6),
		v3Record(3, elGeneric, elIPv4, elMisc, elBgpNextHop4, elNextHop4, elReceived4, elCnt, elVlan),
		v3Record(4, elGeneric, elIPv6, elMisc, elCnt, elMPLS, elMAC, elASAdjacent, elSamplerInfo, 40),
		v3Record(5, elGeneric, elIPv4, elIPv6),                 // both address forms: not cached
		v3Record(6, elGeneric, elIPv4, elGeneric),              // an element twice: not cached
		v3Record(7, elGeneric, elNextHop6, elMisc, elNextHop4), // both next hop forms
		v3Record(8),
	}
	// The same layout with other values, and with a longer misc element
	// (reverse TCP flags) at the same record size as another layout.
	recs = append(recs, v3Record(9, elGeneric, elIPv4, elMisc, elAS, elNextHop4, elReceived4))
	for _, a := range recs {
		for _, b := range recs {
			checkShaped(t, "pair", [][]byte{a, b, a, b, b, a, a})
		}
	}
	// A record whose element header was damaged after its layout was cached.
	bad := append([]byte(nil), recs[0]...)
	bad[v3HeaderSize+2] = 200 // generic element length past the record end
	checkShaped(t, "damaged", [][]byte{recs[0], bad, recs[0]})
}

// Over every 1.7 golden file, block by block, the shape cache decodes
// each V3 record as walking its elements does.
func TestShapedDecodeMatchesWalkOnGoldenFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdataDir(t, "nfdump"), "*.nf"))
	n := 0
	for _, path := range files {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if f.h.layout != LayoutV2 {
			f.Close()
			continue
		}
		d := decompressor{method: f.h.compression}
		var seq [][]byte
		off := f.h.dataStart
		for i := uint32(0); i < f.h.numBlocks; i++ {
			var hb [blockHeaderSize]byte
			h, raw, err := f.readBlock(off, f.size, &hb, nil)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			off += blockHeaderSize + int64(h.size)
			if h.typ != blockTypeV3 {
				continue
			}
			data, _, err := d.expand(nil, raw)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for pos := 0; pos < len(data); {
				typ, size, err := recordBounds(data, pos)
				if err != nil {
					break
				}
				if typ == recV3 {
					seq = append(seq, append([]byte(nil), data[pos:pos+size]...))
				}
				pos += size
			}
		}
		d.close()
		f.Close()
		checkShaped(t, filepath.Base(path), seq)
		n += len(seq)
	}
	if n == 0 {
		t.Fatal("no V3 records in the golden files")
	}
	t.Logf("%d V3 records compared", n)
}

// FuzzShapedDecodeV3 decodes two records in turn through the shape cache
// and compares every result with walking the elements.
func FuzzShapedDecodeV3(f *testing.F) {
	a := v3Record(1, elGeneric, elIPv4, elMisc, elAS, elNextHop4, elReceived4)
	b := v3Record(2, elGeneric, elIPv6, elMisc, elAS, elNextHop6, elReceived6)
	f.Add(a, b)
	f.Add(a, a)
	f.Add(v3Record(3, elGeneric, elIPv4, elMisc, elCnt), v3Record(4, elGeneric, elIPv4, elIPv6))
	// A real nfcapd record as a seed when the golden data is there; the
	// target runs without it.
	if dir, ok := findTestdata("nfdump"); ok {
		if data, err := os.ReadFile(filepath.Join(dir, "gen_v9_v4v6_none.nf")); err == nil {
			rec := data[headerV2Size+blockHeaderSize+32:]
			f.Add(rec[:le16(rec[2:])], a)
		}
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		checkShaped(t, "fuzz", [][]byte{a, b, a, b, b, a})
	})
}
