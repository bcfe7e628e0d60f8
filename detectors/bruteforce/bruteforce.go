// Package bruteforce is the Go port of NEMEA's brute_force_detector
// (detectors.md §4): password guessing on SSH (22), RDP (3389) and Telnet
// (23). For every attacker address and protocol it keeps the last
// LIST_SIZE flows to and from the service, in two lists (incoming:
// attacker to server; outgoing: server to attacker). A flow is "matched"
// when its TCP flags, packets and bytes fit the failed-login signature of
// its protocol and direction and the whitelist does not cover it. Enough
// matched flows start an attack, which is re-reported every REPORT_TIMEOUT
// while it goes on and closed when it fades or times out. All timing is
// flow time (TIME_LAST), as in C.
//
// The behaviour is the C module's, quirks included (§8.3 item 4: the
// attack-timeout report is gated on the incoming list only, the Telnet
// profile's counter is global, overlapping whitelist port ranges are
// dropped). Differences: the host and Telnet-server tables are capped
// (Options), configuration and whitelist lines that C would read as 0
// are errors, and the configuration can be replaced while running
// (SetConfig, SetWhitelist).
package bruteforce

import (
	"bytes"
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// InputSpec is the set of fields the detector reads. C also requires
// TIME_FIRST, which it never reads.
const InputSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PACKETS,uint64 BYTES,time TIME_LAST,uint8 TCP_FLAGS"

// OutputSpec is the C module's alert template, in canonical order.
const OutputSpec = "ipaddr SRC_IP,time DETECTION_TIME,uint32 EVENT_SCALE,uint16 DST_PORT,uint8 PROTOCOL,uint8 WARDEN_TYPE,string NOTE"

// wardenBruteforce is WT_BRUTEFORCE, the alert's WARDEN_TYPE.
const wardenBruteforce = 2

// DefaultMaxHosts is the default cap of each protocol's host table; a
// host takes about 200 bytes besides its records.
const DefaultMaxHosts = 1 << 16

// DefaultMaxRecords is the default cap of the records all hosts hold
// together (32 bytes each, rings at most twice their length): about
// 128 MiB of records, up to 256 MiB of rings.
const DefaultMaxRecords = 1 << 22

// Options are the module's command-line choices.
type Options struct {
	Protocols        [numProtocols]bool // -S, -R, -T
	MaxHosts         int                // per protocol (not in C)
	MaxRecords       int                // records over all hosts (not in C)
	MaxTelnetServers int                // Telnet profile table cap (not in C)
}

// DefaultOptions enables nothing and sets the default caps.
func DefaultOptions() Options {
	return Options{MaxHosts: DefaultMaxHosts, MaxRecords: DefaultMaxRecords, MaxTelnetServers: DefaultMaxTelnetServers}
}

// TCP flag bits.
const (
	fin = 0x01
	syn = 0x02
	rst = 0x04
	psh = 0x08
	ack = 0x10
)

const (
	incoming = 0
	outgoing = 1
)

func sec(s uint32) unirec.Time { return unirec.Time(uint64(s) << 32) }

// Detector is one brute_force_detector instance. Process is not safe for
// concurrent use; SetConfig, SetWhitelist and Stats are.
type Detector struct {
	opts     Options
	cfg      atomic.Pointer[Config]
	wl       atomic.Pointer[Whitelist]
	hosts    [numProtocols]*detectors.Table[unirec.IP, host]
	telnet   *telnetProfiles
	checkRep unirec.Time // GENERAL_CHECK_FOR_REPORT_TIMEOUT, fixed at start
	checkDel unirec.Time
	lastRep  unirec.Time
	lastDel  unirec.Time
	keys     []unirec.IP
	vips     []unirec.IP // appendVictims' buffers
	vtext    []byte
	vspans   [][2]int
	stored   int // records held by all hosts
	olds     []oldHost
	note     []byte

	in struct {
		src, dst, sport, dport, proto, packets, bytes, last, flags unirec.FieldID
	}
	out unirec.Record
	o   struct{ src, time, scale, port, proto, warden, note unirec.FieldID }

	emit detectors.Emit
	err  error

	ctr    detectors.Counters
	extra  struct{ scans, whitelisted, telnetEvicted atomic.Uint64 }
	recPub atomic.Int64 // stored, for Stats
	unpub  uint64       // records not yet added to ctr.Records
}

// New returns a detector with the configuration cfg (its check intervals
// stay fixed for the detector's life) and the whitelist wl (nil: empty).
func New(cfg Config, opts Options, wl *Whitelist) (*Detector, error) {
	ot, err := unirec.ParseTemplate(OutputSpec)
	if err != nil {
		return nil, err
	}
	d := &Detector{
		opts:     opts,
		telnet:   newTelnetProfiles(max(opts.MaxTelnetServers, 1)),
		checkRep: sec(cfg.CheckReportTimeout),
		checkDel: sec(cfg.CheckDeleteTimeout),
		out:      ot.NewRecord(),
	}
	if err := detectors.Resolve(ot, OutputSpec, &d.o.src, &d.o.time, &d.o.scale, &d.o.port, &d.o.proto, &d.o.warden, &d.o.note); err != nil {
		return nil, err
	}
	d.out.SetUint8(d.o.proto, 6)
	d.out.SetUint8(d.o.warden, wardenBruteforce)
	for p := range numProtocols {
		d.hosts[p] = detectors.NewTable[unirec.IP, host](max(opts.MaxHosts, 1))
		d.hosts[p].OnEvict = func(_ unirec.IP, h *host) {
			d.ctr.Evicted.Add(1)
			d.ctr.Entries.Add(-1)
			d.stored -= h.clear()
		}
	}
	d.telnet.servers.OnEvict = func(unirec.IP, *profile) { d.extra.telnetEvicted.Add(1) }
	d.SetConfig(cfg)
	d.SetWhitelist(wl)
	return d, nil
}

// SetConfig replaces the thresholds (SIGUSR1 in the module). The check
// intervals keep their start-up values and a new LIST_SIZE applies to
// hosts created afterwards, as in C.
func (d *Detector) SetConfig(cfg Config) {
	c := cfg
	d.cfg.Store(&c)
}

// Config returns the thresholds in force.
func (d *Detector) Config() Config { return *d.cfg.Load() }

// SetWhitelist replaces the whitelist (SIGUSR2 in the module).
func (d *Detector) SetWhitelist(wl *Whitelist) { d.wl.Store(wl) }

// Whitelist returns the whitelist in force (nil: empty).
func (d *Detector) Whitelist() *Whitelist { return d.wl.Load() }

// InputSpec returns the fields the detector reads.
func (d *Detector) InputSpec() string { return InputSpec }

// OutputSpec returns the alert template.
func (d *Detector) OutputSpec() string { return OutputSpec }

// Bind resolves the input fields in the sender's template.
func (d *Detector) Bind(t *unirec.Template) error {
	i := &d.in
	return detectors.Resolve(t, InputSpec, &i.src, &i.dst, &i.sport, &i.dport, &i.proto, &i.packets, &i.bytes, &i.last, &i.flags)
}

// Stats returns the counters (Records in steps of 1024 while flows come,
// exactly after Finish). Entries and Evicted cover the host tables;
// Expired counts hosts deleted after HOST_TIMEOUT. Extra:
// "scans_dropped" (flows dropped as scans before reaching a host),
// "whitelisted" (signature matches the whitelist cleared),
// "telnet_evicted" (the profile table), "records" (records held by all
// hosts; at MaxRecords the longest idle hosts are evicted, counted in
// Evicted).
func (d *Detector) Stats() detectors.Stats {
	s := d.ctr.Snapshot()
	s.Extra = map[string]uint64{
		"scans_dropped":  d.extra.scans.Load(),
		"whitelisted":    d.extra.whitelisted.Load(),
		"telnet_evicted": d.extra.telnetEvicted.Load(),
		"records":        uint64(max(d.recPub.Load(), 0)),
	}
	return s
}

func login(port uint16) bool { return port == 22 || port == 23 || port == 3389 }

// flow is the part of a record the detector reads.
type flow struct {
	src, dst     unirec.IP
	sport, dport uint16
	packets      uint32
	bytes        uint64
	last         unirec.Time
	flags        uint8
}

// Process handles one flow.
func (d *Detector) Process(rec unirec.Record, emit detectors.Emit) error {
	// The shared counter is updated in steps: an atomic add per record
	// is a good part of a record's work here.
	if d.unpub++; d.unpub == 1024 {
		d.ctr.Records.Add(d.unpub)
		d.unpub = 0
	}
	in := &d.in
	if rec.Uint8(in.proto) != 6 {
		return nil
	}
	f := flow{sport: rec.Uint16(in.sport), dport: rec.Uint16(in.dport)}
	if !login(f.sport) && !login(f.dport) {
		return nil
	}
	d.emit, d.err = emit, nil
	f.src, f.dst = rec.IP(in.src), rec.IP(in.dst)
	f.packets, f.bytes = rec.Uint32(in.packets), rec.Uint64(in.bytes)
	f.last, f.flags = rec.Time(in.last), rec.Uint8(in.flags)
	dir := outgoing
	if login(f.dport) {
		dir = incoming
	}
	cfg := d.cfg.Load()
	for p := range numProtocols {
		port := protoPorts[p]
		if !d.opts.Protocols[p] || (port != f.dport && port != f.sport) {
			continue
		}
		r := record{t: f.last}
		attacker := f.src
		if dir == incoming {
			r.victim = f.dst
			r.matched = d.matchIncoming(Protocol(p), cfg, &f)
		} else {
			r.victim = f.src
			attacker = f.dst
			r.matched = d.matchOutgoing(Protocol(p), cfg, &f)
		}
		d.addRecord(Protocol(p), cfg, attacker, r, dir, &f)
	}
	d.recPub.Store(int64(d.stored))
	if d.lastRep+d.checkRep <= f.last {
		d.lastRep = f.last
		d.attackTimeouts(cfg, f.last)
	}
	if d.lastDel+d.checkDel <= f.last {
		d.lastDel = f.last
		d.expire(cfg, f.last)
	}
	return d.err
}

func has(flags, m uint8) bool { return flags&m == m }

func in16(v uint64, lo, hi uint16) bool { return v >= uint64(lo) && v <= uint64(hi) }

func (d *Detector) whitelisted(a, b unirec.IP, aPort, bPort uint16) bool {
	if d.wl.Load().Whitelisted(a, b, aPort, bPort) {
		d.extra.whitelisted.Add(1)
		return true
	}
	return false
}

// matchIncoming is the failed-login signature of a client-to-server flow.
func (d *Detector) matchIncoming(p Protocol, cfg *Config, f *flow) bool {
	pc := &cfg.Proto[p]
	P, B := uint64(f.packets), f.bytes
	sig := false
	switch p {
	case SSH, Telnet:
		sig = has(f.flags, syn|psh|ack) && in16(P, pc.IncMinPackets, pc.IncMaxPackets) && in16(B, pc.IncMinBytes, pc.IncMaxBytes)
	case RDP:
		sig = (has(f.flags, syn|rst|psh|ack) && P >= 7 && P <= 11 && B >= 1500 && B <= 2000) ||
			(has(f.flags, syn|psh|ack) && P == 3 && B >= 100 && B <= 200) ||
			(has(f.flags, syn|psh|ack) && in16(P, pc.IncMinPackets, pc.IncMaxPackets) && in16(B, pc.IncMinBytes, pc.IncMaxBytes))
	}
	return sig && !d.whitelisted(f.src, f.dst, f.sport, f.dport)
}

// matchOutgoing is the failed-login signature of a server-to-client flow.
func (d *Detector) matchOutgoing(p Protocol, cfg *Config, f *flow) bool {
	pc := &cfg.Proto[p]
	P, B := uint64(f.packets), f.bytes
	sig := false
	switch p {
	case SSH:
		sig = has(f.flags, syn|psh|ack) && in16(P, pc.OutMinPackets, pc.OutMaxPackets) && B >= uint64(pc.OutMinBytes) && B <= uint64(pc.OutMaxBytes)
	case RDP:
		sig = (has(f.flags, syn|psh|ack) && P == 7 && B >= 1700 && B <= 2200) ||
			(has(f.flags, syn|psh|ack) && P == 2 && B > 80 && B < 120) ||
			(has(f.flags, syn|psh|ack) && in16(P, pc.OutMinPackets, pc.OutMaxPackets) && B >= uint64(pc.OutMinBytes) && B <= uint64(pc.OutMaxBytes))
	case Telnet:
		// The server profile decides; the whitelist is not consulted (C).
		return has(f.flags, fin|syn|psh|ack) && d.telnet.match(f.src, f.packets, f.bytes)
	}
	return sig && !d.whitelisted(f.dst, f.src, f.dport, f.sport)
}

// scan reports the (packets, flags) pairs the C module drops as scans.
func scan(p Protocol, packets uint32, flags uint8) bool {
	switch {
	case packets == 1 && (flags == syn || flags == syn|ack || flags == rst|ack):
		return true
	case packets == 2 && (flags == syn || flags == syn|rst):
		return true
	case packets == 3 && flags == syn:
		return true
	case p == SSH && ((packets == 1 && flags == ack) || (packets == 4 && flags == syn)):
		return true
	}
	return false
}

// addRecord stores a flow's record in its attacker's host and runs the
// attack state machine (§4.6, §4.7).
func (d *Detector) addRecord(p Protocol, cfg *Config, attacker unirec.IP, r record, dir int, f *flow) {
	tbl := d.hosts[p]
	h, isNew, _ := tbl.Upsert(attacker)
	if isNew {
		h.reset(int(cfg.Proto[p].ListSize))
		d.ctr.Entries.Add(1)
	}
	if scan(p, f.packets, f.flags) {
		d.extra.scans.Add(1)
		return
	}
	h.lastReceived = f.last
	d.stored += h.lists[dir].add(r, h.reported())
	d.checkForAttack(p, cfg, attacker, h, f.last)
	if d.stored > d.opts.MaxRecords {
		d.shrink()
	}
}

// oldHost is a candidate of shrink.
type oldHost struct {
	last unirec.Time
	p    Protocol
	key  unirec.IP
}

// shrink evicts the hosts that received nothing for the longest time
// until the records they all hold are at most 7/8 of MaxRecords. It runs
// at most once per eighth of the cap, so its sort is cheap per record.
func (d *Detector) shrink() {
	d.olds = d.olds[:0]
	for p := range numProtocols {
		d.hosts[p].Range(func(k unirec.IP, h *host) bool {
			d.olds = append(d.olds, oldHost{h.lastReceived, Protocol(p), k})
			return true
		})
	}
	slices.SortFunc(d.olds, func(a, b oldHost) int { return cmp.Compare(a.last, b.last) })
	for _, o := range d.olds {
		if d.stored <= d.opts.MaxRecords/8*7 {
			break
		}
		h, _ := d.hosts[o.p].Get(o.key)
		d.stored -= h.clear()
		d.hosts[o.p].Delete(o.key)
		d.ctr.Evicted.Add(1)
		d.ctr.Entries.Add(-1)
	}
}

// checkForAttack is the per-host state machine of §4.7.
func (d *Detector) checkForAttack(p Protocol, cfg *Config, attacker unirec.IP, h *host, now unirec.Time) {
	pc := &cfg.Proto[p]
	inc, out := &h.lists[incoming], &h.lists[outgoing]
	if !h.reported() {
		top := uint64(pc.ListThreshold)
		if inc.n > listBottom && out.n > listBottom {
			big := max(inc.n, out.n)
			if big < 100 {
				top = uint64(float64(big) * 0.9)
			} else {
				top = uint64(big/100) * 90
			}
		}
		if uint64(inc.matched) >= top || uint64(out.matched) >= top {
			h.timeOfLastReport = now
			if cfg.IgnoreFirstSend == 0 {
				d.send(p, attacker, h, now, pc.ListThreshold)
			}
		}
		return
	}
	if h.timeOfLastReport+sec(pc.ReportTimeout) > now {
		return // ATTACK_REPORT_WAIT
	}
	incS, outS := inc.matchedSince, out.matchedSince
	if inc.matched == 0 && incS == 0 && out.matched == 0 && outS == 0 {
		d.stored -= h.clear() // END_OF_ATTACK
		return
	}
	minEv := uint64(cfg.MinEventsToReport)
	enough := uint64(incS) >= minEv || uint64(outS) >= minEv
	if percent(inc) < cfg.MinRatioToKeep && percent(out) < cfg.MinRatioToKeep {
		if enough { // REPORT_END_OF_ATTACK
			d.send(p, attacker, h, now, uint32(max(incS, outS)))
		}
		d.stored -= h.clear()
		return
	}
	if enough { // ATTACK
		scale := uint32(max(incS, outS))
		inc.resetSince()
		out.resetSince()
		h.timeOfLastReport = now
		d.send(p, attacker, h, now, scale)
	}
}

func percent(l *recList) float64 {
	if l.totalSince == 0 {
		return 0
	}
	return (100.0 / float64(l.totalSince)) * float64(l.matchedSince)
}

// attackTimeouts closes the attacks not reported for ATTACK_TIMEOUT, with
// a last report when the incoming list has enough new matches (§4.8).
func (d *Detector) attackTimeouts(cfg *Config, now unirec.Time) {
	for p := range numProtocols {
		if !d.opts.Protocols[p] {
			continue
		}
		tbl := d.hosts[p]
		timeout := sec(cfg.Proto[p].AttackTimeout)
		d.keys = d.keys[:0]
		tbl.Range(func(k unirec.IP, h *host) bool {
			if h.reported() && h.timeOfLastReport+timeout <= now {
				d.keys = append(d.keys, k)
			}
			return true
		})
		slices.SortFunc(d.keys, func(a, b unirec.IP) int { return bytes.Compare(a[:], b[:]) })
		for _, k := range d.keys {
			h, _ := tbl.Get(k)
			inc, out := &h.lists[incoming], &h.lists[outgoing]
			if uint64(inc.matchedSince) >= uint64(cfg.MinEventsToReport) {
				d.send(Protocol(p), k, h, now, uint32(max(inc.matchedSince, out.matchedSince)))
			}
			d.stored -= h.clear()
		}
	}
}

// expire drops records older than RECORD_TIMEOUT and hosts idle for
// HOST_TIMEOUT (§4.8).
func (d *Detector) expire(cfg *Config, now unirec.Time) {
	for p := range numProtocols {
		if !d.opts.Protocols[p] {
			continue
		}
		tbl := d.hosts[p]
		recTO, hostTO := sec(cfg.Proto[p].RecordTimeout), sec(cfg.Proto[p].HostTimeout)
		d.keys = d.keys[:0]
		tbl.Range(func(k unirec.IP, h *host) bool {
			d.stored -= h.lists[incoming].expire(now, recTO) + h.lists[outgoing].expire(now, recTO)
			if h.lastReceived+hostTO <= now {
				d.keys = append(d.keys, k)
			}
			return true
		})
		for _, k := range d.keys {
			h, _ := tbl.Get(k)
			d.stored -= h.clear()
			tbl.Delete(k)
			d.ctr.Expired.Add(1)
			d.ctr.Entries.Add(-1)
		}
	}
}

// send emits an alert for the attacker's host.
func (d *Detector) send(p Protocol, attacker unirec.IP, h *host, now unirec.Time, scale uint32) {
	h.timeOfLastReport = now
	d.ctr.Alerts.Add(1)
	if d.emit == nil || d.err != nil {
		return
	}
	o := &d.out
	o.SetIP(d.o.src, attacker)
	o.SetTime(d.o.time, now)
	o.SetUint32(d.o.scale, scale)
	o.SetUint16(d.o.port, p.Port())
	d.note = append(d.note[:0], "I:"...)
	d.note = d.appendVictims(d.note, &h.lists[incoming])
	d.note = append(d.note, "O:"...)
	d.note = d.appendVictims(d.note, &h.lists[outgoing])
	if err := o.SetVar(d.o.note, d.note); err != nil {
		d.err = err
		return
	}
	d.err = d.emit(*o)
}

// appendVictims appends the distinct victims of the list's matched
// records, sorted as strings, each followed by a comma. The addresses are
// made unique first and each is printed once into a reused buffer.
func (d *Detector) appendVictims(dst []byte, l *recList) []byte {
	d.vips = d.vips[:0]
	for i := range l.n {
		if r := l.at(i); r.matched {
			d.vips = append(d.vips, r.victim)
		}
	}
	slices.SortFunc(d.vips, func(a, b unirec.IP) int { return bytes.Compare(a[:], b[:]) })
	d.vips = slices.Compact(d.vips)
	d.vtext, d.vspans = d.vtext[:0], d.vspans[:0]
	for _, v := range d.vips {
		start := len(d.vtext)
		d.vtext = v.AppendText(d.vtext)
		d.vspans = append(d.vspans, [2]int{start, len(d.vtext)})
	}
	slices.SortFunc(d.vspans, func(a, b [2]int) int { return bytes.Compare(d.vtext[a[0]:a[1]], d.vtext[b[0]:b[1]]) })
	for _, sp := range d.vspans {
		dst = append(append(dst, d.vtext[sp[0]:sp[1]]...), ',')
	}
	return dst
}

// Finish publishes the last records count. The C module reports nothing
// at exit and does not forward end of stream.
func (d *Detector) Finish(detectors.Emit) error {
	d.ctr.Records.Add(d.unpub)
	d.unpub = 0
	return nil
}
