package amplification

import (
	"testing"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

type harness struct {
	t      testing.TB
	d      *Detector
	rec    unirec.Record
	alerts []unirec.Record
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	d, err := New(cfg, &detectors.FlowClock{})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := unirec.ParseTemplate(InputSpec + ",uint8 PROTOCOL,string NOTE")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Bind(tm); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, d: d, rec: tm.NewRecord()}
}

// flow feeds one flow src:sport -> dst:dport at second ts (+ms).
func (h *harness) flow(src string, sport uint16, dst string, dport uint16, packets uint32, bytes uint64, ts, ms uint32) {
	h.t.Helper()
	s, _ := unirec.ParseIP(src)
	dd, _ := unirec.ParseIP(dst)
	r, f := h.rec, h.d.in
	r.SetIP(f.srcIP, s)
	r.SetIP(f.dstIP, dd)
	r.SetUint16(f.srcPort, sport)
	r.SetUint16(f.dstPort, dport)
	r.SetUint32(f.packets, packets)
	r.SetUint64(f.bytes, bytes)
	r.SetTime(f.timeFirst, unirec.TimeFromSecMsec(ts, ms))
	r.SetTime(f.timeLast, unirec.TimeFromSecMsec(ts, ms))
	if err := h.d.Process(r, func(a unirec.Record) error { h.alerts = append(h.alerts, a.Clone()); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

// attack is detectors.md §3.12's synthetic scenario: 1000 queries of 60 B
// and 1000 responses of 3 packets, 4001 B over about 901 s.
func attack(h *harness, respBytes func(i int) uint64) {
	for i := range 1000 {
		ts := uint32(10000 + i*901/999)
		h.flow("192.0.2.7", 40000, "198.51.100.53", 53, 1, 60, ts, 0)
		h.flow("198.51.100.53", 53, "192.0.2.7", 40000, 3, respBytes(i), ts, 500)
	}
}

func TestComplexAlert(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	attack(h, func(int) uint64 { return 4001 })
	if len(h.alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(h.alerts))
	}
	a, o := h.alerts[0], h.d.out
	src, _ := unirec.ParseIP("198.51.100.53")
	if a.IP(o.srcIP) != src || a.Uint16(o.srcPort) != 53 || a.Uint32(o.eventID) != 1 ||
		a.Time(o.timeFirst).Sec() != 10000 || a.Time(o.timeLast).Sec() != 10901 ||
		a.Uint32(o.reqFlows) != a.Uint32(o.rspFlows)+1 || a.Uint64(o.rspBytes) != 4001*uint64(a.Uint32(o.rspFlows)) {
		t.Fatalf("alert %s", a.AppendText(nil, ','))
	}
}

// Responses spread over many sizes in one bin: C's bin keeps the count of
// its largest value, so the top-N holds too few flows; the fixed
// histogram counts them all.
func TestHistogramBinQuirk(t *testing.T) {
	for _, fix := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Step = 100
		cfg.FixHistogram = fix
		h := newHarness(t, cfg)
		attack(h, func(i int) uint64 { return 4000 + uint64(i%100) })
		if got := len(h.alerts) == 1; got != fix {
			t.Errorf("fix %v: %d alerts", fix, len(h.alerts))
		}
	}
}

func TestNoEvaluationAtExactlyTheWindow(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	for i := range 1000 {
		ts := uint32(10000 + i*900/999)
		h.flow("192.0.2.7", 40000, "198.51.100.53", 53, 1, 60, ts, 0)
		h.flow("198.51.100.53", 53, "192.0.2.7", 40000, 3, 4001, ts, 0)
	}
	if len(h.alerts) != 0 {
		t.Fatalf("%d alerts at a span of exactly 900 s", len(h.alerts))
	}
}

func TestCapsEvictAndCount(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPairs = 50
	cfg.MaxItems = 120
	h := newHarness(t, cfg)
	for i := range 100 {
		h.flow(unirec.IPv4([4]byte{10, 0, 0, byte(i)}).String(), 5000, "198.51.100.53", 53, 1, 60, 1000, 0)
	}
	if st := h.d.Stats(); st.Entries != 50 || st.Evicted != 50 {
		t.Fatalf("pair cap: %+v", st)
	}
	for range 200 {
		h.flow("10.9.9.9", 5000, "198.51.100.53", 53, 1, 60, 1000, 0)
	}
	st := h.d.Stats()
	if h.d.items > 200 || st.Extra["stored_items"] != uint64(h.d.items) || st.Entries != 1 {
		t.Fatalf("item cap: items %d, %+v", h.d.items, st)
	}
}

func TestInactivePairsCleanedByFlowTime(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.flow("192.0.2.1", 5000, "198.51.100.53", 53, 1, 60, 1000, 0)
	h.flow("192.0.2.2", 5000, "198.51.100.53", 53, 1, 60, 1000, 0)
	h.flow("192.0.2.3", 5000, "198.51.100.53", 53, 1, 60, 3000, 0)
	if st := h.d.Stats(); st.Entries != 1 || st.Expired != 2 {
		t.Fatalf("%+v", st)
	}
}

func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, DefaultConfig())
	recs := make([]unirec.Record, 4096)
	for i := range recs {
		h.rec = h.rec.T.NewRecord()
		client := unirec.IPv4([4]byte{10, 0, byte(i >> 8 & 3), byte(i)}).String()
		switch i % 4 {
		case 0:
			h.flow(client, 40000, "198.51.100.53", 53, 1, 70, uint32(1000+i/8), 0)
		case 1:
			h.flow("198.51.100.53", 53, client, 40000, 1, 300, uint32(1000+i/8), 0)
		default:
			h.flow(client, 40000, "93.184.216.34", 443, 20, 9000, uint32(1000+i/8), 0)
		}
		recs[i] = h.rec
	}
	emit := func(unirec.Record) error { return nil }
	// Flow time advances (4096 flows a second) so that pairs are
	// evaluated and trimmed: the stored flows reach their steady state.
	f := h.d.in
	step := func(i int) {
		r := recs[i%len(recs)]
		ts := unirec.TimeFromSecMsec(uint32(2000+i/4096), uint32(i%4096)/5)
		r.SetTime(f.timeFirst, ts)
		r.SetTime(f.timeLast, ts)
		h.d.Process(r, emit)
	}
	for i := range 4 << 20 { // warm-up: 1024 s of flows, past a whole window
		step(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(4<<20 + i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
