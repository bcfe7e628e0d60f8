package collector

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// A flood of new exporter addresses (spoofed sources) cannot grow the
// decoder's state past MaxExporters: while every exporter is active, new
// addresses are refused and counted; once some have been idle for the
// template lifetime, they are forgotten and new ones get their place.
func TestExporterTableIsBounded(t *testing.T) {
	now := time.Unix(1700000000, 0)
	d, sink := newTestDecoder(t, Config{MaxExporters: 3, TemplateLifetime: time.Minute, Now: func() time.Time { return now }})
	// A template and one data record in one message.
	msg := ipfixMsg(1700000000, 0, 1,
		mkSet(2, ipfixTemplate(300, Field{ID: 8, Length: 4}, Field{ID: 2, Length: 8})),
		mkSet(300, be32(0x0a000001), be64(7)))
	from := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 4739)
	}
	for i := 1; i <= 3; i++ {
		if err := d.Decode(from(i), msg); err != nil {
			t.Fatalf("exporter %d: %v", i, err)
		}
	}
	// Full, nobody idle: refused, the others keep working.
	now = now.Add(2 * time.Second)
	if err := d.Decode(from(4), msg); !errors.Is(err, ErrTooManyExporters) {
		t.Fatalf("4th exporter: err = %v, want ErrTooManyExporters", err)
	}
	if err := d.Decode(from(1), msg); err != nil {
		t.Fatalf("known exporter after a refusal: %v", err)
	}
	if got := d.Totals().ExportersRefused.Load(); got != 1 {
		t.Errorf("ExportersRefused = %d, want 1", got)
	}
	// Exporters 2 and 3 go quiet for longer than the template lifetime;
	// exporter 1 keeps sending.
	now = now.Add(50 * time.Second)
	if err := d.Decode(from(1), msg); err != nil {
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second)
	if err := d.Decode(from(4), msg); err != nil {
		t.Fatalf("4th exporter after 2 and 3 went idle: %v", err)
	}
	if got := d.Totals().ExportersEvicted.Load(); got != 2 {
		t.Errorf("ExportersEvicted = %d, want 2", got)
	}
	seen := map[netip.Addr]bool{}
	d.Exporters(func(a netip.Addr, _ *Counters) { seen[a] = true })
	if len(seen) != 2 || !seen[from(1).Addr()] || !seen[from(4).Addr()] {
		t.Errorf("exporters tracked: %v, want 198.51.100.1 and .4", seen)
	}
	d.mu.Lock()
	for k := range d.sessions {
		if k.addr == from(2).Addr() || k.addr == from(3).Addr() {
			t.Errorf("session of evicted exporter %v kept", k.addr)
		}
	}
	d.mu.Unlock()
	if len(sink.recs) != 6 {
		t.Errorf("%d records decoded, want 6 (every accepted message)", len(sink.recs))
	}
	// A second new address within the same second does not search again.
	if err := d.Decode(from(5), msg); err != nil {
		t.Fatalf("5th exporter with room: %v", err)
	}
	if err := d.Decode(from(6), msg); !errors.Is(err, ErrTooManyExporters) {
		t.Errorf("6th exporter: err = %v, want ErrTooManyExporters", err)
	}
}

// v5, v9 and IPFIX from one host, and two IPFIX observation domains, are
// separate series; a message whose header cannot be read counts in the
// address's version-0 series.
func TestExporterSeriesByVersionAndDomain(t *testing.T) {
	d, _ := newTestDecoder(t, Config{})
	host := netip.MustParseAddrPort("192.0.2.5:9995")
	tmpl := mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4}))
	rec := make([]byte, v5RecordLen)
	msgs := [][]byte{
		ipfixMsg(1, 0, 7, tmpl, mkSet(300, be32(1)), mkSet(300, be32(2))),
		ipfixMsg(1, 0, 8, tmpl, mkSet(300, be32(1))),
		v9Msg(1, 0, 1, 0, 7, mkSet(0, cat(be16(256), be16(1), be16(2), be16(4))), mkSet(256, be32(3))),
		cat(be16(5), be16(1), be32(0), be32(1), be32(0), be32(0), []byte{1, 2}, be16(0), rec),
		[]byte("garbage"),
	}
	for _, m := range msgs {
		_ = d.Decode(host, m)
	}
	type row struct{ packets, records, errors, templates uint64 }
	got := map[ExporterKey]row{}
	d.ExporterSeries(func(k ExporterKey, c *Counters) {
		s := c.Snapshot()
		got[k] = row{s.Packets, s.Records, s.DecodeErrors, s.TemplatesAdded}
	})
	a := host.Addr()
	want := map[ExporterKey]row{
		{a, 10, 7}:       {1, 2, 0, 1},
		{a, 10, 8}:       {1, 1, 0, 1},
		{a, 9, 7}:        {1, 1, 0, 1},
		{a, 5, 1<<8 | 2}: {1, 1, 0, 0},
		{a, 0, 0}:        {1, 0, 1, 0},
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("series %+v: %+v, want %+v", k, got[k], w)
		}
	}
	var all CountersSnapshot
	d.Exporters(func(_ netip.Addr, c *Counters) { all = c.Snapshot() })
	if all.Packets != 5 || all.Records != 5 || all.DecodeErrors != 1 {
		t.Errorf("address counters %+v, want 5 packets, 5 records, 1 error", all)
	}
}
