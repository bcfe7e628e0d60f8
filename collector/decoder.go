package collector

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// DefaultTemplateLifetime is how long a template received over UDP stays
// valid without being refreshed (RFC 7011 §8.4 leaves it to configuration;
// nfcapd and ipfixcol2 use minutes to tens of minutes).
const DefaultTemplateLifetime = 30 * time.Minute

// Exporter identifies where a record came from.
type Exporter struct {
	Addr    netip.AddrPort
	Version uint16 // 5, 9 or 10
	Domain  uint32 // IPFIX observation domain, v9 source id, v5 engine type<<8 | engine id
}

// Sink receives decoded records. rec is only valid during the call (the
// decoder reuses its buffer); copy it to keep it.
type Sink interface {
	Record(exp Exporter, rec unirec.Record)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(exp Exporter, rec unirec.Record)

// Record calls f.
func (f SinkFunc) Record(exp Exporter, rec unirec.Record) { f(exp, rec) }

// BatchSink is a Sink that also takes many records in one call. When the
// output template has no variable-length fields, the decoder decodes the
// records of a data set back to back into one buffer and hands them over
// with one Records call (size bytes each, len(data)/size records) instead
// of a Record call per record. data is only valid during the call.
type BatchSink interface {
	Sink
	Records(exp Exporter, data []byte, size int)
}

// batchLen is the most record bytes the decoder collects before handing
// them to a BatchSink: a data set of more is handed over in pieces.
const batchLen = 64 << 10

// Config configures a Decoder.
type Config struct {
	// Output is the UniRec template every record is produced in. Required.
	Output *unirec.Template
	// Table maps elements to UniRec fields; nil means converters.DefaultTable().
	Table *converters.Table
	// Registry describes information elements; nil means NewRegistry().
	Registry *Registry
	// TemplateLifetime applies to templates received over UDP; 0 means
	// DefaultTemplateLifetime, negative means templates never expire.
	TemplateLifetime time.Duration
	// ApplySampling multiplies packet and byte counters by the exporter's
	// sampling interval, as nfcapd does.
	ApplySampling bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxExporters bounds the exporter addresses the decoder keeps state
	// for (templates, sequence numbers, counters), so a flood of spoofed
	// sources cannot grow it without end; 0 means DefaultMaxExporters.
	// When the table is full, exporters idle for the template lifetime are
	// forgotten; if none is, a new address's messages are refused
	// (ErrTooManyExporters, Counters.ExportersRefused).
	MaxExporters int
	// Sampling sets intervals for exporters that announce none, or
	// overrides theirs (see Sampling); used when ApplySampling is set.
	Sampling Sampling
}

// DefaultMaxExporters is the exporter table's default size.
const DefaultMaxExporters = 4096

// ErrTooManyExporters is returned (wrapped) for a message from a new
// exporter address while MaxExporters others are active.
var ErrTooManyExporters = errors.New("collector: exporter table full")

// Decoder decodes export messages of any number of exporters. Decode may be
// called from several goroutines; calls are serialised internally (the
// record buffer and plans are shared). Counters may be read at any time.
type Decoder struct {
	cfg      Config
	sink     Sink
	mu       sync.Mutex
	sessions map[sessionKey]*session
	perExp   map[netip.Addr]*Counters
	series   map[ExporterKey]*Counters
	total    Counters
	// lastEvict is when the full table was last searched for idle
	// exporters (Unix ns); a flood of new addresses searches once a second.
	lastEvict int64
	rec       unirec.Record
	// batch holds the records of a data set, decoded back to back: for
	// batchSink (nil when the sink is no BatchSink or the output has
	// variable-length fields) in one Records call, else for Record calls.
	batch     []byte
	batchSink BatchSink
	// generalOnly makes plans skip their fast form (tests compare both).
	generalOnly bool
	v5tmpl      *Template
	sampling    *samplingTable
	// lastAddr/lastStats and lastSess are the exporter and the session of
	// the previous message, which most messages share: looked up in the
	// maps only when they differ. Cleared when exporters or sessions are
	// forgotten.
	lastAddr  netip.Addr
	lastStats *Counters
	lastSess  *session
}

// NewDecoder returns a decoder that hands records to sink.
func NewDecoder(cfg Config, sink Sink) (*Decoder, error) {
	if cfg.Output == nil {
		return nil, errors.New("collector: Config.Output template is required")
	}
	if sink == nil {
		return nil, errors.New("collector: sink is required")
	}
	if cfg.Table == nil {
		cfg.Table = converters.DefaultTable()
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	if cfg.TemplateLifetime == 0 {
		cfg.TemplateLifetime = DefaultTemplateLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = DefaultMaxExporters
	}
	st, err := compileSampling(cfg.Sampling)
	if err != nil {
		return nil, err
	}
	d := &Decoder{
		sampling: st,
		cfg:      cfg,
		sink:     sink,
		sessions: make(map[sessionKey]*session),
		perExp:   make(map[netip.Addr]*Counters),
		series:   make(map[ExporterKey]*Counters),
		rec:      cfg.Output.NewRecord(),
		v5tmpl:   v5Template(),
	}
	// The records of a data set are decoded into batch (and handed to a
	// BatchSink from there when the output has no variable-length fields).
	d.batch = make([]byte, 0, max(batchLen, cfg.Output.StaticSize()))
	if bs, ok := sink.(BatchSink); ok && cfg.Output.StaticSize() > 0 && cfg.Output.StaticSize() == cfg.Output.FixedSize() {
		d.batchSink = bs
	}
	return d, nil
}

// Totals returns the decoder-wide counters.
func (d *Decoder) Totals() *Counters { return &d.total }

// Exporters calls fn with the counters of every exporter address seen so far.
func (d *Decoder) Exporters(fn func(addr netip.Addr, c *Counters)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a, c := range d.perExp {
		fn(a, c)
	}
}

// ExporterKey names one metrics series of an exporter: its address, the
// protocol version (5, 9, 10; 0 for messages whose header could not be
// read) and the observation domain (IPFIX), source id (v9) or engine
// (v5: type<<8 | id).
type ExporterKey struct {
	Addr    netip.Addr
	Version uint16
	Domain  uint32
}

// ExporterSeries calls fn with the counters of every (exporter address,
// version, domain) seen so far. Sequence and template counters are per
// series; refusals and evictions are only in Totals.
func (d *Decoder) ExporterSeries(fn func(k ExporterKey, c *Counters)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, c := range d.series {
		fn(k, c)
	}
}

func (d *Decoder) seriesLocked(k ExporterKey) *Counters {
	c, ok := d.series[k]
	if !ok {
		c = new(Counters)
		d.series[k] = c
	}
	return c
}

// Decode decodes one message received over UDP (or SCTP): templates expire
// after the template lifetime.
func (d *Decoder) Decode(from netip.AddrPort, msg []byte) error {
	return d.decode(from, msg, d.cfg.TemplateLifetime, false, d.cfg.Now())
}

// DecodeAt is Decode for a message received at now (Config.Now is not
// read): a receiver that reads many datagrams in one call reads the clock
// once for all of them. now only ages templates and exporters.
func (d *Decoder) DecodeAt(from netip.AddrPort, msg []byte, now time.Time) error {
	return d.decode(from, msg, d.cfg.TemplateLifetime, false, now)
}

// DecodeStream decodes one message received over a reliable stream (TCP):
// templates never expire; they live until withdrawn or the session ends.
// Call EndStream when the connection closes.
func (d *Decoder) DecodeStream(from netip.AddrPort, msg []byte) error {
	return d.decode(from, msg, -1, true, d.cfg.Now())
}

// EndStream forgets the templates and sequence state of the stream (TCP
// connection) from, as RFC 7011 §8 requires when a transport session ends.
func (d *Decoder) EndStream(from netip.AddrPort) {
	d.mu.Lock()
	defer d.mu.Unlock()
	addr := from.Addr().Unmap()
	for k := range d.sessions {
		if k.addr == addr && k.port == from.Port() && k.port != 0 {
			delete(d.sessions, k)
		}
	}
	d.lastSess = nil
}

func (d *Decoder) decode(from netip.AddrPort, msg []byte, lifetime time.Duration, stream bool, nowT time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	addr := from.Addr().Unmap()
	now := nowT.UnixNano()
	stats := d.lastStats
	if stats == nil || addr != d.lastAddr {
		var ok bool
		stats, ok = d.perExp[addr]
		if !ok {
			if len(d.perExp) >= d.cfg.MaxExporters && !d.evictIdleLocked(now) {
				d.total.ExportersRefused.Add(1)
				return fmt.Errorf("exporter %s: %w (%d exporters)", from, ErrTooManyExporters, len(d.perExp))
			}
			stats = new(Counters)
			d.perExp[addr] = stats
		}
		d.lastAddr, d.lastStats = addr, stats
	}
	// Idle exporters are forgotten after minutes: the last message's time
	// to the millisecond will do, and spares most messages the store.
	if last := stats.lastSeen.Load(); now-last >= int64(time.Millisecond) || now < last {
		stats.lastSeen.Store(now)
	}
	p := pair{exp: stats, all: &d.total}
	// Counted once the message is done, so that a reader who sees it
	// counted also sees its records counted.
	defer func() {
		stats.Packets.Add(1)
		d.total.Packets.Add(1)
	}()
	var port uint16
	if stream {
		port = from.Port()
	}
	err := d.decodeLocked(&p, from, sessionKey{addr: addr, port: port}, msg, lifetime, nowT)
	if err != nil {
		if p.ser == nil {
			// No header to tell version and domain: the address's series
			// of version 0.
			p.ser = d.seriesLocked(ExporterKey{Addr: addr})
			p.ser.Packets.Add(1)
		}
		p.add(ctrDecodeErrors, 1)
		return fmt.Errorf("exporter %s: %w", from, err)
	}
	return nil
}

// evictIdleLocked forgets the exporters (and their sessions) that sent
// nothing for the template lifetime (30 minutes when UDP templates never
// expire) and reports whether the table has room now. Exporters with an
// open TCP session stay. It searches at most once a second.
func (d *Decoder) evictIdleLocked(now int64) bool {
	if now-d.lastEvict < int64(time.Second) {
		return false
	}
	d.lastEvict = now
	d.lastStats, d.lastSess = nil, nil
	idle := d.cfg.TemplateLifetime
	if idle <= 0 {
		idle = DefaultTemplateLifetime
	}
	cutoff := now - int64(idle)
	streaming := make(map[netip.Addr]bool)
	for k := range d.sessions {
		if k.port != 0 {
			streaming[k.addr] = true
		}
	}
	for a, c := range d.perExp {
		if c.lastSeen.Load() < cutoff && !streaming[a] {
			delete(d.perExp, a)
			d.total.ExportersEvicted.Add(1)
		}
	}
	for k := range d.sessions {
		if _, ok := d.perExp[k.addr]; !ok {
			delete(d.sessions, k)
		}
	}
	for k := range d.series {
		if _, ok := d.perExp[k.Addr]; !ok {
			delete(d.series, k)
		}
	}
	return len(d.perExp) < d.cfg.MaxExporters
}

func (d *Decoder) session(k sessionKey, stats *Counters) *session {
	if s := d.lastSess; s != nil && s.key == k {
		return s
	}
	s, ok := d.sessions[k]
	if !ok {
		s = newSession(k, stats)
		s.series = d.seriesLocked(ExporterKey{Addr: k.addr, Version: k.version, Domain: k.domain})
		s.configured = d.sampling.lookup(k.addr)
		d.sessions[k] = s
	}
	d.lastSess = s
	return s
}

func (d *Decoder) decodeLocked(pp *pair, from netip.AddrPort, key sessionKey, msg []byte, lifetime time.Duration, now time.Time) error {
	h, err := parseHeader(msg)
	if err != nil {
		return err
	}
	key.version, key.domain = h.version, h.domain
	s := d.session(key, pp.exp)
	pp.ser = s.series
	s.series.Packets.Add(1)
	p := *pp
	ctx := msgCtx{
		exportSecs: h.exportSecs,
		sysInit:    s.sysInit,
		sampling:   1,
		domain:     h.domain,
		exporter:   s.exporterIP,
	}
	exp := Exporter{Addr: from, Version: h.version, Domain: h.domain}
	switch h.version {
	case 5:
		return d.decodeV5(p, s, h, msg, &ctx, exp)
	case 9:
		ctx.uptimeBase = int64(h.exportSecs)*1000 - int64(h.sysUptime)
		ctx.netflowTime, ctx.sysUptime = true, h.sysUptime
		s.checkSequence(p, h.sequence, h.sequence+1)
		return d.decodeSets(p, s, msg[v9HeaderLen:], &ctx, exp, lifetime, now)
	default:
		// The IPFIX sequence number counts data records. Exporters (softflowd,
		// flowgen, as captured) do not count options data records, so
		// neither do we.
		start := p.exp.Records.Load()
		err := d.decodeSets(p, s, msg[ipfixHeaderLen:h.length], &ctx, exp, lifetime, now)
		n := p.exp.Records.Load() - start
		s.checkSequence(p, h.sequence, h.sequence+uint32(n))
		return err
	}
}

func (d *Decoder) decodeSets(p pair, s *session, body []byte, ctx *msgCtx, exp Exporter, lifetime time.Duration, now time.Time) error {
	v9 := s.key.version == 9
	for len(body) > 0 {
		id, set, rest, err := nextSet(body)
		if err != nil {
			if v9 && len(body) < setHeaderLen {
				return nil // some exporters pad the v9 packet itself
			}
			return err
		}
		body = rest
		onTemplate := func(ev templateEvent) error {
			if ev.withdraw {
				s.withdraw(p, ev.id, ev.options)
				return nil
			}
			s.setTemplate(p, ev.tmpl, now)
			return nil
		}
		switch {
		case v9 && id == 0:
			err = parseV9TemplateSet(set, onTemplate)
		case v9 && id == 1:
			err = parseV9OptionsTemplateSet(set, onTemplate)
		case !v9 && id == 2:
			err = parseIPFIXTemplateSet(set, false, onTemplate)
		case !v9 && id == 3:
			err = parseIPFIXTemplateSet(set, true, onTemplate)
		case id >= 256:
			err = d.decodeDataSet(p, s, id, set, ctx, exp, now, lifetime)
		default:
			err = fmt.Errorf("reserved set id %d", id)
		}
		if err != nil {
			return fmt.Errorf("set %d: %w", id, err)
		}
	}
	return nil
}

func (d *Decoder) decodeDataSet(p pair, s *session, id uint16, set []byte, ctx *msgCtx, exp Exporter, now time.Time, lifetime time.Duration) error {
	e := s.lookup(p, id, now, lifetime)
	if e == nil {
		p.add(ctrMissingTemplate, 1)
		return nil
	}
	if e.tmpl.Options {
		return d.decodeOptions(p, s, e.tmpl, set, ctx)
	}
	if e.plan == nil || e.plan.out != d.cfg.Output {
		e.plan = d.compile(e.tmpl)
	}
	d.applySampling(s, ctx)
	ctx.templates = s.templates
	return d.emit(p, e.plan, set, ctx, exp)
}

// compile builds the plan of wire template t into the output template.
func (d *Decoder) compile(t *Template) *plan {
	p := compilePlan(t, d.cfg.Output, d.cfg.Table, d.cfg.Registry)
	if d.generalOnly {
		p.fast = nil
	}
	return p
}

// emit decodes every record of a data set and hands it to the sink.
func (d *Decoder) emit(p pair, pl *plan, set []byte, ctx *msgCtx, exp Exporter) error {
	if d.batchSink != nil {
		return d.emitBatch(p, pl, set, ctx, exp)
	}
	var n uint64
	defer func() {
		p.add(ctrRecords, n)
	}()
	if pl.setWise() && !pl.fast.vars && d.cfg.Output.StaticSize() > 0 {
		// The records have no variable-length data: the set is decoded
		// into d.batch a piece at a time, and the sink sees each record
		// in its place there (what Reset and apply would have made).
		size, recLen := d.cfg.Output.StaticSize(), pl.tmpl.MinLen
		for len(set) >= recLen {
			k := min(len(set)/recLen, cap(d.batch)/size)
			out := d.batch[:k*size]
			clear(out)
			if !pl.applySet(ctx, set, out, k) {
				break // cannot happen: k records fit in both
			}
			for r := range k {
				d.sink.Record(exp, unirec.Record{T: d.cfg.Output, Data: out[r*size : (r+1)*size : (r+1)*size]})
			}
			set = set[k*recLen:]
			n += uint64(k)
		}
		return nil
	}
	for len(set) >= pl.tmpl.MinLen && len(set) > 0 {
		d.rec = d.rec.Reset()
		used, err := pl.apply(ctx, set, &d.rec)
		if err != nil {
			return err
		}
		set = set[used:]
		d.sink.Record(exp, d.rec)
		n++
	}
	return nil
}

// emitBatch decodes the records of a data set back to back into d.batch,
// each straight into its place, and hands them to the BatchSink in one
// call (or one per batchLen bytes). Records decoded before a malformed one
// are delivered.
func (d *Decoder) emitBatch(p pair, pl *plan, set []byte, ctx *msgCtx, exp Exporter) error {
	size := d.cfg.Output.StaticSize()
	buf := d.batch[:0]
	var n uint64
	var err error
	if pl.setWise() {
		// A fixed template: as many whole records as the set holds (the
		// rest is padding), decoded into the buffer a piece at a time.
		recLen := pl.tmpl.MinLen
		for len(set) >= recLen {
			if len(buf)+size > cap(buf) {
				d.batchSink.Records(exp, buf, size)
				buf = buf[:0]
			}
			k := min(len(set)/recLen, (cap(buf)-len(buf))/size)
			end := len(buf) + k*size
			out := buf[len(buf):end]
			clear(out)
			if !pl.applySet(ctx, set, out, k) {
				break // cannot happen: k records fit in both
			}
			buf = buf[:end]
			set = set[k*recLen:]
			n += uint64(k)
		}
		set = nil
	}
	for len(set) >= pl.tmpl.MinLen && len(set) > 0 {
		if len(buf)+size > cap(buf) {
			d.batchSink.Records(exp, buf, size)
			buf = buf[:0]
		}
		end := len(buf) + size
		rec := unirec.Record{T: d.cfg.Output, Data: buf[len(buf):end:end]}
		clear(rec.Data)
		used, e := pl.apply(ctx, set, &rec)
		if e != nil {
			err = e
			break
		}
		buf = buf[:end]
		set = set[used:]
		n++
	}
	if len(buf) > 0 {
		d.batchSink.Records(exp, buf, size)
	}
	p.add(ctrRecords, n)
	return err
}
