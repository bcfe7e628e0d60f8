package amplification

import (
	"runtime"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

// One million distinct victims of one reflector (a flow each) fill the
// pair table to its cap and no further, and a flood of stored flows
// stays within MaxItems: the heap stays within the documented bound
// (about 130 MiB at the default caps) and every pair pushed out is
// counted.
func TestMillionSourcesStayWithinCap(t *testing.T) {
	if testing.Short() || testutil.RaceEnabled {
		t.Skip("a heap bound: not under -short or -race (the race detector multiplies memory and time)")
	}
	before := testutil.HeapMiB()
	h := newHarness(t, DefaultConfig())
	r, f := h.rec, h.d.in
	srv, _ := unirec.ParseIP("198.51.100.53")
	r.SetIP(f.srcIP, srv)
	r.SetUint16(f.srcPort, 53)
	r.SetUint16(f.dstPort, 40000)
	r.SetUint32(f.packets, 3)
	r.SetUint64(f.bytes, 4000)
	emit := func(unirec.Record) error { return nil }
	const n = 1000000
	for i := range n {
		r.SetIP(f.dstIP, unirec.IPv4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		r.SetTime(f.timeFirst, unirec.TimeFromSecMsec(1000, 0))
		r.SetTime(f.timeLast, unirec.TimeFromSecMsec(1000, 0))
		h.d.Process(r, emit)
	}
	cfg := DefaultConfig()
	st := h.d.Stats()
	if st.Entries != uint64(cfg.MaxPairs) || st.Evicted != uint64(n-cfg.MaxPairs) {
		t.Fatalf("entries %d evicted %d, want %d and %d", st.Entries, st.Evicted, cfg.MaxPairs, n-cfg.MaxPairs)
	}
	// Then 5 M flows of 64 pairs within one window: MaxItems holds.
	for i := range 5 * n {
		r.SetIP(f.dstIP, unirec.IPv4([4]byte{172, 16, 0, byte(i % 64)}))
		h.d.Process(r, emit)
	}
	grown := testutil.HeapMiB() - before
	if h.d.items > cfg.MaxItems+cfg.RecordCount {
		t.Fatalf("%d items stored, cap %d", h.d.items, cfg.MaxItems)
	}
	if grown > 130 {
		t.Fatalf("heap grew by %.1f MiB, documented bound 130 MiB", grown)
	}
	t.Logf("heap grew by %.1f MiB; %d items stored", grown, h.d.items)
	runtime.KeepAlive(h)
}
