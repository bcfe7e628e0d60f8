package haddrscan

import (
	"strings"
	"testing"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

type harness struct {
	t      testing.TB
	d      *Detector
	rec    unirec.Record
	alerts []string
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	d, err := New(cfg, &detectors.FlowClock{})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := unirec.ParseTemplate(InputSpec + ",uint16 SRC_PORT")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Bind(tm); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, d: d, rec: tm.NewRecord()}
}

// syn feeds one single-packet SYN flow at second ts.
func (h *harness) syn(src, dst string, port uint16, ts uint32) {
	h.t.Helper()
	s, _ := unirec.ParseIP(src)
	dd, _ := unirec.ParseIP(dst)
	r, f := h.rec, h.d.in
	r.SetIP(f.srcIP, s)
	r.SetIP(f.dstIP, dd)
	r.SetUint16(f.dstPort, port)
	r.SetUint32(f.packets, 1)
	r.SetUint8(f.proto, 6)
	r.SetUint8(f.flags, 2)
	r.SetTime(f.timeFirst, unirec.TimeFromSecMsec(ts, 0))
	r.SetTime(f.timeLast, unirec.TimeFromSecMsec(ts, 0))
	if err := h.d.Process(r, func(a unirec.Record) error { h.alerts = append(h.alerts, string(a.AppendText(nil, ','))); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

func host(i int) string { return unirec.IPv4([4]byte{10, 0, byte(i >> 8), byte(i)}).String() }

func TestThresholdAndRepeats(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Threshold = 3
	h := newHarness(t, cfg)
	h.syn("1.1.1.1", "10.0.0.1", 22, 100)
	h.syn("1.1.1.1", "10.0.0.1", 22, 101) // repeat: not counted
	h.syn("1.1.1.1", "10.0.0.2", 23, 101) // other port: other key
	h.syn("1.1.1.1", "10.0.0.2", 22, 102)
	h.syn("1.1.1.1", "10.0.0.3", 22, 103)
	want := "10.0.0.1,10.0.0.2,10.0.0.3,::,1.1.1.1,1970-01-01T00:01:40.000000,1970-01-01T00:01:43.000000,3,3,22,1,6"
	if len(h.alerts) != 1 || h.alerts[0] != want {
		t.Fatalf("alerts %q, want %q", h.alerts, want)
	}
}

// Above 255 the C module's 8-bit counter wraps; ours alerts.
func TestWideCounter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Threshold = 300
	h := newHarness(t, cfg)
	for i := range 300 {
		h.syn("1.1.1.1", host(i), 80, 100)
	}
	if len(h.alerts) != 1 || !strings.Contains(h.alerts[0], ",300,300,80,") {
		t.Fatalf("alerts %q", h.alerts)
	}
}

// With the flow clock, idle keys are pruned in (port, source) order; an
// alerted key sends a trailing alert with what it gathered since, and an
// empty one only with EmptyTrailing.
func TestTrailingAlerts(t *testing.T) {
	for _, empty := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Threshold = 2
		cfg.EmptyTrailing = empty
		h := newHarness(t, cfg)
		h.syn("9.9.9.9", "10.0.0.1", 443, 100)
		h.syn("9.9.9.9", "10.0.0.2", 443, 100) // alert
		h.syn("9.9.9.9", "10.0.0.3", 443, 101) // pending
		h.syn("8.8.8.8", "10.0.0.1", 22, 100)
		h.syn("8.8.8.8", "10.0.0.2", 22, 100) // alert, nothing pending
		h.syn("7.7.7.7", "10.0.0.1", 22, 100) // never alerted: silent
		h.syn("1.2.3.4", "10.0.0.9", 1, 500)  // 400 s later: prune
		got := strings.Join(h.alerts[2:], "\n")
		want := "10.0.0.3,::,::,::,9.9.9.9,1970-01-01T00:01:41.000000,1970-01-01T00:01:41.000000,1,2,443,1,6"
		if empty {
			want = "0.0.0.0,0.0.0.0,0.0.0.0,0.0.0.0,8.8.8.8,1970-01-01T00:01:40.000000,1970-01-01T00:01:40.000000,0,2,22,1,6\n" + want
		}
		if got != want {
			t.Fatalf("empty %v: trailing\n%s\nwant\n%s", empty, got, want)
		}
		if st := h.d.Stats(); st.Expired != 3 || st.Entries != 1 {
			t.Fatalf("stats %+v", st)
		}
	}
}

func TestCapAndIPv6Counted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 100
	h := newHarness(t, cfg)
	for i := range 1000 {
		h.syn(host(i), "10.1.1.1", 22, 100)
	}
	h.syn("2001:db8::1", "10.1.1.1", 22, 100)
	if st := h.d.Stats(); st.Entries != 100 || st.Evicted != 900 || st.IPv6Skipped != 1 || st.Records != 1001 {
		t.Fatalf("stats %+v", st)
	}
}

func BenchmarkProcess(b *testing.B) {
	h := newHarness(b, DefaultConfig())
	recs := make([]unirec.Record, 4096)
	for i := range recs {
		h.rec = h.rec.T.NewRecord()
		h.syn(host(i%512), host(i), uint16(i%7), uint32(1000+i/64))
		if i%3 == 0 {
			h.rec.SetUint32(h.d.in.packets, 12)
		}
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
