package vportscan

import (
	"testing"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

type flow struct {
	src, dst     string
	port         uint16
	packets      uint32
	proto, flags uint8
	first, last  uint32 // seconds
}

type harness struct {
	t      testing.TB
	d      *Detector
	rec    unirec.Record
	f      inFields
	alerts []unirec.Record
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	d, err := New(cfg, &detectors.FlowClock{})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := unirec.ParseTemplate(InputSpec + ",uint64 BYTES")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Bind(tm); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, d: d, rec: tm.NewRecord(), f: d.in}
}

func (h *harness) feed(fl flow) {
	h.t.Helper()
	src, _ := unirec.ParseIP(fl.src)
	dst, _ := unirec.ParseIP(fl.dst)
	r, f := h.rec, h.f
	r.SetIP(f.srcIP, src)
	r.SetIP(f.dstIP, dst)
	r.SetUint16(f.srcPort, 40000)
	r.SetUint16(f.dstPort, fl.port)
	r.SetUint32(f.packets, fl.packets)
	r.SetUint8(f.proto, fl.proto)
	r.SetUint8(f.flags, fl.flags)
	r.SetTime(f.timeFirst, unirec.TimeFromSecMsec(fl.first, 0))
	r.SetTime(f.timeLast, unirec.TimeFromSecMsec(fl.last, 0))
	if err := h.d.Process(r, func(a unirec.Record) error { h.alerts = append(h.alerts, a.Clone()); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

func syn(src, dst string, port uint16, ts uint32) flow {
	return flow{src: src, dst: dst, port: port, packets: 1, proto: 6, flags: 2, first: ts, last: ts + 1}
}

func TestScanRules(t *testing.T) {
	tests := []struct {
		name   string
		flows  func() []flow
		alerts int
	}{
		{"50 ports alert once", func() (fs []flow) {
			for p := range 50 {
				fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000+uint32(p)))
			}
			return
		}, 1},
		{"a repeated port toggles out: 51 flows, 49 ports", func() (fs []flow) {
			for p := range 50 {
				fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000))
				if p == 10 {
					fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000))
				}
			}
			return fs[:51]
		}, 0},
		{"52 flows with one repeat reach 50", func() (fs []flow) {
			for p := range 51 {
				fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000))
				if p == 10 {
					fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000))
				}
			}
			return
		}, 1},
		{"SYN+ACK and 5 packets do not qualify", func() (fs []flow) {
			for p := range 60 {
				f := syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000)
				if p%2 == 0 {
					f.flags = 0x12
				} else {
					f.packets = 5
				}
				fs = append(fs, f)
			}
			return
		}, 0},
		{"IPv6 ignored", func() (fs []flow) {
			for p := range 60 {
				fs = append(fs, syn("2001:db8::1", "2.2.2.2", uint16(100+p), 1000))
			}
			return
		}, 0},
		{"idle pair pruned by flow time", func() (fs []flow) {
			for p := range 49 {
				fs = append(fs, syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000))
			}
			fs = append(fs, syn("9.9.9.9", "2.2.2.2", 1, 1400)) // 400 s later: prune
			fs = append(fs, syn("1.1.1.1", "2.2.2.2", 500, 1401))
			return
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, DefaultConfig())
			for _, f := range tt.flows() {
				h.feed(f)
			}
			if len(h.alerts) != tt.alerts {
				t.Fatalf("%d alerts, want %d", len(h.alerts), tt.alerts)
			}
		})
	}
}

func TestAlertFields(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	for p := range 50 {
		h.feed(syn("1.1.1.1", "2.2.2.2", uint16(100+p), 1000+uint32(p)))
	}
	a := h.alerts[0]
	o := h.d.out
	if a.Uint16(o.dstPort) != 149 || a.Uint32(o.portCnt) != 50 || a.Uint8(o.eventType) != 1 ||
		a.Time(o.timeFirst).Sec() != 1000 || a.Time(o.timeLast).Sec() != 1050 || a.Uint16(o.srcPort) != 40000 {
		t.Fatalf("alert %s", a.AppendText(nil, ','))
	}
	st := h.d.Stats()
	if st.Alerts != 1 || st.Entries != 0 || st.Records != 50 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCapEvictsAndCounts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPairs = 10
	h := newHarness(t, cfg)
	for i := range 100 {
		h.feed(syn(unirec.IPv4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), "2.2.2.2", 80, 1000))
	}
	h.feed(syn("2001:db8::1", "2.2.2.2", 80, 1000))
	st := h.d.Stats()
	if st.Entries != 10 || st.Evicted != 90 || st.IPv6Skipped != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, DefaultConfig())
	// A mix of scanners and benign flows over 4096 pairs.
	fs := make([]flow, 4096)
	for i := range fs {
		fs[i] = syn(unirec.IPv4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), "192.168.0.1", uint16(i%70), uint32(1000+i/64))
		if i%3 == 0 {
			fs[i].flags = 0x1b
			fs[i].packets = 20
		}
	}
	recs := make([]unirec.Record, len(fs))
	for i, f := range fs {
		h.rec = h.rec.T.NewRecord()
		h.feed(f)
		recs[i] = h.rec
	}
	emit := func(unirec.Record) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.d.Process(recs[i%len(recs)], emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// The packed port set agrees with a plain set under random toggles.
func TestPortSetFind(t *testing.T) {
	var p pair
	var ref []uint16
	x := uint32(12345)
	for range 20000 {
		x = x*1664525 + 1013904223
		port := uint16(x>>16) % 80 // few values: many hits, port 0 included
		i := p.find(port)
		j := -1
		for k, v := range ref {
			if v == port {
				j = k
			}
		}
		if (i >= 0) != (j >= 0) || (i >= 0 && p.get(i) != port) {
			t.Fatalf("find(%d) = %d, reference %d (set %v)", port, i, j, ref)
		}
		if i >= 0 {
			p.n--
			p.set(i, p.get(p.n))
			ref[j] = ref[len(ref)-1]
			ref = ref[:len(ref)-1]
		} else if p.n < MaxPortsThreshold {
			p.set(p.n, port)
			p.n++
			ref = append(ref, port)
		}
	}
}
