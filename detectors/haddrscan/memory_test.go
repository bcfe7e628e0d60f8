package haddrscan

import (
	"runtime"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// One million distinct scanners, each probing 49 hosts on one port (one
// short of an alert), fill the key table to its cap and no further: the
// heap stays within the documented worst case (about 85 MiB at the
// default cap and threshold) and every key pushed out is counted.
func TestMillionSourcesStayWithinCap(t *testing.T) {
	if testing.Short() || testutil.RaceEnabled {
		t.Skip("a heap bound: not under -short or -race (the race detector multiplies memory and time)")
	}
	before := testutil.HeapMiB()
	h := newHarness(t, DefaultConfig())
	r, f := h.rec, h.d.in
	r.SetUint16(f.dstPort, 22)
	r.SetUint32(f.packets, 1)
	r.SetUint8(f.proto, 6)
	r.SetUint8(f.flags, 2)
	emit := func(unirec.Record) error { return nil }
	const n = 1000000
	max := DefaultConfig().MaxKeys
	for i := range n {
		r.SetIP(f.srcIP, unirec.IPv4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		hosts := 1
		if i >= n-max {
			hosts = 49 // the keys that stay hold the most addresses
		}
		for j := range hosts {
			r.SetIP(f.dstIP, unirec.IPv4([4]byte{192, 168, 0, byte(j)}))
			h.d.Process(r, emit)
		}
	}
	grown := testutil.HeapMiB() - before
	st := h.d.Stats()
	if st.Entries != uint64(max) || st.Evicted != uint64(n-max) || st.Alerts != 0 {
		t.Fatalf("entries %d evicted %d alerts %d, want %d, %d, 0", st.Entries, st.Evicted, st.Alerts, max, n-max)
	}
	if grown > 90 {
		t.Fatalf("heap grew by %.1f MiB for %d keys, documented bound 90 MiB", grown, max)
	}
	t.Logf("heap grew by %.1f MiB for %d keys", grown, max)
	runtime.KeepAlive(h)
}
