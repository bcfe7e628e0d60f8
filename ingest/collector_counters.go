package ingest

import (
	"net/netip"
	"sync/atomic"

	"github.com/flowgate/flowgate/collector"
)

// counterBase carries a collector's exporter counters across a Retarget
// that drops the decoder they were read from (decs[0], whose target went):
// what that decoder had counted beyond the decoder that takes its place,
// per series, per exporter address and in all. The arithmetic is modulo
// 2^64, so base + the new decoder's counters is exactly what the dropped
// decoder would show had it gone on.
type counterBase struct {
	total collector.CountersSnapshot
	exp   map[netip.Addr]collector.CountersSnapshot
	ser   map[collector.ExporterKey]collector.CountersSnapshot
}

// rebase returns the base that makes next report on from where prev (with
// base b, nil for none) was. Both decoders must be idle (the readers are
// held: Retarget).
func rebase(b *counterBase, prev, next *collector.Decoder) *counterBase {
	nb := &counterBase{exp: map[netip.Addr]collector.CountersSnapshot{}, ser: map[collector.ExporterKey]collector.CountersSnapshot{}}
	if b == nil {
		b = &counterBase{}
	}
	nb.total = snapAdd(b.total, snapSub(prev.Totals().Snapshot(), next.Totals().Snapshot()))
	nextExp := map[netip.Addr]collector.CountersSnapshot{}
	next.Exporters(func(a netip.Addr, c *collector.Counters) { nextExp[a] = c.Snapshot() })
	prev.Exporters(func(a netip.Addr, c *collector.Counters) {
		nb.exp[a] = snapAdd(b.exp[a], snapSub(c.Snapshot(), nextExp[a]))
	})
	nextSer := map[collector.ExporterKey]collector.CountersSnapshot{}
	next.ExporterSeries(func(k collector.ExporterKey, c *collector.Counters) { nextSer[k] = c.Snapshot() })
	prev.ExporterSeries(func(k collector.ExporterKey, c *collector.Counters) {
		nb.ser[k] = snapAdd(b.ser[k], snapSub(c.Snapshot(), nextSer[k]))
	})
	return nb
}

// withBase returns c plus base as counters of their own (for reading).
func withBase(c *collector.Counters, base collector.CountersSnapshot) *collector.Counters {
	s := snapAdd(c.Snapshot(), base)
	var out collector.Counters
	for _, f := range []struct {
		dst *atomic.Uint64
		v   uint64
	}{
		{&out.Packets, s.Packets}, {&out.Records, s.Records}, {&out.DecodeErrors, s.DecodeErrors},
		{&out.OptionsRecords, s.OptionsRecords}, {&out.TemplatesAdded, s.TemplatesAdded},
		{&out.TemplateRefreshes, s.TemplateRefreshes}, {&out.TemplatesWithdrawn, s.TemplatesWithdrawn},
		{&out.TemplatesExpired, s.TemplatesExpired}, {&out.MissingTemplate, s.MissingTemplate},
		{&out.SequenceErrors, s.SequenceErrors}, {&out.SequenceLost, s.SequenceLost},
		{&out.ExportersRefused, s.ExportersRefused}, {&out.ExportersEvicted, s.ExportersEvicted},
	} {
		f.dst.Store(f.v)
	}
	return &out
}

// snapAdd and snapSub add and subtract counter snapshots field by field
// (modulo 2^64).
func snapAdd(a, b collector.CountersSnapshot) collector.CountersSnapshot {
	return snapOp(a, b, func(x, y uint64) uint64 { return x + y })
}

func snapSub(a, b collector.CountersSnapshot) collector.CountersSnapshot {
	return snapOp(a, b, func(x, y uint64) uint64 { return x - y })
}

func snapOp(a, b collector.CountersSnapshot, op func(x, y uint64) uint64) collector.CountersSnapshot {
	return collector.CountersSnapshot{
		Packets: op(a.Packets, b.Packets), Records: op(a.Records, b.Records), DecodeErrors: op(a.DecodeErrors, b.DecodeErrors),
		OptionsRecords: op(a.OptionsRecords, b.OptionsRecords), TemplatesAdded: op(a.TemplatesAdded, b.TemplatesAdded),
		TemplateRefreshes: op(a.TemplateRefreshes, b.TemplateRefreshes), TemplatesWithdrawn: op(a.TemplatesWithdrawn, b.TemplatesWithdrawn),
		TemplatesExpired: op(a.TemplatesExpired, b.TemplatesExpired), MissingTemplate: op(a.MissingTemplate, b.MissingTemplate),
		SequenceErrors: op(a.SequenceErrors, b.SequenceErrors), SequenceLost: op(a.SequenceLost, b.SequenceLost),
		ExportersRefused: op(a.ExportersRefused, b.ExportersRefused), ExportersEvicted: op(a.ExportersEvicted, b.ExportersEvicted),
	}
}
