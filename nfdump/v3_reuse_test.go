package nfdump

import (
	"encoding/binary"
	"reflect"
	"testing"
)

// v3Record builds a V3 record with the given elements, each payload filled
// with a byte pattern derived from seed.
func v3Record(seed byte, ids ...int) []byte {
	b := make([]byte, v3HeaderSize)
	binary.LittleEndian.PutUint16(b[0:], recV3)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(ids)))
	b[6], b[7], b[10], b[11] = seed, seed+1, 0, 9
	for _, id := range ids {
		n := 16
		if id < len(elemMin) && elemMin[id] > n {
			n = elemMin[id]
		}
		if id == elSamplerInfo {
			n = 12
		}
		el := make([]byte, elemHeaderSize+n)
		binary.LittleEndian.PutUint16(el, uint16(id))
		binary.LittleEndian.PutUint16(el[2:], uint16(len(el)))
		for i := elemHeaderSize; i < len(el); i++ {
			el[i] = seed + byte(i*7)
		}
		b = append(b, el...)
	}
	binary.LittleEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// Decoding into a reused Record (as the Iterator does) gives exactly what
// decoding into a fresh one gives, whatever elements the previous record
// had: fields of elements the new record lacks must not leak through.
func TestDecodeV3IntoReusedRecordMatchesFresh(t *testing.T) {
	all := []int{elGeneric, elIPv6, elMisc, elCnt, elVlan, elAS, elBgpNextHop6, elNextHop6, elReceived6, elMPLS, elMAC, elASAdjacent, elSamplerInfo}
	records := map[string][]byte{
		"every element, IPv6":        v3Record(1, all...),
		"generic and IPv4":           v3Record(2, elGeneric, elIPv4),
		"IPv4 with v4 next hops":     v3Record(3, elGeneric, elIPv4, elMisc, elBgpNextHop4, elNextHop4, elReceived4),
		"header only":                v3Record(4),
		"unknown element":            v3Record(5, elGeneric, elIPv4, 40),
		"biflow counters and misc":   v3Record(6, elGeneric, elIPv6, elCnt, elMisc),
		"sampler info and adjacency": v3Record(7, elGeneric, elSamplerInfo, elASAdjacent),
	}
	for prevName, prev := range records {
		for curName, cur := range records {
			var fresh Record
			if _, err := decodeV3(cur, &fresh); err != nil {
				t.Fatalf("%s: %v", curName, err)
			}
			var reused Record
			if _, err := decodeV3(prev, &reused); err != nil {
				t.Fatalf("%s: %v", prevName, err)
			}
			if _, err := decodeV3(cur, &reused); err != nil {
				t.Fatalf("%s: %v", curName, err)
			}
			if !reflect.DeepEqual(fresh, reused) {
				t.Errorf("%q after %q differs from a fresh decode:\n got %+v\nwant %+v", curName, prevName, reused, fresh)
			}
		}
	}
	// After a 1.6 record, every field is reset.
	var r Record
	r.v1, r.Input, r.SrcAS = true, 9, 7
	if _, err := decodeV3(records["generic and IPv4"], &r); err != nil {
		t.Fatal(err)
	}
	if r.Input != 0 || r.SrcAS != 0 || r.v1 {
		t.Errorf("fields of a 1.6 record leaked into a V3 record: %+v", r)
	}
}
