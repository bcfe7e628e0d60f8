package collector

import "sync/atomic"

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
func (p pair) add(field func(*Counters) *atomic.Uint64, n uint64) {
	field(p.exp).Add(n)
	field(p.all).Add(n)
	if p.ser != nil {
		field(p.ser).Add(n)
	}
}

// Counter selectors for pair.add.
func ctrDecodeErrors(c *Counters) *atomic.Uint64       { return &c.DecodeErrors }
func ctrMissingTemplate(c *Counters) *atomic.Uint64    { return &c.MissingTemplate }
func ctrOptionsRecords(c *Counters) *atomic.Uint64     { return &c.OptionsRecords }
func ctrRecords(c *Counters) *atomic.Uint64            { return &c.Records }
func ctrSequenceErrors(c *Counters) *atomic.Uint64     { return &c.SequenceErrors }
func ctrSequenceLost(c *Counters) *atomic.Uint64       { return &c.SequenceLost }
func ctrTemplateRefreshes(c *Counters) *atomic.Uint64  { return &c.TemplateRefreshes }
func ctrTemplatesAdded(c *Counters) *atomic.Uint64     { return &c.TemplatesAdded }
func ctrTemplatesExpired(c *Counters) *atomic.Uint64   { return &c.TemplatesExpired }
func ctrTemplatesWithdrawn(c *Counters) *atomic.Uint64 { return &c.TemplatesWithdrawn }
