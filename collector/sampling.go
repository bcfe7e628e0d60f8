package collector

import (
	"fmt"
	"net/netip"
	"slices"
)

// Sampling configures the packet sampling interval the collector assumes
// for exporters, for those that never send an options template with their
// interval or whose options and data arrive from different source ports
// (and so land in different sessions of some collectors; ours keys
// sessions by address, but the interval may still never be announced).
//
// The interval an exporter announces itself (options data, the v5 header)
// wins, unless Override is set: then a configured interval that matches
// the exporter replaces every announcement, per-sampler ones included.
type Sampling struct {
	// Default is the interval of exporters no prefix matches; 0 means none.
	Default uint64
	// Exporters maps an exporter address or prefix to its interval; the
	// longest matching prefix wins.
	Exporters map[netip.Prefix]uint64
	// Override makes the configured interval win over the exporter's own.
	Override bool
}

// samplingTable is Sampling compiled for lookups: prefixes longest first.
type samplingTable struct {
	def      uint64
	rules    []samplingRule
	override bool
}

type samplingRule struct {
	prefix netip.Prefix
	rate   uint64
}

func compileSampling(s Sampling) (*samplingTable, error) {
	t := &samplingTable{def: s.Default, override: s.Override}
	for p, r := range s.Exporters {
		if !p.IsValid() {
			return nil, fmt.Errorf("collector: sampling exporter prefix %v is invalid", p)
		}
		if r == 0 {
			return nil, fmt.Errorf("collector: sampling interval of %v is 0 (1 means unsampled)", p)
		}
		t.rules = append(t.rules, samplingRule{prefix: p.Masked(), rate: r})
	}
	slices.SortFunc(t.rules, func(a, b samplingRule) int {
		if a.prefix.Bits() != b.prefix.Bits() {
			return b.prefix.Bits() - a.prefix.Bits()
		}
		return a.prefix.Addr().Compare(b.prefix.Addr())
	})
	for i := 1; i < len(t.rules); i++ {
		if t.rules[i].prefix == t.rules[i-1].prefix {
			return nil, fmt.Errorf("collector: sampling exporter prefix %v is given twice", t.rules[i].prefix)
		}
	}
	return t, nil
}

// lookup returns the configured interval for addr (0 when none applies):
// the longest matching prefix, else the default. IPv4-mapped IPv6
// addresses match IPv4 prefixes.
func (t *samplingTable) lookup(addr netip.Addr) uint64 {
	if t == nil {
		return 0
	}
	addr = addr.Unmap()
	for _, r := range t.rules {
		if r.prefix.Contains(addr) {
			return r.rate
		}
	}
	return t.def
}

// applySampling sets the multipliers of ctx for one data set of session s:
// the exporter's announced interval (and per-sampler intervals) unless the
// configuration overrides it, the configured one when nothing is announced.
func (d *Decoder) applySampling(s *session, ctx *msgCtx) {
	ctx.base, ctx.samplers = 1, nil
	if !d.cfg.ApplySampling {
		return
	}
	rate := s.sampling
	if s.configured > 0 && d.sampling.override {
		rate = s.configured
	} else {
		ctx.samplers = s.samplers
		if rate == 0 {
			rate = s.configured
		}
	}
	if rate > 1 {
		ctx.base = rate
	}
}
