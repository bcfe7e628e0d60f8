package config

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowgate/flowgate/collector"
)

// SamplingConfig is a collector's sampling: section.
type SamplingConfig struct {
	// Default is the interval of exporters no entry matches; 0 = none.
	Default uint64 `mapstructure:"default"`
	// Exporters maps an address ("192.0.2.1") or prefix ("192.0.2.0/24")
	// to its interval; the longest matching prefix wins.
	Exporters map[string]uint64 `mapstructure:"exporters"`
	// Override makes the configured interval win over the one the
	// exporter announces (options data, v5 header).
	Override bool `mapstructure:"override"`
}

// Collector returns the section as the collector's Sampling; the source
// must have been validated (every key parses).
func (s *SamplingConfig) Collector() collector.Sampling {
	if s == nil {
		return collector.Sampling{}
	}
	out := collector.Sampling{Default: s.Default, Override: s.Override}
	for k, v := range s.Exporters {
		p, err := parseExporterPrefix(k)
		if err != nil {
			continue // rejected by Validate
		}
		if out.Exporters == nil {
			out.Exporters = make(map[netip.Prefix]uint64)
		}
		out.Exporters[p] = v
	}
	return out
}

// parseExporterPrefix reads an address (a host prefix) or a prefix.
func parseExporterPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (s *SamplingConfig) validate(key string) []error {
	if s == nil {
		return nil
	}
	var errs []error
	seen := map[netip.Prefix]string{}
	names := slices.Sorted(maps.Keys(s.Exporters))
	for _, k := range names {
		p, err := parseExporterPrefix(k)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.exporters: %q is not an address or prefix (192.0.2.1, 192.0.2.0/24, 2001:db8::/32)", key, k))
			continue
		}
		if prev, ok := seen[p]; ok {
			errs = append(errs, fmt.Errorf("%s.exporters: %q and %q are the same prefix %v", key, prev, k, p))
		}
		seen[p] = k
		if s.Exporters[k] == 0 {
			errs = append(errs, fmt.Errorf("%s.exporters.%s: the interval is 0; 1 means unsampled", key, k))
		}
	}
	return errs
}
