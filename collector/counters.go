package collector

import (
	"sync/atomic"
	"unsafe"
)

// Counters are plain atomic counters; a metrics layer reads them with Load
// at any time, concurrently with decoding.
type Counters struct {
	Packets      atomic.Uint64 // messages handed to the decoder
	Records      atomic.Uint64 // flow records emitted to the sink
	DecodeErrors atomic.Uint64 // messages (or sets) rejected as malformed
	// OptionsRecords counts decoded options data records (sampling, system init time, ...).
	OptionsRecords atomic.Uint64
	// TemplatesAdded counts new or changed (options) templates;
	// TemplateRefreshes identical re-announcements.
	TemplatesAdded     atomic.Uint64
	TemplateRefreshes  atomic.Uint64
	TemplatesWithdrawn atomic.Uint64 // IPFIX withdrawals (each template removed counts)
	TemplatesExpired   atomic.Uint64 // UDP templates older than the template lifetime
	// MissingTemplate counts data sets whose template is unknown (arrived
	// before their template or after it expired); their records are dropped.
	MissingTemplate atomic.Uint64
	// SequenceErrors counts messages whose sequence number was not the
	// expected one; SequenceLost the units missed by forward gaps
	// (v5 and IPFIX: flow records; v9: export packets, the unit of its
	// sequence number). Backward jumps (exporter restart) only count as errors.
	SequenceErrors atomic.Uint64
	SequenceLost   atomic.Uint64
	// ExportersRefused counts messages from a new exporter address dropped
	// because the decoder already tracks MaxExporters (decoder-wide only).
	ExportersRefused atomic.Uint64
	// ExportersEvicted counts exporters forgotten after being idle for the
	// template lifetime while the table was full (decoder-wide only).
	ExportersEvicted atomic.Uint64

	lastSeen atomic.Int64 // Unix ns of the exporter's last message
}

// CountersSnapshot is a plain copy of Counters.
type CountersSnapshot struct {
	Packets, Records, DecodeErrors, OptionsRecords                          uint64
	TemplatesAdded, TemplateRefreshes, TemplatesWithdrawn, TemplatesExpired uint64
	MissingTemplate, SequenceErrors, SequenceLost                           uint64
	ExportersRefused, ExportersEvicted                                      uint64
}

// Snapshot copies the current values.
func (c *Counters) Snapshot() CountersSnapshot {
	return CountersSnapshot{
		Packets: c.Packets.Load(), Records: c.Records.Load(), DecodeErrors: c.DecodeErrors.Load(),
		OptionsRecords: c.OptionsRecords.Load(), TemplatesAdded: c.TemplatesAdded.Load(),
		TemplateRefreshes: c.TemplateRefreshes.Load(), TemplatesWithdrawn: c.TemplatesWithdrawn.Load(),
		TemplatesExpired: c.TemplatesExpired.Load(), MissingTemplate: c.MissingTemplate.Load(),
		SequenceErrors: c.SequenceErrors.Load(), SequenceLost: c.SequenceLost.Load(),
		ExportersRefused: c.ExportersRefused.Load(), ExportersEvicted: c.ExportersEvicted.Load(),
	}
}

// pair updates the per-exporter, the per-series (exporter address,
// version, domain) and the decoder-wide counters together; ser is nil until
// the message's header is known.
type pair struct{ exp, ser, all *Counters }

// add adds n to the counter that field selects, in each set of counters.
func (p pair) add(field counterField, n uint64) {
	field.of(p.exp).Add(n)
	field.of(p.all).Add(n)
	if p.ser != nil {
		field.of(p.ser).Add(n)
	}
}

// counterField selects one counter of Counters for pair.add: its offset in
// the struct, so that add (inlined) updates it directly.
type counterField uintptr

// of returns the counter f selects in c.
func (f counterField) of(c *Counters) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(c), f))
}

// Counter selectors for pair.add.
const (
	ctrDecodeErrors       = counterField(unsafe.Offsetof(Counters{}.DecodeErrors))
	ctrMissingTemplate    = counterField(unsafe.Offsetof(Counters{}.MissingTemplate))
	ctrOptionsRecords     = counterField(unsafe.Offsetof(Counters{}.OptionsRecords))
	ctrRecords            = counterField(unsafe.Offsetof(Counters{}.Records))
	ctrSequenceErrors     = counterField(unsafe.Offsetof(Counters{}.SequenceErrors))
	ctrSequenceLost       = counterField(unsafe.Offsetof(Counters{}.SequenceLost))
	ctrTemplateRefreshes  = counterField(unsafe.Offsetof(Counters{}.TemplateRefreshes))
	ctrTemplatesAdded     = counterField(unsafe.Offsetof(Counters{}.TemplatesAdded))
	ctrTemplatesExpired   = counterField(unsafe.Offsetof(Counters{}.TemplatesExpired))
	ctrTemplatesWithdrawn = counterField(unsafe.Offsetof(Counters{}.TemplatesWithdrawn))
)
