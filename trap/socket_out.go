package trap

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Timing constants of the socket output.
const (
	// helloWriteTimeout bounds writing the hello to a new client. libtrap's
	// input gives up after about 200 ms; the write normally takes microseconds.
	helloWriteTimeout = time.Second
	// tlsHandshakeTimeout bounds the server side of a T: handshake.
	tlsHandshakeTimeout = 5 * time.Second
)

// contBuf is one container: 14 reserved header bytes followed by messages.
// Its backing array is allocated once with the output's container limit and
// reused, so steady-state sends allocate nothing.
type contBuf struct {
	b      []byte
	first  uint64 // number of the container's first message (true count)
	msgs   int
	eos    int  // end-of-stream messages among msgs: markers, not records
	users  int  // client writers currently writing b
	orphan bool // replaced in the ring while a writer still held it
	// delivered: a client got the whole container; counted: its messages
	// are in the output's dropped counter. A finished container ends up
	// with exactly one of the two (see settleLocked).
	delivered, counted bool
}

// sockClient is one connected input. Its writer goroutine sends the
// finished containers next, next+1, ... in ring order.
type sockClient struct {
	conn    net.Conn
	id      string
	next    uint64 // index of the next finished container to send
	leaving bool   // disconnect after sending containers below limit
	limit   uint64
	expect  uint64 // number of the first message the next container should hold
	gone    error  // set when the client disconnected

	sentConts, sentMsgs, skipped uint64
}

// socketOutput is the u:, t: and T: output: a server that fans one
// container stream out to up to max_clients inputs (trap-wire.md §5).
type socketOutput struct {
	ep        socketEndpoint
	log       *zap.Logger
	opts      SocketOptions
	limit     int // largest container on the wire, header included
	buffered  bool
	timeout   Timeout
	autoflush time.Duration
	ln        net.Listener

	mu       sync.Mutex
	cond     *sync.Cond // ring progress, clients coming and going, shutdown
	hello    []byte     // wire form of the current hello; nil: format not set
	helloOK  bool       // false: refuse clients with 8 zero bytes
	act      *contBuf   // the container being filled
	actSeq   uint64     // sequence number its header will carry
	accepted uint64     // messages accepted into containers
	ring     []*contBuf // finished container k lives in ring[k%len(ring)]
	head     uint64     // number of containers finished so far
	free     []*contBuf // orphans whose writers are done
	clients  map[*sockClient]struct{}
	nActive  int // clients not leaving
	nextID   uint64
	lastFin  time.Time
	shut     bool

	dropped, tooBig, buffers, autoflushes uint64
	deliveredMsgs                         uint64 // messages of delivered containers
	dropEvents                            uint64 // containers counted as dropped

	// watched is the Done channel of the context whose end wakes waiters;
	// unwatch stops that.
	watched <-chan struct{}
	unwatch func() bool

	done chan struct{} // closed by close: stops accept loop and autoflush
	wg   sync.WaitGroup
}

// newSocketOutput opens the listener of a u:, t: or T: output.
func newSocketOutput(sp IfcSpec, e env) (outputIFC, error) {
	opts, rest, err := parseSocketOptions(sp.Params)
	if err != nil {
		return nil, err
	}
	ep, err := parseOutputEndpoint(sp.Kind, rest, e.socketDir)
	if err != nil {
		return nil, err
	}
	log := e.log
	if log == nil {
		log = zap.NewNop()
	}
	if sp.Timeout != Wait && sp.Timeout != HalfWait && sp.Timeout < 0 {
		return nil, fmt.Errorf("%w: output timeout %d", ErrBadParams, sp.Timeout)
	}
	ln, err := ep.listen()
	if err != nil {
		return nil, fmt.Errorf("%w: output %q: %v", ErrIO, sp.Raw, err)
	}
	o := &socketOutput{
		ep:   ep,
		log:  log.With(zap.String("ifc", sp.Raw)),
		opts: opts,
		// A C receiver's buffer holds 100000 payload bytes (§5.2), whatever buffer_size says.
		limit:     min(opts.BufferSize, ContainerHeaderSize+MaxPayload),
		buffered:  sp.Buffer,
		timeout:   sp.Timeout,
		autoflush: sp.Autoflush,
		ln:        ln,
		ring:      make([]*contBuf, opts.BufferCount),
		clients:   make(map[*sockClient]struct{}),
		lastFin:   time.Now(),
		done:      make(chan struct{}),
	}
	o.cond = sync.NewCond(&o.mu)
	o.act = o.newCont()
	o.wg.Add(1)
	go o.acceptLoop()
	if o.autoflush > 0 {
		o.wg.Add(1)
		go o.autoflushLoop()
	}
	return o, nil
}

func (o *socketOutput) newCont() *contBuf {
	return &contBuf{b: make([]byte, ContainerHeaderSize, o.limit)}
}

// addr is the listening address (tests use it to find a kernel-chosen port).
func (o *socketOutput) addr() net.Addr { return o.ln.Addr() }

// setFormat stores the hello. On a change every connected client is
// disconnected once it has the containers finished so far, so old-format
// data never reaches a client that negotiated the new format.
func (o *socketOutput) setFormat(h Hello) error {
	wire := AppendHello(nil, h)
	// UNKNOWN, or UniRec without a template, counts as "not set": clients
	// get 8 zero bytes (§4.2). JSON may carry an empty specifier.
	ok := h.Format == FormatRaw || h.Format == FormatJSON || (h.Format == FormatUniRec && h.Spec != "")
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.shut {
		return fmt.Errorf("%w: output is closed", ErrIO)
	}
	if o.hello != nil && !bytes.Equal(o.hello, wire) {
		if err := o.finishLocked(context.Background(), true); err != nil {
			return err
		}
		o.dismissLocked()
		o.log.Debug("data format changed: disconnecting clients", zap.String("spec", h.Spec))
	}
	o.hello, o.helloOK = wire, ok
	return nil
}

// dismissLocked makes every client leave after the containers finished so far.
func (o *socketOutput) dismissLocked() {
	for c := range o.clients {
		if !c.leaving {
			c.leaving, c.limit = true, o.head
			o.nActive--
		}
	}
	o.cond.Broadcast()
}

// send appends msg to the active container (trap-wire.md §5.2, §5.3).
func (o *socketOutput) send(ctx context.Context, msg []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sendLocked(ctx, msg)
}

// sendFixed sends the size-byte messages packed in data under one lock.
// A buffered output does per run what sendLocked does per message: it
// checks, waits for a client, finishes a full container, then copies as
// many records as fit in one tight loop and counts them once.
func (o *socketOutput) sendFixed(ctx context.Context, data []byte, size int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.buffered || size <= 1 || size+2 > o.limit-ContainerHeaderSize {
		// Unbuffered, each message is a container; an end-of-stream
		// marker and a message no container holds are counted apart.
		return eachFixed(data, size, func(msg []byte) error { return o.sendLocked(ctx, msg) })
	}
	stride, sent := size+2, 0
	for len(data) >= size {
		if o.shut {
			return sent, fmt.Errorf("%w: output %s is closed", ErrIO, o.ep.id)
		}
		if o.timeout == Wait && o.nActive == 0 {
			if err := o.waitClientLocked(ctx); err != nil {
				return sent, err
			}
		}
		if len(o.act.b)+stride > o.limit {
			if err := o.finishLocked(ctx, false); err != nil {
				return sent, err
			}
		}
		k := min((o.limit-len(o.act.b))/stride, len(data)/size)
		if o.act.msgs == 0 {
			o.act.first = o.accepted
		}
		end := len(o.act.b) + k*stride
		putFixed(o.act.b[len(o.act.b):end], data[:k*size], size)
		o.act.b = o.act.b[:end]
		o.act.msgs += k
		o.accepted += uint64(k)
		data = data[k*size:]
		sent += k
	}
	return sent, nil
}

// sendBatch appends the length-prefixed messages of wire (n of them, well
// framed) as sendLocked would one by one, copying runs of whole messages
// that fit the active container in one piece.
func (o *socketOutput) sendBatch(ctx context.Context, wire []byte, n int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.buffered {
		for len(wire) > 0 {
			m := 2 + int(binary.BigEndian.Uint16(wire))
			if err := o.sendLocked(ctx, wire[2:m]); err != nil {
				return err
			}
			wire = wire[m:]
		}
		return nil
	}
	for len(wire) > 0 {
		if o.shut {
			return fmt.Errorf("%w: output %s is closed", ErrIO, o.ep.id)
		}
		if o.timeout == Wait && o.nActive == 0 {
			if err := o.waitClientLocked(ctx); err != nil {
				return err
			}
		}
		k, cnt := fitRun(wire, n, o.limit-len(o.act.b))
		if cnt == 0 {
			// The first message does not fit: finish the container, or
			// drop the message when no container can hold it.
			if m := int(binary.BigEndian.Uint16(wire)); m+2 > o.limit-ContainerHeaderSize {
				if err := o.sendLocked(ctx, wire[2:2+m]); err != nil {
					return err
				}
				wire, n = wire[2+m:], n-1
				continue
			}
			if err := o.finishLocked(ctx, false); err != nil {
				return err
			}
			continue
		}
		if o.act.msgs == 0 {
			o.act.first = o.accepted
		}
		o.act.b = append(o.act.b, wire[:k]...)
		o.act.msgs += cnt
		o.accepted += uint64(cnt)
		wire, n = wire[k:], n-cnt
	}
	return nil
}

func (o *socketOutput) sendLocked(ctx context.Context, msg []byte) error {
	if o.shut {
		return fmt.Errorf("%w: output %s is closed", ErrIO, o.ep.id)
	}
	m := len(msg)
	if m+2 > o.limit-ContainerHeaderSize {
		// libtrap logs and drops the message, and send still succeeds.
		o.tooBig++
		o.dropped++
		if o.tooBig&(o.tooBig-1) == 0 {
			o.log.Warn("message larger than a container dropped", zap.Int("bytes", m),
				zap.Int("container", o.limit), zap.Uint64("dropped_so_far", o.tooBig))
		}
		return nil
	}
	if o.timeout == Wait && o.nActive == 0 {
		if err := o.waitClientLocked(ctx); err != nil {
			return err
		}
	}
	if len(o.act.b)+m+2 > o.limit {
		if err := o.finishLocked(ctx, false); err != nil {
			return err
		}
	}
	if o.act.msgs == 0 {
		o.act.first = o.accepted
	}
	o.act.b = AppendMessage(o.act.b, msg)
	o.act.msgs++
	if IsEOS(msg) {
		o.act.eos++
	}
	if !o.buffered {
		// libtrap takes the next container's number before counting this
		// message, so buffer=off numbers run 0, 0, 1, 2, ... (§5.1).
		err := o.finishLocked(ctx, false)
		o.accepted++
		return err
	}
	o.accepted++
	return nil
}

// flush finishes the active container (trap_send_flush).
func (o *socketOutput) flush(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.finishLocked(ctx, false)
}

// slotBlockedLocked reports whether finishing a container now would
// overwrite one a connected client has not sent yet.
func (o *socketOutput) slotBlockedLocked() bool {
	n := uint64(len(o.ring))
	for c := range o.clients {
		if !c.leaving && c.next+n <= o.head {
			return true
		}
	}
	return false
}

// finishLocked writes the active container's header, queues it in the ring
// and opens a new one. Unless force is set, WAIT and HALF_WAIT wait while
// the ring is full onto the slowest client (HALF_WAIT only while a client
// is connected); NO_WAIT and microsecond timeouts overwrite, and lagging
// clients jump forward.
func (o *socketOutput) finishLocked(ctx context.Context, force bool) error {
	if o.act.msgs == 0 {
		return nil // an empty container is never sent
	}
	if !force && (o.timeout == Wait || o.timeout == HalfWait) && o.slotBlockedLocked() {
		if err := o.waitSlotLocked(ctx); err != nil {
			return err
		}
	}
	a := o.act
	PutContainerHeader(a.b, uint32(len(a.b)-ContainerHeaderSize), o.actSeq, uint16(a.msgs))
	i := o.head % uint64(len(o.ring))
	old := o.ring[i]
	o.ring[i] = a
	switch {
	case old == nil:
		o.act = o.newCont()
	case old.users > 0:
		// Settled when its last writer is done.
		old.orphan = true
		if k := len(o.free); k > 0 {
			o.act, o.free = o.free[k-1], o.free[:k-1]
		} else {
			o.act = o.newCont()
		}
	default:
		o.dropLocked(old) // unless a client had it
		o.act = old
	}
	o.act.b, o.act.msgs, o.act.eos = o.act.b[:ContainerHeaderSize], 0, 0
	o.act.delivered, o.act.counted = false, false
	o.actSeq = o.accepted
	o.head++
	o.buffers++
	if o.nActive == 0 {
		o.dropLocked(a) // nobody will ever receive them
	}
	o.lastFin = time.Now()
	o.cond.Broadcast()
	return nil
}

// dropLocked counts the messages of a finished container as dropped
// unless a client got it or they are counted already. An end-of-stream
// message is a marker, not a record: it is never counted as dropped.
func (o *socketOutput) dropLocked(cb *contBuf) {
	if cb.delivered || cb.counted {
		return
	}
	cb.counted = true
	n := cb.msgs - cb.eos
	if n == 0 {
		return
	}
	o.dropped += uint64(n)
	o.dropEvents++
	if o.dropEvents&(o.dropEvents-1) == 0 { // 1st, 2nd, 4th, 8th, ... time
		o.log.Warn("messages dropped: no client received their container", zap.Int("messages", n),
			zap.Uint64("dropped_so_far", o.dropped))
	}
}

// dropUndeliveredLocked counts every container still in the ring that no
// client got: called when no client is left to get them, and at close.
func (o *socketOutput) dropUndeliveredLocked() {
	for _, cb := range o.ring {
		if cb != nil && cb.users == 0 {
			o.dropLocked(cb)
		}
	}
}

// wake broadcasts on the condition; context.AfterFunc uses it to end waits.
func (o *socketOutput) wake() {
	o.mu.Lock()
	o.cond.Broadcast()
	o.mu.Unlock()
}

// watchCtxLocked makes the end of ctx wake every waiter. The watch stays
// registered for the next wait with the same context, so a sender that
// waits for a slow client once per container does not allocate each time.
func (o *socketOutput) watchCtxLocked(ctx context.Context) {
	done := ctx.Done()
	if done == nil || done == o.watched {
		return
	}
	if o.unwatch != nil {
		o.unwatch()
	}
	o.watched, o.unwatch = done, context.AfterFunc(ctx, o.wake)
}

// waitClientLocked blocks a WAIT sender until a client is connected.
// libtrap polls every 100 ms; a condition variable wakes us as soon as
// the client is registered.
func (o *socketOutput) waitClientLocked(ctx context.Context) error {
	return o.waitLocked(ctx, func() bool { return o.nActive == 0 }, "waiting for a client")
}

// waitSlotLocked waits until the slowest client has sent the container
// the next finish overwrites (HALF_WAIT gives up when no client remains).
func (o *socketOutput) waitSlotLocked(ctx context.Context) error {
	return o.waitLocked(ctx, o.slotBlockedLocked, "waiting for a slow client")
}

// waitLocked waits on the condition while blocked() holds, until the
// output closes or ctx ends (both ErrTerminated).
func (o *socketOutput) waitLocked(ctx context.Context, blocked func() bool, what string) error {
	if !blocked() {
		return nil
	}
	o.watchCtxLocked(ctx)
	for blocked() {
		if o.shut {
			return fmt.Errorf("%w: output %s closed while %s", ErrTerminated, o.ep.id, what)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w: output %s %s: %v", ErrTerminated, o.ep.id, what, err)
		}
		o.cond.Wait()
	}
	return nil
}

func (o *socketOutput) acceptLoop() {
	defer o.wg.Done()
	for {
		conn, err := o.ln.Accept()
		if err != nil {
			select {
			case <-o.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			o.log.Error("accepting clients stopped", zap.Error(err))
			return
		}
		o.wg.Add(1)
		go o.serveClient(conn)
	}
}

// refuse tells a client that no format is set yet: 8 zero bytes, then close.
func refuse(conn net.Conn) {
	var zero [HelloHeaderSize]byte
	conn.SetWriteDeadline(time.Now().Add(helloWriteTimeout))
	conn.Write(zero[:])
}

// serveClient registers a new client, sends it the hello and then every
// container finished from now on, until it leaves or fails.
func (o *socketOutput) serveClient(conn net.Conn) {
	defer o.wg.Done()
	defer conn.Close()
	if o.ep.tls != nil {
		tc := tls.Server(conn, o.ep.tls)
		conn = tc
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			o.log.Info("TLS client refused", zap.String("peer", conn.RemoteAddr().String()), zap.Error(err))
			return
		}
	}
	o.mu.Lock()
	if o.shut {
		o.mu.Unlock()
		return
	}
	if !o.helloOK {
		o.mu.Unlock()
		refuse(conn)
		return
	}
	if len(o.clients) >= o.opts.MaxClients {
		o.mu.Unlock()
		o.log.Warn("client refused: max_clients reached", zap.Int("max_clients", o.opts.MaxClients))
		return
	}
	o.nextID++
	c := &sockClient{conn: conn, next: o.head, limit: ^uint64(0), expect: o.accepted, id: clientID(conn, o.nextID)}
	if o.act.msgs > 0 {
		c.expect = o.act.first
	}
	hello := o.hello
	o.clients[c] = struct{}{}
	o.nActive++
	o.cond.Broadcast()
	o.mu.Unlock()
	o.log.Info("client connected", zap.String("client", c.id))

	// Inputs never write (§4.1): reading only notices that the client left,
	// which ends the writer's wait.
	o.wg.Add(1)
	go o.watchClient(c)

	conn.SetWriteDeadline(time.Now().Add(helloWriteTimeout))
	_, err := conn.Write(hello)
	conn.SetWriteDeadline(time.Time{})
	o.mu.Lock()
	if err == nil {
		err = o.writeLoopLocked(c)
	}
	delete(o.clients, c)
	if !c.leaving {
		o.nActive--
	}
	if len(o.clients) == 0 {
		// A new client starts at the ring head: what is in the ring and
		// was not delivered is lost now.
		o.dropUndeliveredLocked()
	}
	o.cond.Broadcast()
	o.mu.Unlock()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		o.log.Info("client disconnected", zap.String("client", c.id), zap.Error(err))
	}
}

// watchClient reads from a client until it disconnects, then wakes its writer.
func (o *socketOutput) watchClient(c *sockClient) {
	defer o.wg.Done()
	n, err := io.Copy(io.Discard, c.conn)
	if n > 0 {
		o.log.Warn("client wrote to the data socket", zap.String("client", c.id), zap.Int64("bytes", n))
	}
	if err == nil {
		err = io.EOF
	}
	o.mu.Lock()
	c.gone = err
	o.cond.Broadcast()
	o.mu.Unlock()
}

// clientID names a client in the statistics as libtrap does: the peer port
// for TCP, the peer PID for UNIX sockets (a running number where the PID
// is not available).
func clientID(conn net.Conn, n uint64) string {
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return strconv.Itoa(ta.Port)
	}
	if id, ok := unixPeerID(conn); ok {
		return id
	}
	return strconv.FormatUint(n, 10)
}

// writeLoopLocked sends containers to c; it is called and returns with o.mu held.
func (o *socketOutput) writeLoopLocked(c *sockClient) error {
	n := uint64(len(o.ring))
	for {
		if c.gone != nil {
			return fmt.Errorf("client left: %w", c.gone)
		}
		if c.leaving && c.next >= c.limit {
			return nil
		}
		if c.next == o.head {
			if c.leaving {
				return nil
			}
			o.cond.Wait()
			continue
		}
		if c.next+n < o.head {
			// Overwritten under NO_WAIT: jump to the newest container (a
			// leaving client to the newest it may still receive).
			target := min(o.head, c.limit) - 1
			if target+n < o.head || target < c.next {
				return nil
			}
			c.next = target
			if newest := o.ring[c.next%n]; newest.first > c.expect {
				c.skipped += newest.first - c.expect
			}
		}
		cb := o.ring[c.next%n]
		buf, msgs, first := cb.b, cb.msgs, cb.first
		cb.users++
		o.mu.Unlock()
		_, err := c.conn.Write(buf)
		o.mu.Lock()
		cb.users--
		if err == nil && !cb.delivered {
			cb.delivered = true
			o.deliveredMsgs += uint64(msgs)
		}
		if cb.orphan && cb.users == 0 {
			cb.orphan = false
			o.dropLocked(cb)
			o.free = append(o.free, cb)
		}
		if err != nil {
			return err
		}
		c.next++
		c.sentConts++
		c.sentMsgs += uint64(msgs)
		c.expect = first + uint64(msgs)
		o.cond.Broadcast()
	}
}

// autoflushLoop finishes a non-empty container once the autoflush interval
// has passed since the last finish, but only while a client is connected
// and without ever waiting for a slow one.
func (o *socketOutput) autoflushLoop() {
	defer o.wg.Done()
	period := max(o.autoflush/4, time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
		}
		o.mu.Lock()
		if o.nActive > 0 && o.act.msgs > 0 && time.Since(o.lastFin) >= o.autoflush &&
			(o.timeout == NoWait || o.timeout > 0 || !o.slotBlockedLocked()) {
			o.finishLocked(context.Background(), true)
			o.autoflushes++
		}
		o.mu.Unlock()
	}
}

// close flushes, lets every client receive every finished container
// (bounded by ctx), then closes the sockets and removes the UNIX socket file.
func (o *socketOutput) close(ctx context.Context) error {
	o.mu.Lock()
	if o.shut {
		o.mu.Unlock()
		return nil
	}
	if err := o.finishLocked(ctx, false); err != nil {
		o.finishLocked(ctx, true)
	}
	o.shut = true
	if o.unwatch != nil {
		o.unwatch()
		o.watched, o.unwatch = nil, nil
	}
	close(o.done)
	o.dismissLocked()
	o.mu.Unlock()

	o.ln.Close()
	removeSocketFile(o.ln, o.log)
	finished := make(chan struct{})
	go func() {
		o.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		o.settleAtClose()
		return nil
	case <-ctx.Done():
	}
	o.mu.Lock()
	undelivered := len(o.clients)
	for c := range o.clients {
		c.conn.Close()
	}
	o.cond.Broadcast()
	o.mu.Unlock()
	<-finished
	o.settleAtClose()
	return fmt.Errorf("%w: output %s closed before %d client(s) got all data: %v", ErrTimeout, o.ep.id, undelivered, ctx.Err())
}

// settleAtClose counts what no client got once every writer has ended,
// and logs the total of messages lost on this output.
func (o *socketOutput) settleAtClose() {
	o.mu.Lock()
	o.dropUndeliveredLocked()
	dropped, accepted := o.dropped, o.accepted
	o.mu.Unlock()
	if dropped > 0 {
		o.log.Warn("output closed: messages no client received", zap.Uint64("dropped", dropped),
			zap.Uint64("accepted", accepted))
	}
}

func (o *socketOutput) stats() OutputStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := OutputStats{
		Kind:            o.ep.kind,
		ID:              o.ep.id,
		Clients:         o.nActive,
		SentMessages:    o.accepted,
		DroppedMessages: o.dropped,
		Buffers:         o.buffers,
		Autoflushes:     o.autoflushes,
	}
	for c := range o.clients {
		s.PerClient = append(s.PerClient, ClientStats{ID: c.id, SentContainers: c.sentConts,
			SentMessages: c.sentMsgs, SkippedMessages: c.skipped})
	}
	return s
}
