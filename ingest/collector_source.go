package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/collector"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/unirec"
)

// DefaultDrain is how long the collector keeps reading its sockets after it
// was told to stop, so datagrams already queued in the kernel are decoded
// and delivered instead of lost. A UDP socket that still yields datagrams
// is read on, each datagram extending its drain by Drain again, for at most
// maxDrainFactor times Drain: a busy or slow machine may take longer than
// Drain to empty a full socket buffer.
const DefaultDrain = 200 * time.Millisecond

// maxDrainFactor bounds the drain of a socket that keeps yielding
// datagrams (an exporter still sending) to this many times Drain.
const maxDrainFactor = 10

// CollectorConfig configures a collector source.
type CollectorConfig struct {
	// Name identifies the source in logs and metrics.
	Name string
	// UDP addresses ("host:port") receiving NetFlow v5, v9 and IPFIX. An
	// empty host (":4739") or "[::]" receives IPv4 and IPv6 on one socket.
	UDP []string
	// TCP addresses receiving IPFIX over TCP.
	TCP []string
	// Sockets is the number of SO_REUSEPORT sockets per UDP address, each
	// with its own reader goroutine (Linux); 0 means 1.
	Sockets int
	// ReceiveBuffer is SO_RCVBUF in bytes for UDP sockets; 0 keeps the
	// system default (the kernel caps it at net.core.rmem_max).
	ReceiveBuffer int
	// TemplateLifetime, ApplySampling and Table are passed to the decoder
	// (see collector.Config).
	TemplateLifetime time.Duration
	// MaxExporters bounds the exporter table (collector.Config.MaxExporters).
	MaxExporters  int
	ApplySampling bool
	// Sampling gives intervals to exporters that announce none, or
	// overrides theirs (collector.Config.Sampling).
	Sampling collector.Sampling
	Table    *converters.Table
	// Drain is how long to keep reading after stop, or after the last
	// datagram read since (see DefaultDrain); 0 means DefaultDrain.
	Drain time.Duration
	// StateFile, when set, persists the exporters' templates (and sampling
	// state) across restarts: loaded at start, saved every StateInterval and
	// at stop. Exporters that send templates rarely then lose nothing.
	StateFile string
	// StateInterval is the period of state saves; 0 means DefaultStateInterval.
	StateInterval time.Duration
}

// DefaultStateInterval is how often the template state is saved while
// running (besides at stop), bounding what a crash loses.
const DefaultStateInterval = time.Minute

// CollectorSource receives export messages over UDP and TCP and decodes them
// into every target's template. Malformed messages are counted per exporter
// by the decoder and logged through a sampled logger; they never stop it.
type CollectorSource struct {
	cfg    CollectorConfig
	log    *zap.Logger
	errLog *zap.Logger

	mu   sync.Mutex
	udp  []*udpSocket
	tcp  []*net.TCPListener
	decs atomic.Pointer[decoderSet] // read per message; Retarget swaps it

	retargetMu sync.Mutex
	unread     atomic.Uint64   // datagrams left queued when a stop's drain ended
	readers    readerGates     // Retarget holds every reader between messages
	emitCtx    context.Context // records go out under it (Run's, plus the drain)

	drops      []atomic.Uint32 // SO_RXQ_OVFL per UDP socket (cumulative)
	readErrors atomic.Uint64
}

// NewCollector returns a collector source; it binds nothing yet (see Listen).
func NewCollector(cfg CollectorConfig, log *zap.Logger) (*CollectorSource, error) {
	if len(cfg.UDP) == 0 && len(cfg.TCP) == 0 {
		return nil, fmt.Errorf("collector %s: no UDP or TCP address to listen on", cfg.Name)
	}
	if cfg.Sockets < 0 || cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("collector %s: negative sockets (%d) or receive buffer (%d)", cfg.Name, cfg.Sockets, cfg.ReceiveBuffer)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrain
	}
	if cfg.StateInterval <= 0 {
		cfg.StateInterval = DefaultStateInterval
	}
	if log == nil {
		log = zap.NewNop()
	}
	log = log.With(zap.String("source", cfg.Name))
	// Malformed input is logged at most 5 times per second per message
	// text; the per-exporter counters carry the full story.
	errLog := sampled(log)
	return &CollectorSource{cfg: cfg, log: log, errLog: errLog}, nil
}

// Name returns the configured name.
func (c *CollectorSource) Name() string { return c.cfg.Name }

// Listen binds every socket, so that address errors surface before the
// pipeline starts. Run calls it when it has not been called.
func (c *CollectorSource) Listen(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.udp) > 0 || len(c.tcp) > 0 {
		return nil
	}
	n := max(c.cfg.Sockets, 1)
	if !reusePortSupported {
		n = 1
	}
	lc := net.ListenConfig{Control: controlUDP(n > 1)}
	for _, addr := range c.cfg.UDP {
		bind := addr
		for i := range n {
			pc, err := lc.ListenPacket(ctx, "udp", bind)
			if err != nil {
				c.closeLocked()
				return fmt.Errorf("collector %s: listen udp %s: %w", c.cfg.Name, addr, err)
			}
			conn := pc.(*net.UDPConn)
			if c.cfg.ReceiveBuffer > 0 {
				if err := conn.SetReadBuffer(c.cfg.ReceiveBuffer); err != nil {
					conn.Close()
					c.closeLocked()
					return fmt.Errorf("collector %s: udp %s: receive buffer of %d bytes: %w", c.cfg.Name, addr, c.cfg.ReceiveBuffer, err)
				}
			}
			sock, err := newUDPSocket(conn)
			if err != nil {
				c.closeLocked()
				return fmt.Errorf("collector %s: udp %s: %w", c.cfg.Name, addr, err)
			}
			c.udp = append(c.udp, sock)
			if i == 0 { // port 0: the other sockets join the port the first one got
				bind = sock.LocalAddr().String()
			}
		}
	}
	var tl net.ListenConfig
	for _, addr := range c.cfg.TCP {
		ln, err := tl.Listen(ctx, "tcp", addr)
		if err != nil {
			c.closeLocked()
			return fmt.Errorf("collector %s: listen tcp %s: %w", c.cfg.Name, addr, err)
		}
		c.tcp = append(c.tcp, ln.(*net.TCPListener))
	}
	c.drops = make([]atomic.Uint32, len(c.udp))
	return nil
}

func (c *CollectorSource) closeLocked() {
	for _, u := range c.udp {
		u.Close()
	}
	for _, l := range c.tcp {
		l.Close()
	}
	c.udp, c.tcp = nil, nil
}

// UDPAddrs returns the bound UDP addresses (one per socket).
func (c *CollectorSource) UDPAddrs() []netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []netip.AddrPort
	for _, u := range c.udp {
		out = append(out, u.LocalAddr())
	}
	return out
}

// TCPAddrs returns the bound TCP addresses.
func (c *CollectorSource) TCPAddrs() []netip.AddrPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []netip.AddrPort
	for _, l := range c.tcp {
		out = append(out, l.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// decoderSet is one decoder per target. decs[0] is the decoder that has
// been there longest: the exporter counters come from it, plus base when a
// Retarget dropped the decoder they used to come from (so they go on).
type decoderSet struct {
	targets []*Target // targets[i] belongs to decs[i]
	decs    []*collector.Decoder
	base    *counterBase
}

// readerGates lets Retarget stop every reader between two messages: a
// reader holds its own gate while it decodes (no contention: each reader
// has its own), Retarget takes them all.
type readerGates struct {
	mu    sync.Mutex
	gates map[*sync.Mutex]struct{}
}

func (g *readerGates) add() *sync.Mutex {
	m := new(sync.Mutex)
	g.mu.Lock()
	if g.gates == nil {
		g.gates = map[*sync.Mutex]struct{}{}
	}
	g.gates[m] = struct{}{}
	g.mu.Unlock()
	return m
}

func (g *readerGates) remove(m *sync.Mutex) {
	g.mu.Lock()
	delete(g.gates, m)
	g.mu.Unlock()
}

// hold waits until no reader decodes and keeps them all waiting (new
// readers too) until release.
func (g *readerGates) hold() {
	g.mu.Lock()
	for m := range g.gates {
		m.Lock()
	}
}

func (g *readerGates) release() {
	for m := range g.gates {
		m.Unlock()
	}
	g.mu.Unlock()
}

func (c *CollectorSource) newDecoder(tg *Target) (*collector.Decoder, error) {
	ctx := c.emitCtx
	return collector.NewDecoder(collector.Config{
		Output:           tg.Template(),
		Table:            c.cfg.Table,
		TemplateLifetime: c.cfg.TemplateLifetime,
		ApplySampling:    c.cfg.ApplySampling,
		Sampling:         c.cfg.Sampling,
		MaxExporters:     c.cfg.MaxExporters,
	}, &targetSink{ctx: ctx, tg: tg})
}

// targetSink hands a decoder's records to a target: a data set's records
// in one EmitFixed call when the template has no variable-length fields,
// else one Emit per record.
type targetSink struct {
	ctx context.Context
	tg  *Target
}

func (s *targetSink) Record(_ collector.Exporter, rec unirec.Record) { s.tg.Emit(s.ctx, rec.Data) }

func (s *targetSink) Records(_ collector.Exporter, data []byte, size int) {
	s.tg.EmitFixed(s.ctx, data, size)
}

// Retarget switches a running collector to other targets without closing
// a socket or a TCP session: decoders of targets it keeps go on as they
// are, with their template state; new targets get decoders that start with
// the templates learnt so far; the decoders of removed targets are dropped
// (with no target at all, the longest-serving decoder stays).
// The exporter counters go on across the switch even when the decoder they
// were read from is dropped (counterBase). The readers wait between two
// messages while it runs, so no message is decoded by one set and not the
// other.
func (c *CollectorSource) Retarget(targets []*Target) error {
	c.retargetMu.Lock()
	defer c.retargetMu.Unlock()
	cur := c.decs.Load()
	if cur == nil {
		return fmt.Errorf("collector %s: not running", c.cfg.Name)
	}
	// Kept decoders first, in their order (the one there longest leads),
	// then the new ones.
	type entry struct {
		tg  *Target
		dec *collector.Decoder
		old int // index in cur, len(cur.decs) for a new decoder
	}
	var entries []entry
	var added []*collector.Decoder
	for _, tg := range targets {
		if i := slices.Index(cur.targets, tg); i >= 0 {
			entries = append(entries, entry{tg, cur.decs[i], i})
			continue
		}
		d, err := c.newDecoder(tg)
		if err != nil {
			return fmt.Errorf("collector %s: %w", c.cfg.Name, err)
		}
		entries, added = append(entries, entry{tg, d, len(cur.decs)}), append(added, d)
	}
	if len(entries) == 0 {
		// No output for a moment (a reload replacing them all): the
		// longest-serving decoder goes on alone, into its target that has
		// no outputs now, so that templates and counters are there when
		// outputs come back.
		entries = append(entries, entry{cur.targets[0], cur.decs[0], 0})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.old - b.old })
	next := &decoderSet{}
	for _, e := range entries {
		next.targets, next.decs = append(next.targets, e.tg), append(next.decs, e.dec)
	}
	c.readers.hold()
	defer c.readers.release()
	for _, d := range added {
		cur.decs[0].CopyTemplates(d)
	}
	next.base = cur.base
	if next.decs[0] != cur.decs[0] {
		next.base = rebase(cur.base, cur.decs[0], next.decs[0])
	}
	c.decs.Store(next)
	return nil
}

// Run decodes until ctx ends, then drains the sockets for up to Drain and
// returns once every reader has stopped and every socket is closed.
func (c *CollectorSource) Run(ctx context.Context, targets []*Target) error {
	if err := c.Listen(ctx); err != nil {
		return err
	}
	// Records decoded while draining must still reach the outputs, so
	// emission uses a context that outlives ctx by the drain period.
	emitCtx, cancelEmit := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelEmit()
	if len(targets) == 0 {
		c.Close()
		return fmt.Errorf("collector %s: no targets", c.cfg.Name)
	}
	c.retargetMu.Lock()
	c.emitCtx = emitCtx
	set := &decoderSet{}
	for _, tg := range targets {
		d, err := c.newDecoder(tg)
		if err != nil {
			c.retargetMu.Unlock()
			c.Close()
			return fmt.Errorf("collector %s: %w", c.cfg.Name, err)
		}
		set.targets, set.decs = append(set.targets, tg), append(set.decs, d)
	}
	c.decs.Store(set)
	c.loadState(set.decs)
	c.retargetMu.Unlock()

	c.mu.Lock()
	udp, tcp := c.udp, c.tcp
	c.mu.Unlock()
	var wg sync.WaitGroup
	var drainEnd atomic.Int64 // Unix ns: the latest a drain may last; 0 until the stop
	conns := &connSet{m: make(map[*net.TCPConn]struct{})}
	for i, u := range udp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readUDP(ctx, u, &c.drops[i], &drainEnd)
		}()
	}
	for _, l := range tcp {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.acceptTCP(ctx, l, conns, &wg)
		}()
	}
	stopped := make(chan struct{})
	go func() {
		// The state is saved every StateInterval and, within a second,
		// after templates changed: a crash right after an exporter's
		// templates arrived then loses nothing.
		var tick <-chan time.Time
		if c.cfg.StateFile != "" {
			t := time.NewTicker(min(c.cfg.StateInterval, time.Second))
			defer t.Stop()
			tick = t.C
		}
		lastSave, lastTemplates := time.Now(), c.templateChanges()
	wait:
		for {
			select {
			case <-ctx.Done():
				break wait
			case <-stopped:
				return
			case now := <-tick:
				if n := c.templateChanges(); n != lastTemplates || now.Sub(lastSave) >= c.cfg.StateInterval {
					c.saveState()
					lastSave, lastTemplates = now, n
				}
			}
		}
		now := time.Now()
		deadline := now.Add(c.cfg.Drain)
		drainEnd.Store(now.Add(maxDrainFactor * c.cfg.Drain).UnixNano())
		stopEmit(emitCtx, cancelEmit, maxDrainFactor*c.cfg.Drain, stopped)
		for _, u := range udp {
			u.SetReadDeadline(deadline)
		}
		// Listeners keep accepting until the deadline: a connection the
		// kernel queued before the stop is read too, not thrown away with
		// its data.
		for _, l := range tcp {
			l.SetDeadline(deadline)
		}
		conns.setDeadline(deadline)
	}()
	wg.Wait()
	close(stopped)
	c.unread.Add(uint64(countUnread(c.log, c.cfg.Name, udp, c.drops)))
	c.Close()
	c.saveState()
	return nil
}

// templateChanges counts template arrivals, withdrawals and expiries.
func (c *CollectorSource) templateChanges() uint64 {
	t := c.Totals()
	if t == nil {
		return 0
	}
	return t.TemplatesAdded.Load() + t.TemplatesWithdrawn.Load() + t.TemplatesExpired.Load()
}

// loadState installs the saved templates into every decoder (each decoder
// compiles its own plans for its output template). A missing file is a
// first start; a bad one is logged and ignored.
func (c *CollectorSource) loadState(decs []*collector.Decoder) {
	if c.cfg.StateFile == "" {
		return
	}
	for _, d := range decs {
		if err := d.LoadTemplatesFile(c.cfg.StateFile); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.log.Warn("template state not loaded", zap.String("file", c.cfg.StateFile), zap.Error(err))
			}
			return
		}
	}
	c.log.Info("template state loaded", zap.String("file", c.cfg.StateFile))
}

// saveState writes the first decoder's templates (every decoder sees the
// same messages, so they hold the same templates).
func (c *CollectorSource) saveState() {
	set := c.decs.Load()
	if c.cfg.StateFile == "" || set == nil {
		return
	}
	decs := set.decs
	if err := os.MkdirAll(filepath.Dir(c.cfg.StateFile), 0o755); err != nil {
		c.log.Warn("template state not saved", zap.Error(err))
		return
	}
	if err := decs[0].SaveTemplatesFile(c.cfg.StateFile); err != nil {
		c.log.Warn("template state not saved", zap.String("file", c.cfg.StateFile), zap.Error(err))
	}
}

// Close releases the sockets (Run does it when it returns).
func (c *CollectorSource) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

// readUDP decodes datagrams until the socket is closed or, once ctx ended,
// its drain is over: drainEnd (Unix ns, 0 until the stop) bounds how far
// each datagram read while draining may push the read deadline.
func (c *CollectorSource) readUDP(ctx context.Context, conn *udpSocket, drops *atomic.Uint32, drainEnd *atomic.Int64) {
	br, err := conn.reader()
	if err != nil {
		c.readErrors.Add(1)
		c.log.Error("udp socket cannot be read", zap.Error(err))
		return
	}
	gate := c.readers.add()
	defer c.readers.remove(gate)
	for over := false; !over; {
		n, err := br.Read()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return // drained (deadline reached) or closed
			}
			c.readErrors.Add(1)
			c.errLog.Warn("udp read failed", zap.Error(err))
			continue
		}
		// Datagrams still arriving after the longest drain: the ones
		// just read are decoded, then the reader ends (what stays
		// queued is counted by countUnread).
		over = drainOver(ctx, conn, c.cfg.Drain, drainEnd)
		gate.Lock()
		// One clock read for the datagrams of one read: they arrived together.
		var now time.Time
		if n > 0 {
			now = time.Now()
		}
		for i := range n {
			msg, from, err := br.Message(i)
			if err != nil {
				c.readErrors.Add(1)
				c.errLog.Warn("udp datagram cut", zap.Stringer("exporter", from), zap.Error(err))
				continue
			}
			c.decodeAt(from, msg, false, now)
		}
		gate.Unlock()
		if n > 0 {
			if v, ok := br.Drops(n - 1); ok {
				drops.Store(v)
			}
		}
	}
}

// countUnread is called once the readers of a stopping source have ended:
// it discards what is still queued on each socket (the drain ended first:
// an output that blocked, or a flood that outlasted the longest drain; see
// discardQueued), brings drops[i] up to the kernel's final count for
// udp[i] (drops after the last datagram read), logs what was lost and
// returns the number of datagrams discarded, which the source counts as
// socket drops.
func countUnread(log *zap.Logger, source string, udp []*udpSocket, drops []atomic.Uint32) int {
	n := 0
	for i, u := range udp {
		unread, kd, ok := u.discardQueued()
		n += unread
		if ok && i < len(drops) && kd > drops[i].Load() {
			log.Warn("datagrams dropped by the kernel after the last read (receive buffer full)", zap.String("source", source), zap.Uint32("datagrams", kd-drops[i].Load()))
			drops[i].Store(kd)
		}
	}
	if n > 0 {
		log.Warn("datagrams left unread when the drain ended: lost, counted as socket drops", zap.String("source", source), zap.Int("datagrams", n))
	}
	return n
}

// stopEmit cancels emission (cancel) after the longest drain, unless the
// source has stopped by then. An output that blocks (a u: or t: output
// with timeout=WAIT and no client) must not hold a stop up for ever: its
// waiting send then ends, the record is counted as dropped by that output,
// and the readers see their deadline and end.
func stopEmit(ctx context.Context, cancel context.CancelFunc, after time.Duration, stopped <-chan struct{}) {
	go func() {
		t := time.NewTimer(after)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-stopped:
		case <-ctx.Done():
		}
	}()
}

// drainOver is called after each successful read. During a drain (ctx
// done and the stop has set drainEnd) it moves the socket's deadline to
// Drain from now, capped at drainEnd, so a socket that keeps yielding data
// is read on; it reports whether drainEnd has passed, which ends the drain
// even when datagrams keep arriving.
func drainOver(ctx context.Context, conn *udpSocket, drain time.Duration, drainEnd *atomic.Int64) bool {
	if ctx.Err() == nil {
		return false
	}
	end := drainEnd.Load()
	if end == 0 {
		return false
	}
	now := time.Now()
	if now.UnixNano() >= end {
		return true
	}
	conn.SetReadDeadline(time.Unix(0, min(now.Add(drain).UnixNano(), end)))
	return false
}

func (c *CollectorSource) decode(from netip.AddrPort, msg []byte, stream bool) {
	c.decodeAt(from, msg, stream, time.Time{})
}

// decodeAt hands msg to every decoder. now is when the datagram arrived
// (the decoders age templates by it); zero lets them read their clock.
func (c *CollectorSource) decodeAt(from netip.AddrPort, msg []byte, stream bool, now time.Time) {
	for i, d := range c.decs.Load().decs {
		var err error
		switch {
		case stream:
			err = d.DecodeStream(from, msg)
		case now.IsZero():
			err = d.Decode(from, msg)
		default:
			err = d.DecodeAt(from, msg, now)
		}
		// Every decoder sees the same bytes; report the first one's verdict.
		if err != nil && i == 0 {
			if errors.Is(err, collector.ErrTooManyExporters) {
				c.errLog.Warn("exporter table full: message of a new exporter dropped", zap.Stringer("exporter", from), zap.Error(err))
			} else {
				c.errLog.Warn("malformed export message", zap.Stringer("exporter", from), zap.Error(err))
			}
		}
	}
}

type connSet struct {
	mu       sync.Mutex
	m        map[*net.TCPConn]struct{}
	deadline time.Time
}

func (s *connSet) add(c *net.TCPConn) {
	s.mu.Lock()
	s.m[c] = struct{}{}
	if !s.deadline.IsZero() {
		c.SetReadDeadline(s.deadline)
	}
	s.mu.Unlock()
}

func (s *connSet) remove(c *net.TCPConn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

func (s *connSet) setDeadline(t time.Time) {
	s.mu.Lock()
	s.deadline = t
	for c := range s.m {
		c.SetReadDeadline(t)
	}
	s.mu.Unlock()
}

func (c *CollectorSource) acceptTCP(ctx context.Context, l *net.TCPListener, conns *connSet, wg *sync.WaitGroup) {
	for {
		conn, err := l.AcceptTCP()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			c.readErrors.Add(1)
			c.errLog.Warn("tcp accept failed", zap.Error(err))
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: do not spin
			continue
		}
		conns.add(conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conns.remove(conn)
			defer conn.Close()
			c.readStream(conn)
		}()
	}
}

// readStream decodes back-to-back IPFIX messages from one connection. A
// malformed message ends the connection: after a lying length the stream
// cannot be resynchronised.
func (c *CollectorSource) readStream(conn *net.TCPConn) {
	ap := conn.RemoteAddr().(*net.TCPAddr).AddrPort()
	from := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	gate := c.readers.add()
	defer c.readers.remove(gate)
	defer func() {
		gate.Lock()
		for _, d := range c.decs.Load().decs {
			d.EndStream(from) // the connection was the template session
		}
		gate.Unlock()
	}()
	r := bufio.NewReaderSize(conn, 64<<10)
	buf := make([]byte, collector.MaxMessageLen)
	for {
		msg, err := collector.ReadMessage(r, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
				c.readErrors.Add(1)
				c.errLog.Warn("ipfix stream ended by bad input", zap.Stringer("exporter", from), zap.Error(err))
			}
			return
		}
		gate.Lock()
		c.decode(from, msg, true)
		gate.Unlock()
	}
}

// Exporters calls fn with the counters of every exporter seen so far (as
// counted by the first target's decoder: every decoder sees the same input).
// After a Retarget dropped the decoder that counted first, cnt is a copy
// that carries its counts on (see counterBase); exporters the remaining
// decoder never saw are forgotten, as an eviction would.
func (c *CollectorSource) Exporters(fn func(addr netip.Addr, cnt *collector.Counters)) {
	set := c.decs.Load()
	switch {
	case set == nil:
	case set.base == nil:
		set.decs[0].Exporters(fn)
	default:
		set.decs[0].Exporters(func(a netip.Addr, cnt *collector.Counters) { fn(a, withBase(cnt, set.base.exp[a])) })
	}
}

// ExporterSeries calls fn with the counters of every (exporter address,
// protocol version, observation domain) seen so far, from the first
// target's decoder like Exporters.
func (c *CollectorSource) ExporterSeries(fn func(k collector.ExporterKey, cnt *collector.Counters)) {
	set := c.decs.Load()
	switch {
	case set == nil:
	case set.base == nil:
		set.decs[0].ExporterSeries(fn)
	default:
		set.decs[0].ExporterSeries(func(k collector.ExporterKey, cnt *collector.Counters) { fn(k, withBase(cnt, set.base.ser[k])) })
	}
}

// Totals returns the decoder-wide counters, or nil before Run. After a
// Retarget dropped the decoder that counted first, it is a copy of them as
// they are now (see Exporters).
func (c *CollectorSource) Totals() *collector.Counters {
	set := c.decs.Load()
	switch {
	case set == nil:
		return nil
	case set.base == nil:
		return set.decs[0].Totals()
	default:
		return withBase(set.decs[0].Totals(), set.base.total)
	}
}

// SocketDrops returns the datagrams the kernel dropped because a receive
// buffer was full (Linux SO_RXQ_OVFL, as last reported with a datagram).
func (c *CollectorSource) SocketDrops() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.unread.Load()
	for i := range c.drops {
		n += uint64(c.drops[i].Load())
	}
	return n
}

// ReadErrors counts socket errors other than shutdown.
func (c *CollectorSource) ReadErrors() uint64 { return c.readErrors.Load() }
