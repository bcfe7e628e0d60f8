package collector

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// The sampling overrides of acceptance 2: an exporter that announces no
// interval gets the configured one, an announced interval wins unless
// override is set, and the longest matching prefix decides.
func TestSamplingOverrides(t *testing.T) {
	cfg := Sampling{
		Default: 7,
		Exporters: map[netip.Prefix]uint64{
			netip.MustParsePrefix("192.0.2.1/32"):  1000,
			netip.MustParsePrefix("192.0.2.0/24"):  512,
			netip.MustParsePrefix("2001:db8::/32"): 64,
		},
	}
	// IPFIX data only: one record with packetDeltaCount 3.
	plain := ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4})), mkSet(300, be32(3)))
	// The same, after options data announcing samplingPacketInterval 10.
	announced := ipfixMsg(1, 0, 1,
		mkSet(3, ipfixOptionsTemplate(400, 1, Field{ID: 149, Length: 4}, Field{ID: 305, Length: 4})),
		mkSet(400, be32(1), be32(10)),
		mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4})), mkSet(300, be32(3)))
	// NetFlow v5 with one record of 3 packets, header sampling field given.
	v5 := func(sampling uint16) []byte {
		rec := make([]byte, v5RecordLen)
		copy(rec[16:], be32(3))
		return cat(be16(5), be16(1), be32(0), be32(1), be32(0), be32(0), []byte{0, 0}, be16(sampling), rec)
	}
	tests := []struct {
		name     string
		from     string
		msg      []byte
		override bool
		want     uint32
	}{
		{"no options template: the exporter's own entry", "192.0.2.1:4739", plain, false, 3000},
		{"no options template: the longest prefix wins over a shorter one", "192.0.2.77:4739", plain, false, 1536},
		{"no options template: IPv6 prefix", "[2001:db8::9]:4739", plain, false, 192},
		{"no options template, no prefix: the default", "198.51.100.1:4739", plain, false, 21},
		{"announced interval wins over the configured one", "192.0.2.1:4739", announced, false, 30},
		{"override: the configured interval wins", "192.0.2.1:4739", announced, true, 3000},
		{"override by prefix", "192.0.2.9:4739", announced, true, 1536},
		{"v5 header interval wins", "192.0.2.1:2055", v5(0x4000 | 20), false, 60},
		{"v5 without an interval: configured", "192.0.2.1:2055", v5(0), false, 3000},
		{"v5 override", "192.0.2.1:2055", v5(20), true, 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Override = tc.override
			d, s := newTestDecoder(t, Config{ApplySampling: true, Sampling: c})
			if err := d.Decode(netip.MustParseAddrPort(tc.from), tc.msg); err != nil {
				t.Fatal(err)
			}
			if len(s.recs) != 1 {
				t.Fatalf("%d records, want 1", len(s.recs))
			}
			r := s.recs[0]
			if got := r.Uint32(field(r, "PACKETS")); got != tc.want {
				t.Errorf("PACKETS %d, want %d", got, tc.want)
			}
		})
	}
}

// Configured intervals are not applied when sampling is switched off.
func TestSamplingOverridesNeedApplySampling(t *testing.T) {
	d, s := newTestDecoder(t, Config{Sampling: Sampling{Default: 100, Override: true}})
	msg := ipfixMsg(1, 0, 1, mkSet(2, ipfixTemplate(300, Field{ID: 2, Length: 4})), mkSet(300, be32(3)))
	if err := d.Decode(exporterA, msg); err != nil {
		t.Fatal(err)
	}
	if r := s.recs[0]; r.Uint32(field(r, "PACKETS")) != 3 {
		t.Errorf("PACKETS %d, want 3", r.Uint32(field(r, "PACKETS")))
	}
}

func TestSamplingConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Sampling
		want string
	}{
		{"zero interval", Sampling{Exporters: map[netip.Prefix]uint64{netip.MustParsePrefix("192.0.2.0/24"): 0}}, "is 0"},
		{"same prefix twice", Sampling{Exporters: map[netip.Prefix]uint64{
			netip.MustParsePrefix("192.0.2.0/24"): 1, netip.MustParsePrefix("192.0.2.1/24"): 2}}, "twice"},
		{"invalid prefix", Sampling{Exporters: map[netip.Prefix]uint64{{}: 1}}, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := unirec.ParseTemplate(fullTemplate)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewDecoder(Config{Output: tmpl, Sampling: tc.cfg}, SinkFunc(func(Exporter, unirec.Record) {}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
