package bruteforce

import (
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// flows builds records of the detector's input template.
type flows struct {
	t   *unirec.Template
	rec unirec.Record
	id  struct{ src, dst, sport, dport, proto, packets, bytes, last, flags unirec.FieldID }
}

func newFlows(t testing.TB) *flows {
	tm, err := unirec.ParseTemplate(InputSpec)
	if err != nil {
		t.Fatal(err)
	}
	f := &flows{t: tm, rec: tm.NewRecord()}
	i := &f.id
	for name, p := range map[string]*unirec.FieldID{"SRC_IP": &i.src, "DST_IP": &i.dst, "SRC_PORT": &i.sport, "DST_PORT": &i.dport,
		"PROTOCOL": &i.proto, "PACKETS": &i.packets, "BYTES": &i.bytes, "TIME_LAST": &i.last, "TCP_FLAGS": &i.flags} {
		*p, _ = tm.Lookup(name)
	}
	return f
}

func (f *flows) set(src, dst unirec.IP, sport, dport uint16, packets uint32, bytes uint64, last unirec.Time, flags uint8) unirec.Record {
	r, i := f.rec, &f.id
	r.SetIP(i.src, src)
	r.SetIP(i.dst, dst)
	r.SetUint16(i.sport, sport)
	r.SetUint16(i.dport, dport)
	r.SetUint8(i.proto, 6)
	r.SetUint32(i.packets, packets)
	r.SetUint64(i.bytes, bytes)
	r.SetTime(i.last, last)
	r.SetUint8(i.flags, flags)
	return r
}

func collect(out *[]string) func(unirec.Record) error {
	return func(a unirec.Record) error {
		*out = append(*out, string(a.AppendText(nil, ',')))
		return nil
	}
}

func sshOnly(max int) Options {
	o := DefaultOptions()
	o.Protocols[SSH] = true
	if max > 0 {
		o.MaxHosts = max
	}
	return o
}

// The synthetic scenario of detectors.md §4.12: 30 matching flows from A
// to V:22 give one alert, on the 30th flow.
func TestThirtyAttemptsOneAlert(t *testing.T) {
	d, err := New(DefaultConfig(), sshOnly(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFlows(t)
	if err := d.Bind(f.t); err != nil {
		t.Fatal(err)
	}
	a, v := ip(t, "198.51.100.7"), ip(t, "192.0.2.10")
	var got []string
	for i := range 30 {
		now := unirec.TimeFromSecMsec(1700000000+uint32(i)*5, 0)
		if err := d.Process(f.set(a, v, 40000, 22, 15, 2000, now, 0x1B), collect(&got)); err != nil {
			t.Fatal(err)
		}
		if i < 29 && len(got) != 0 {
			t.Fatalf("alert after %d flows: %v", i+1, got)
		}
	}
	want := `198.51.100.7,2023-11-14T22:15:45.000000,30,22,6,2,"I:192.0.2.10,O:"`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("alerts %q, want [%s]", got, want)
	}
}

// One million distinct attackers stay within the host cap; the evictions
// are counted.
func TestHostTableCapped(t *testing.T) {
	const hosts, max = 1_000_000, 1000
	d, err := New(DefaultConfig(), sshOnly(max), nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newFlows(t)
	d.Bind(f.t)
	v := ip(t, "192.0.2.10")
	emit := func(unirec.Record) error { return nil }
	for i := range hosts {
		a := unirec.IPv4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		d.Process(f.set(a, v, 40000, 22, 15, 2000, unirec.TimeFromSecMsec(1700000000, 0), 0x1B), emit)
	}
	s := d.Stats()
	if s.Entries != max || s.Evicted != hosts-max {
		t.Fatalf("entries %d evicted %d, want %d and %d", s.Entries, s.Evicted, max, hosts-max)
	}
}

// The records all hosts hold stay under MaxRecords: the longest idle
// hosts are evicted, counted.
func TestRecordsCapped(t *testing.T) {
	o := sshOnly(0)
	o.MaxRecords = 1000
	d, _ := New(DefaultConfig(), o, nil)
	f := newFlows(t)
	d.Bind(f.t)
	v := ip(t, "192.0.2.10")
	emit := func(unirec.Record) error { return nil }
	for i := range 100_000 {
		a := unirec.IPv4([4]byte{10, 0, byte(i >> 8 & 3), byte(i)}) // 1024 attackers, ~100 flows each
		d.Process(f.set(a, v, 40000, 22, 15, 2000, unirec.TimeFromSecMsec(1700000000+uint32(i/100), 0), 0x1B), emit)
		if d.stored > o.MaxRecords {
			t.Fatalf("flow %d: %d records held", i, d.stored)
		}
	}
	s := d.Stats()
	if s.Evicted == 0 || s.Extra["records"] > 1000 || s.Extra["records"] < 800 {
		t.Fatalf("stats %+v", s)
	}
}

// Telnet outgoing flows are judged against the server's profile: once 15
// flows of 6+ packets are seen, a flow at most median+5 packets and
// median+500 bytes matches.
func TestTelnetProfile(t *testing.T) {
	p := newTelnetProfiles(10)
	srv := ip(t, "192.0.2.23")
	for i := range profileSize - 1 {
		if p.match(srv, 10, 1000) {
			t.Fatalf("matched before the profile was complete (flow %d)", i+1)
		}
	}
	if p.match(srv, 5, 100) {
		t.Fatal("a flow under 6 packets matched")
	}
	if !p.match(srv, 10, 1000) { // the 15th: profiled, 10 <= 15 and 1000 <= 1500
		t.Fatal("15th flow did not match")
	}
	if p.match(srv, 16, 1000) || p.match(srv, 10, 1501) {
		t.Fatal("flow above the limits matched")
	}
}

// The profile counter is C's 16-bit global: after the first profile's
// learning it passes 10, and a profile is recomputed from its last 15
// flows only when the counter wraps round to 10 again.
func TestTelnetProfileRecomputeAfterWrap(t *testing.T) {
	p := newTelnetProfiles(10)
	srv := ip(t, "192.0.2.23")
	for range profileSize {
		p.match(srv, 10, 1000) // limits 15 packets, 1500 bytes
	}
	for feed := profileSize + 1; feed <= 1<<16+profileRecompute; feed++ {
		got := p.match(srv, 100, 10000)
		if want := feed == 1<<16+profileRecompute; got != want {
			t.Fatalf("feed %d: matched %v, want %v", feed, got, want)
		}
	}
}

func TestIgnoreFirstSend(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IgnoreFirstSend = 1
	d, _ := New(cfg, sshOnly(0), nil)
	f := newFlows(t)
	d.Bind(f.t)
	a, v := ip(t, "198.51.100.7"), ip(t, "192.0.2.10")
	var got []string
	for i := range 40 {
		d.Process(f.set(a, v, 40000, 22, 15, 2000, unirec.TimeFromSecMsec(1700000000+uint32(i), 0), 0x1B), collect(&got))
	}
	if len(got) != 0 || d.Stats().Alerts != 0 {
		t.Fatalf("first report sent: %v", got)
	}
}

func BenchmarkProcess(b *testing.B) {
	o := DefaultOptions()
	o.Protocols = [numProtocols]bool{true, true, true}
	d, err := New(DefaultConfig(), o, nil)
	if err != nil {
		b.Fatal(err)
	}
	f := newFlows(b)
	d.Bind(f.t)
	// A mix like a border link: most flows are not logins; login flows
	// come from 4096 attackers to 64 servers, some matching.
	const n = 1 << 16
	recs := make([]unirec.Record, n)
	for i := range recs {
		a := unirec.IPv4([4]byte{198, 51, byte(i >> 8 & 15), byte(i)})
		v := unirec.IPv4([4]byte{192, 0, 2, byte(i % 64)})
		port := []uint16{443, 80, 22, 443, 3389, 53, 23, 443}[i%8]
		r := f.set(a, v, 40000, port, uint32(5+i%30), uint64(500+i%5000), unirec.TimeFromSecMsec(1700000000+uint32(i/8), 0), 0x1B)
		recs[i] = r.Clone()
	}
	emit := func(unirec.Record) error { return nil }
	for i := range n { // warm the tables
		d.Process(recs[i], emit)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		// Time moves on (8 flows a second) so that the periodic checks
		// and expiry run as in a live stream.
		r := recs[i%n]
		r.SetTime(f.id.last, unirec.TimeFromSecMsec(1700010000+uint32(i/8), 0))
		d.Process(r, emit)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func FuzzParseConfig(f *testing.F) {
	f.Add("SSH_LIST_SIZE = 200\n# c\nRDP_LIST_THRESHOLD=12\nGENERAL_ATTACK_MIN_RATIO_TO_KEEP_TRACKING_HOST = 1e3\n")
	f.Add("x\n=\nSSH_LIST_SIZE=\nSSH_LIST_SIZE=99999999999999999999\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, _ := ParseConfig(strings.NewReader(s), "fuzz")
		for p := range numProtocols {
			if c.Proto[p].ListSize == 0 {
				t.Fatal("LIST_SIZE 0 accepted")
			}
		}
	})
}

func FuzzParseWhitelist(f *testing.F) {
	for _, s := range []string{
		"1.2.3.4/32\nsrc 10.0.0.0/8/22,80-90\ndst 2001:db8::/32/3389\n",
		"src 1.2.3.4/32/80,53,100-200,50-120\n# c\n\nabc\n1.2.3.4/24/80-\n",
		"dst ::/0\n0.0.0.0/0/1,,2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		wl, _ := ParseWhitelist(strings.NewReader(s), "fuzz", nil)
		a, b := unirec.IPv4([4]byte{1, 2, 3, 4}), unirec.IPv6([16]byte{0x20, 1, 0xd, 0xb8})
		wl.Whitelisted(a, a, 80, 22)
		wl.Whitelisted(b, b, 80, 22)
		for _, sets := range [][2]prefixSet{wl.src, wl.dst} {
			for _, s := range sets {
				for _, ps := range s.m {
					for i := 1; i < len(ps.ranges); i++ {
						if ps.ranges[i-1].hi >= ps.ranges[i].lo {
							t.Fatalf("ranges overlap: %v", ps.ranges)
						}
					}
				}
			}
		}
	})
}
