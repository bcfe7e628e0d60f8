package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestCollectorSamplingSection(t *testing.T) {
	c, err := Load(writeFile(t, `
sources:
  - type: collector
    listen: [udp://127.0.0.1:2055]
    sampling:
      default: 10
      override: true
      exporters:
        "192.0.2.1": 1000
        "192.0.2.0/24": 512
        "2001:DB8::/32": 64
outputs:
  - ifc: 'b:'
`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Sources[0].SamplingOverrides.Collector()
	want := map[netip.Prefix]uint64{
		netip.MustParsePrefix("192.0.2.1/32"):  1000,
		netip.MustParsePrefix("192.0.2.0/24"):  512,
		netip.MustParsePrefix("2001:db8::/32"): 64,
	}
	if got.Default != 10 || !got.Override || len(got.Exporters) != len(want) {
		t.Fatalf("sampling = %+v", got)
	}
	for p, r := range want {
		if got.Exporters[p] != r {
			t.Errorf("exporters[%v] = %d, want %d", p, got.Exporters[p], r)
		}
	}
}

func TestCollectorSamplingErrors(t *testing.T) {
	for _, tc := range []struct{ name, exporters, want string }{
		{"not an address", `{"router-1": 100}`, `sources[0].sampling.exporters: "router-1" is not an address or prefix`},
		{"zero interval", `{"192.0.2.1": 0}`, "the interval is 0"},
		{"same prefix twice", `{"192.0.2.0/24": 1, "192.0.2.7/24": 2}`, "are the same prefix 192.0.2.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, "sources:\n  - type: collector\n    listen: [udp://:1]\n    sampling: {exporters: "+tc.exporters+"}\noutputs:\n  - ifc: 'b:'\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
