package vportscan

import (
	"runtime"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// One million distinct scanners fill the pair table to its cap and no
// further: the heap stays within the documented bound (MaxPairs pairs,
// about 60 MiB at the default cap) and every pair pushed out is counted.
func TestMillionSourcesStayWithinCap(t *testing.T) {
	if testing.Short() || testutil.RaceEnabled {
		t.Skip("a heap bound: not under -short or -race (the race detector multiplies memory and time)")
	}
	before := testutil.HeapMiB()
	h := newHarness(t, DefaultConfig())
	r, f := h.rec, h.d.in
	dst, _ := unirec.ParseIP("192.168.0.1")
	r.SetIP(f.dstIP, dst)
	r.SetUint16(f.dstPort, 22)
	r.SetUint32(f.packets, 1)
	r.SetUint8(f.proto, 6)
	r.SetUint8(f.flags, 2)
	emit := func(unirec.Record) error { return nil }
	const n = 1000000
	for i := range n {
		r.SetIP(f.srcIP, unirec.IPv4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		h.d.Process(r, emit)
	}
	grown := testutil.HeapMiB() - before
	st := h.d.Stats()
	max := DefaultConfig().MaxPairs
	if st.Entries != uint64(max) || st.Evicted != uint64(n-max) {
		t.Fatalf("entries %d evicted %d, want %d and %d", st.Entries, st.Evicted, max, n-max)
	}
	if grown > 60 {
		t.Fatalf("heap grew by %.1f MiB for %d pairs, documented bound 60 MiB", grown, max)
	}
	t.Logf("heap grew by %.1f MiB for %d pairs", grown, max)
	runtime.KeepAlive(h)
}
