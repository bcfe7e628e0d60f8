package ddos

import (
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

type flows struct {
	t                            *unirec.Template
	rec                          unirec.Record
	dst, src, bytes, first, last unirec.FieldID
}

func newFlows(t testing.TB) *flows {
	tm, err := unirec.ParseTemplate(InputSpec)
	if err != nil {
		t.Fatal(err)
	}
	f := &flows{t: tm, rec: tm.NewRecord()}
	f.dst, _ = tm.Lookup("DST_IP")
	f.src, _ = tm.Lookup("SRC_IP")
	f.bytes, _ = tm.Lookup("BYTES")
	f.first, _ = tm.Lookup("TIME_FIRST")
	f.last, _ = tm.Lookup("TIME_LAST")
	return f
}

func (f *flows) set(dst, src unirec.IP, bytes uint64, first, last uint32) unirec.Record {
	f.rec.SetIP(f.dst, dst)
	f.rec.SetIP(f.src, src)
	f.rec.SetUint64(f.bytes, bytes)
	f.rec.SetTime(f.first, unirec.TimeFromSecMsec(first, 0))
	f.rec.SetTime(f.last, unirec.TimeFromSecMsec(last, 0))
	return f.rec
}

func v4(a, b, c, d byte) unirec.IP { return unirec.IPv4([4]byte{a, b, c, d}) }

// The synthetic scenario of detectors.md §6.11: a 600 kB/min baseline
// from 5 sources, then 10 MB/min from 30 sources in minutes 5 and 6, then
// low-rate traffic. The flood is reported when it ends, with the
// baseline as the original averages.
func TestSyntheticFlood(t *testing.T) {
	d, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	f := newFlows(t)
	d.Bind(f.t)
	var alerts []unirec.Record
	emit := func(a unirec.Record) error { alerts = append(alerts, a.Clone()); return nil }
	victim := v4(192, 0, 2, 1)
	const t0 = 1700000040 // a whole minute
	for m := uint32(0); m < 20; m++ {
		for s := range 5 {
			d.Process(f.set(victim, v4(10, byte(s), 0, 1), 120_000, t0+m*60+uint32(s), t0+m*60+uint32(s)+1), emit)
		}
		if m == 5 || m == 6 {
			for s := range 30 {
				d.Process(f.set(victim, v4(172, 16, byte(s), 1), 10_000_000/30, t0+m*60+10, t0+m*60+20+uint32(s)), emit)
			}
		}
	}
	if err := d.Finish(emit); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	a := alerts[0]
	get := func(name string) uint64 {
		id, _ := a.T.Lookup(name)
		switch a.T.Field(id).Type {
		case unirec.Uint32:
			return uint64(a.Uint32(id))
		case unirec.Uint16:
			return uint64(a.Uint16(id))
		case unirec.TimeT:
			return uint64(a.Time(id).Sec())
		}
		return a.Uint64(id)
	}
	if get("AVG_BYTES_ORIGINAL") != 600_000/60 || get("AVG_IP_CNT_ORIGINAL") != 5 || get("TIME_FIRST") != t0+5*60 ||
		get("EVENT_ID") != 1<<32|0xC0000201 || get("EVENT_SEQ") != 0 || get("AVG_IP_CNT_CURRENT") != 35 {
		t.Fatalf("alert %s", a.AppendText(nil, ','))
	}
}

// IPv6 destinations are counted and skipped; one million destinations
// stay within the cap, the evictions counted.
func TestSkipsAndCap(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRecords = 1000
	d, _ := New(cfg)
	f := newFlows(t)
	d.Bind(f.t)
	emit := func(unirec.Record) error { return nil }
	six, _ := unirec.ParseIP("2001:db8::1")
	d.Process(f.set(six, v4(10, 0, 0, 1), 1000, 1700000000, 1700000001), emit)
	const n = 1_000_000
	for i := range n {
		d.Process(f.set(v4(10, byte(i>>16), byte(i>>8), byte(i)), v4(10, 0, 0, 1), 1_000_000, 1700000000, 1700000001), emit)
	}
	s := d.Stats()
	if s.IPv6Skipped != 1 || s.Entries != 1000 || s.Evicted != n-1000 {
		t.Fatalf("stats %+v", s)
	}
	d.Finish(emit)
	if s := d.Stats(); s.Records != n+1 {
		t.Fatalf("records %d after Finish, want %d", s.Records, n+1)
	}
}

func BenchmarkProcess(b *testing.B) {
	d, _ := New(DefaultConfig())
	f := newFlows(b)
	d.Bind(f.t)
	// 4096 destinations, 256 source /24s, 8 flows a second.
	const n = 1 << 16
	recs := make([]unirec.Record, n)
	for i := range recs {
		recs[i] = f.set(v4(192, 168, byte(i>>8&15), byte(i)), v4(10, byte(i%256), byte(i>>3), 1), uint64(500+i%100000), 0, 0).Clone()
	}
	emit := func(unirec.Record) error { return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := recs[i%n]
		t := uint32(1700000000 + i/8)
		r.SetTime(f.first, unirec.TimeFromSecMsec(t-uint32(i%30), 0))
		r.SetTime(f.last, unirec.TimeFromSecMsec(t, 0))
		d.Process(r, emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
