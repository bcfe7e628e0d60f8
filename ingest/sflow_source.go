package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// DefaultSflowPort is the IANA port of sFlow.
const DefaultSflowPort = 6343

// DefaultMaxSflowAgents bounds the agent table of an sFlow source; the
// datagrams of further agents are decoded and counted in one overflow
// series (agent "other").
const DefaultMaxSflowAgents = 4096

// maxSflowInterfaces bounds the interface counter table (agent, ifIndex).
const maxSflowInterfaces = 1 << 16

// SflowConfig configures an sFlow source.
type SflowConfig struct {
	// Name identifies the source in logs and metrics.
	Name string
	// UDP addresses ("host:port") receiving sFlow v5 datagrams.
	UDP []string
	// Sockets is the number of SO_REUSEPORT sockets per address (Linux),
	// each with its own reader goroutine; 0 means 1.
	Sockets int
	// ReceiveBuffer is SO_RCVBUF in bytes; 0 keeps the system default.
	ReceiveBuffer int
	// Table maps IPFIX elements to UniRec fields (converters.NewSflowConverter);
	// nil is the built-in table.
	Table *converters.Table
	// Drain is how long to keep reading after stop (see DefaultDrain).
	Drain time.Duration
	// MaxAgents bounds the per-agent counters; 0 means DefaultMaxSflowAgents.
	MaxAgents int
	// Now is the clock stamping records (TIME_FIRST/TIME_LAST); nil is time.Now.
	Now func() time.Time
}

// SflowSource receives sFlow v5 datagrams over UDP. Flow samples become
// UniRec records (one per sampled packet, see converters.SflowConverter);
// counter samples update the interface counters read by the metrics
// (Interfaces). Malformed datagrams are counted per agent and logged through
// a sampled logger; they never stop it.
type SflowSource struct {
	cfg    SflowConfig
	log    *zap.Logger
	errLog *zap.Logger

	mu     sync.Mutex
	udp    []*udpSocket
	drops  []atomic.Uint32
	unread atomic.Uint64 // datagrams left queued when a stop's drain ended

	set        atomic.Pointer[sflowSet]
	retargetMu sync.Mutex
	emitCtx    context.Context

	agents     sflowAgents
	ifs        sflowInterfaces
	agentDrops sflowDrops
	readErrors atomic.Uint64
}

// sflowSet is the converter of every target.
type sflowSet struct {
	targets []*Target
	convs   []*converters.SflowConverter
}

// NewSflow returns an sFlow source; it binds nothing yet (see Listen).
func NewSflow(cfg SflowConfig, log *zap.Logger) (*SflowSource, error) {
	if len(cfg.UDP) == 0 {
		return nil, fmt.Errorf("sflow %s: no UDP address to listen on", cfg.Name)
	}
	if cfg.Sockets < 0 || cfg.ReceiveBuffer < 0 || cfg.MaxAgents < 0 {
		return nil, fmt.Errorf("sflow %s: negative sockets (%d), receive buffer (%d) or agent limit (%d)", cfg.Name, cfg.Sockets, cfg.ReceiveBuffer, cfg.MaxAgents)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrain
	}
	if cfg.MaxAgents == 0 {
		cfg.MaxAgents = DefaultMaxSflowAgents
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("source", cfg.Name), zap.String("protocol", "sflow"))
	s := &SflowSource{cfg: cfg, log: log, errLog: sampled(log)}
	s.agents.m = map[sflowAgentKey]*SflowAgentCounters{}
	s.agents.max = cfg.MaxAgents
	s.ifs.m = map[SflowInterfaceKey]*sflow.CounterSample{}
	s.agentDrops.m = map[SflowSourceKey]*sflowDropState{}
	return s, nil
}

// Name returns the configured name.
func (s *SflowSource) Name() string { return s.cfg.Name }

// Listen binds every socket, so that address errors surface before the
// pipeline starts. Run calls it when it has not been called.
func (s *SflowSource) Listen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.udp) > 0 {
		return nil
	}
	conns, err := listenUDP(ctx, s.cfg.UDP, s.cfg.Sockets, s.cfg.ReceiveBuffer)
	if err != nil {
		return fmt.Errorf("sflow %s: %w", s.cfg.Name, err)
	}
	s.udp = conns
	s.drops = make([]atomic.Uint32, len(conns))
	return nil
}

// listenUDP binds sockets UDP sockets per address (SO_REUSEPORT when more
// than one) with the given receive buffer, read with blocking calls outside
// the runtime poller as the collector's are (udpSocket).
func listenUDP(ctx context.Context, addrs []string, sockets, rcvbuf int) ([]*udpSocket, error) {
	n := max(sockets, 1)
	if !reusePortSupported {
		n = 1
	}
	lc := net.ListenConfig{Control: controlUDP(n > 1)}
	var conns []*udpSocket
	fail := func(err error) ([]*udpSocket, error) {
		for _, c := range conns {
			c.Close()
		}
		return nil, err
	}
	for _, addr := range addrs {
		bind := addr
		for i := range n {
			pc, err := lc.ListenPacket(ctx, "udp", bind)
			if err != nil {
				return fail(fmt.Errorf("listen udp %s: %w", addr, err))
			}
			conn := pc.(*net.UDPConn)
			if rcvbuf > 0 {
				if err := conn.SetReadBuffer(rcvbuf); err != nil {
					conn.Close()
					return fail(fmt.Errorf("udp %s: receive buffer of %d bytes: %w", addr, rcvbuf, err))
				}
			}
			sock, err := newUDPSocket(conn)
			if err != nil {
				return fail(fmt.Errorf("udp %s: %w", addr, err))
			}
			conns = append(conns, sock)
			if i == 0 {
				bind = sock.LocalAddr().String()
			}
		}
	}
	return conns, nil
}

// UDPAddrs returns the bound addresses (one per socket).
func (s *SflowSource) UDPAddrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.AddrPort
	for _, u := range s.udp {
		out = append(out, u.LocalAddr())
	}
	return out
}

// Close releases the sockets (Run does it when it returns).
func (s *SflowSource) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.udp {
		u.Close()
	}
	s.udp = nil
}

func (s *SflowSource) newSet(targets []*Target) (*sflowSet, error) {
	set := &sflowSet{}
	for _, tg := range targets {
		c, err := converters.NewSflowConverter(tg.Template(), s.cfg.Table)
		if err != nil {
			return nil, fmt.Errorf("sflow %s: %w", s.cfg.Name, err)
		}
		set.targets, set.convs = append(set.targets, tg), append(set.convs, c)
	}
	return set, nil
}

// Retarget switches a running source to other targets without closing a
// socket; the agent and interface counters go on.
func (s *SflowSource) Retarget(targets []*Target) error {
	s.retargetMu.Lock()
	defer s.retargetMu.Unlock()
	if s.set.Load() == nil {
		return fmt.Errorf("sflow %s: not running", s.cfg.Name)
	}
	set, err := s.newSet(targets)
	if err != nil {
		return err
	}
	s.set.Store(set)
	return nil
}

// Run decodes until ctx ends, then drains the sockets for up to Drain and
// returns once every reader has stopped and every socket is closed.
func (s *SflowSource) Run(ctx context.Context, targets []*Target) error {
	if err := s.Listen(ctx); err != nil {
		return err
	}
	if len(targets) == 0 {
		s.Close()
		return fmt.Errorf("sflow %s: no targets", s.cfg.Name)
	}
	emitCtx, cancelEmit := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelEmit()
	s.retargetMu.Lock()
	s.emitCtx = emitCtx
	set, err := s.newSet(targets)
	if err != nil {
		s.retargetMu.Unlock()
		s.Close()
		return err
	}
	s.set.Store(set)
	s.retargetMu.Unlock()

	s.mu.Lock()
	udp := s.udp
	s.mu.Unlock()
	var wg sync.WaitGroup
	var drainEnd atomic.Int64
	for i, u := range udp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.read(ctx, emitCtx, u, &s.drops[i], &drainEnd)
		}()
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-stopped:
			return
		case <-ctx.Done():
		}
		now := time.Now()
		drainEnd.Store(now.Add(maxDrainFactor * s.cfg.Drain).UnixNano())
		stopEmit(emitCtx, cancelEmit, maxDrainFactor*s.cfg.Drain, stopped)
		for _, u := range udp {
			u.SetReadDeadline(now.Add(s.cfg.Drain))
		}
	}()
	wg.Wait()
	close(stopped)
	s.unread.Add(uint64(countUnread(s.log, s.cfg.Name, udp, s.drops)))
	s.Close()
	return nil
}

// read decodes datagrams from one socket until it is closed or, once ctx
// ended, its drain is over (see CollectorSource.readUDP).
func (s *SflowSource) read(ctx, emitCtx context.Context, conn *udpSocket, drops *atomic.Uint32, drainEnd *atomic.Int64) {
	br, err := conn.reader()
	if err != nil {
		s.readErrors.Add(1)
		s.log.Error("udp socket cannot be read", zap.Error(err))
		return
	}
	h := &sflowHandler{src: s, ctx: emitCtx}
	for over := false; !over; {
		n, err := br.Read()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.readErrors.Add(1)
			s.errLog.Warn("udp read failed", zap.Error(err))
			continue
		}
		// Past the longest drain: decode what was read, then end.
		over = drainOver(ctx, conn, s.cfg.Drain, drainEnd)
		h.now = unirec.TimeFromGo(s.cfg.Now())
		for i := range n {
			msg, from, err := br.Message(i)
			if err != nil {
				s.readErrors.Add(1)
				s.errLog.Warn("udp datagram cut", zap.Stringer("sender", from), zap.Error(err))
				continue
			}
			h.datagram(from, msg)
		}
		if n > 0 {
			if v, ok := br.Drops(n - 1); ok {
				drops.Store(v)
			}
		}
	}
}

// sflowHandler decodes the datagrams of one reader goroutine and emits
// their flow samples; its decoder and records are reused.
type sflowHandler struct {
	src  *SflowSource
	ctx  context.Context
	now  unirec.Time
	dec  sflow.Decoder
	set  *sflowSet
	recs []unirec.Record
	recN uint64 // records of the current datagram
}

func (h *sflowHandler) datagram(from netip.AddrPort, msg []byte) {
	s := h.src
	if set := s.set.Load(); set != h.set {
		h.set = set
		h.recs = make([]unirec.Record, len(set.targets))
		for i, tg := range set.targets {
			h.recs[i] = tg.Template().NewRecord()
		}
	}
	h.recN = 0
	err := h.dec.Decode(msg, h)
	st := h.dec.Stats()
	var a *SflowAgentCounters
	if d, ok := h.dec.Header(); ok {
		a = s.agents.get(d.Agent, d.SubAgentID)
		if a != &s.agents.overflow { // agents sharing it interleave their sequences
			a.sequence(d.Sequence)
		}
	} else { // not even the header decoded: count under the sender's address
		a = s.agents.get(from.Addr(), 0)
	}
	a.Datagrams.Add(1)
	a.FlowSamples.Add(uint64(st.FlowSamples))
	a.CounterSamples.Add(uint64(st.CounterSamples))
	a.Records.Add(h.recN)
	if st.UnknownSamples > 0 {
		a.UnknownSamples.Add(uint64(st.UnknownSamples))
	}
	if st.UnknownRecords > 0 {
		a.UnknownRecords.Add(uint64(st.UnknownRecords))
	}
	if st.HeaderErrors > 0 {
		a.HeaderErrors.Add(uint64(st.HeaderErrors))
	}
	if err != nil {
		a.DecodeErrors.Add(1)
		s.errLog.Warn("malformed sflow datagram", zap.Stringer("sender", from), zap.Error(err))
	}
}

// FlowSample converts the sample for every target and emits it.
func (h *sflowHandler) FlowSample(d *sflow.Datagram, fs *sflow.FlowSample) {
	for i, c := range h.set.convs {
		c.Convert(&h.recs[i], d, fs, h.now)
		h.set.targets[i].Emit(h.ctx, h.recs[i].Data)
	}
	h.recN++
	if h.src.agentDrops.track(fs.Drops) { // the agent lost packets it should have sampled
		h.src.agentDrops.put(SflowSourceKey{d.Agent.Unmap(), d.SubAgentID, fs.SourceIDType, fs.SourceIDIndex}, fs.Sequence, d.Uptime, fs.Drops)
	}
}

// CounterSample stores the interface counters for the metrics.
func (h *sflowHandler) CounterSample(d *sflow.Datagram, cs *sflow.CounterSample) {
	if cs.HasIf || cs.HasEthernet {
		h.src.ifs.put(d.Agent, cs)
	}
}

// SflowAgentCounters are the counters of one (agent address, sub-agent).
type SflowAgentCounters struct {
	Datagrams      atomic.Uint64
	FlowSamples    atomic.Uint64
	CounterSamples atomic.Uint64
	Records        atomic.Uint64 // UniRec records emitted (one per flow sample)
	DecodeErrors   atomic.Uint64 // malformed datagrams (samples after the damage are lost)
	UnknownSamples atomic.Uint64 // samples of other enterprises or formats, skipped
	UnknownRecords atomic.Uint64 // flow or counter records of other formats, skipped
	HeaderErrors   atomic.Uint64 // raw packet headers that are not IP or did not parse
	// SequenceErrors counts datagrams whose sequence number was not the
	// previous one plus one; SequenceLost the datagrams missed by forward
	// gaps (a backward jump, an agent restart, only counts as an error).
	// The overflow series (agents beyond MaxAgents) tracks no sequence.
	SequenceErrors atomic.Uint64
	SequenceLost   atomic.Uint64

	seqMu   sync.Mutex
	seen    bool
	lastSeq uint32
}

func (a *SflowAgentCounters) sequence(seq uint32) {
	a.seqMu.Lock()
	defer a.seqMu.Unlock()
	if a.seen && seq != a.lastSeq+1 {
		a.SequenceErrors.Add(1)
		if gap := seq - a.lastSeq - 1; gap < 1<<31 {
			a.SequenceLost.Add(uint64(gap))
		}
	}
	a.seen, a.lastSeq = true, seq
}

type sflowAgentKey struct {
	addr netip.Addr
	sub  uint32
}

type sflowAgents struct {
	mu       sync.RWMutex
	m        map[sflowAgentKey]*SflowAgentCounters
	max      int
	overflow SflowAgentCounters
}

func (t *sflowAgents) get(addr netip.Addr, sub uint32) *SflowAgentCounters {
	k := sflowAgentKey{addr.Unmap(), sub}
	t.mu.RLock()
	a := t.m[k]
	t.mu.RUnlock()
	if a != nil {
		return a
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if a = t.m[k]; a != nil {
		return a
	}
	if len(t.m) >= t.max {
		return &t.overflow
	}
	a = &SflowAgentCounters{}
	t.m[k] = a
	return a
}

// Agents calls fn with the counters of every agent (address and
// sub-agent id) seen so far; agents beyond MaxAgents share one series with
// an invalid address.
func (s *SflowSource) Agents(fn func(agent netip.Addr, subAgent uint32, c *SflowAgentCounters)) {
	s.agents.mu.RLock()
	defer s.agents.mu.RUnlock()
	for k, a := range s.agents.m {
		fn(k.addr, k.sub, a)
	}
	if s.agents.overflow.Datagrams.Load() > 0 {
		fn(netip.Addr{}, 0, &s.agents.overflow)
	}
}

// SflowInterfaceKey identifies an interface of an agent.
type SflowInterfaceKey struct {
	Agent   netip.Addr
	IfIndex uint32
}

type sflowInterfaces struct {
	mu      sync.Mutex
	m       map[SflowInterfaceKey]*sflow.CounterSample
	refused atomic.Uint64
}

func (t *sflowInterfaces) put(agent netip.Addr, cs *sflow.CounterSample) {
	idx := cs.SourceIDIndex
	if cs.HasIf {
		idx = cs.If.Index
	}
	k := SflowInterfaceKey{agent.Unmap(), idx}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[k]
	if c == nil {
		if len(t.m) >= maxSflowInterfaces {
			t.refused.Add(1)
			return
		}
		c = &sflow.CounterSample{}
		t.m[k] = c
	}
	// A sample may carry the generic and the Ethernet record or only one.
	if cs.HasIf {
		c.HasIf, c.If = true, cs.If
	}
	if cs.HasEthernet {
		c.HasEthernet, c.Ethernet = true, cs.Ethernet
	}
	c.Sequence, c.SourceIDType, c.SourceIDIndex = cs.Sequence, cs.SourceIDType, cs.SourceIDIndex
}

// Interfaces calls fn with the last counters every agent reported for each
// of its interfaces (counter samples).
func (s *SflowSource) Interfaces(fn func(k SflowInterfaceKey, c *sflow.CounterSample)) {
	s.ifs.mu.Lock()
	defer s.ifs.mu.Unlock()
	for k, c := range s.ifs.m {
		fn(k, c)
	}
}

// SocketDrops returns the datagrams the kernel dropped because a receive
// buffer was full (Linux SO_RXQ_OVFL).
func (s *SflowSource) SocketDrops() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.unread.Load()
	for i := range s.drops {
		n += uint64(s.drops[i].Load())
	}
	return n
}

// ReadErrors counts socket errors other than shutdown, and datagrams cut
// because they were longer than the receive buffer.
func (s *SflowSource) ReadErrors() uint64 { return s.readErrors.Load() }

// InterfacesRefused counts counter samples dropped because the interface
// table was full.
func (s *SflowSource) InterfacesRefused() uint64 { return s.ifs.refused.Load() }

// SflowTotals are the agent counters summed over every agent.
type SflowTotals struct {
	Datagrams, FlowSamples, CounterSamples, Records uint64
	DecodeErrors, UnknownSamples, UnknownRecords    uint64
	HeaderErrors, SequenceErrors, SequenceLost      uint64
}

// Totals sums the counters of every agent.
func (s *SflowSource) Totals() SflowTotals {
	var t SflowTotals
	s.Agents(func(_ netip.Addr, _ uint32, c *SflowAgentCounters) {
		t.Datagrams += c.Datagrams.Load()
		t.FlowSamples += c.FlowSamples.Load()
		t.CounterSamples += c.CounterSamples.Load()
		t.Records += c.Records.Load()
		t.DecodeErrors += c.DecodeErrors.Load()
		t.UnknownSamples += c.UnknownSamples.Load()
		t.UnknownRecords += c.UnknownRecords.Load()
		t.HeaderErrors += c.HeaderErrors.Load()
		t.SequenceErrors += c.SequenceErrors.Load()
		t.SequenceLost += c.SequenceLost.Load()
	})
	return t
}

// SflowSourceKey identifies a data source (sampler) of an agent.
type SflowSourceKey struct {
	Agent         netip.Addr
	SubAgent      uint32
	SourceIDType  uint32
	SourceIDIndex uint32
}

// SflowDrops is what a data source of an agent says it could not sample
// for lack of resources (the drops field of its flow samples).
type SflowDrops struct {
	// Reported is the drops field of the data source's latest flow sample:
	// the agent's cumulative count, which starts again from 0 when the
	// agent or the data source restarts.
	Reported uint32
	// Total sums the drops across restarts and never goes backwards: the
	// first report counts whole, later ones add their increase over the
	// previous report, and the first report after a restart counts whole
	// again (see sflowDrops.put for how a restart is told apart from a
	// late datagram).
	Total uint64
}

// sflowReorderSlack is how far (ms of agent uptime) a flow sample with an
// older sequence number may lag the latest one and still be taken for a
// datagram the network delayed rather than for an agent restart.
const sflowReorderSlack = 2000

// sflowDrops tracks the drops each data source reports. A source gets an
// entry with its first non-zero report; from then on each of its flow
// samples updates it, zeros included.
type sflowDrops struct {
	mu sync.RWMutex
	m  map[SflowSourceKey]*sflowDropState
	n  atomic.Int32 // len(m), read without the lock on the hot path
}

type sflowDropState struct {
	mu     sync.Mutex
	seq    uint32 // sample sequence number of the latest report
	uptime uint32 // datagram uptime (ms) of the latest report
	SflowDrops
}

// track reports whether a flow sample with these drops needs put: it has
// drops, or some data source has an entry that a zero may reset.
func (t *sflowDrops) track(drops uint32) bool { return drops != 0 || t.n.Load() != 0 }

// put records a data source's report. The agent's count is cumulative, so
// Total grows by the increase over the last report. A report lower than the
// last one, or one whose sample sequence number went back while the uptime
// went back by more than sflowReorderSlack (or forward: the data source
// alone was reset), comes from a restarted agent or data source: Reported
// takes it and Total adds it whole. A sample whose sequence number went back
// by a moment of uptime at most, with no more drops than the last report,
// is a late datagram: its drops are already in the newer report, and it
// changes nothing.
func (t *sflowDrops) put(k SflowSourceKey, seq, uptime, drops uint32) {
	t.mu.RLock()
	st := t.m[k]
	t.mu.RUnlock()
	if st == nil {
		if drops == 0 {
			return
		}
		t.mu.Lock()
		if st = t.m[k]; st == nil {
			if len(t.m) >= maxSflowInterfaces {
				t.mu.Unlock()
				return
			}
			st = &sflowDropState{seq: seq, uptime: uptime, SflowDrops: SflowDrops{Reported: drops, Total: uint64(drops)}}
			t.m[k] = st
			t.n.Store(int32(len(t.m)))
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	behind := int32(seq-st.seq) < 0
	back := int32(st.uptime - uptime) // > 0: the uptime went back
	switch {
	case behind && back >= 0 && back <= sflowReorderSlack && drops <= st.Reported:
		return // late datagram
	case drops < st.Reported || (behind && (back > sflowReorderSlack || back < 0)):
		st.Total += uint64(drops) // restart: counting starts anew
	default:
		st.Total += uint64(drops - st.Reported)
	}
	st.seq, st.uptime, st.Reported = seq, uptime, drops
}

// AgentDrops calls fn with the drops each data source of an agent reported
// in its flow samples (sources that never reported a drop are absent).
func (s *SflowSource) AgentDrops(fn func(k SflowSourceKey, d SflowDrops)) {
	s.agentDrops.mu.RLock()
	defer s.agentDrops.mu.RUnlock()
	for k, st := range s.agentDrops.m {
		st.mu.Lock()
		d := st.SflowDrops
		st.mu.Unlock()
		fn(k, d)
	}
}
