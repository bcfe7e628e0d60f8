package trap

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Timing of the socket input.
const (
	// defaultRetryInterval is libtrap's sleep between reconnects under WAIT.
	defaultRetryInterval = time.Second
	// inputHelloTimeout bounds reading the hello after connecting. libtrap
	// allows about 200 ms per part; we are more lenient.
	inputHelloTimeout = time.Second
	// connectTimeout bounds one connection attempt.
	connectTimeout = 5 * time.Second
	// readSlice is how often a blocked read looks at its context.
	readSlice = 200 * time.Millisecond
	// noWaitGrace is the shortest read deadline (NO_WAIT, tiny timeouts).
	noWaitGrace = time.Millisecond
)

// errDisconnected marks a stream that ended: the input reconnects.
var errDisconnected = errors.New("trap: connection lost")

// socketInput is the u:, t: and T: input: a silent client that reads the
// hello, then 14-byte container headers and their payloads (trap-wire.md §5.4).
type socketInput struct {
	ep  socketEndpoint
	log *zap.Logger
	// dial opens a connection to the output; tests replace it.
	dial func(ctx context.Context) (net.Conn, error)
	// retryInterval is the pause before reconnecting (1 s, as libtrap).
	retryInterval time.Duration

	mu      sync.Mutex // guards conn against close from another goroutine
	conn    net.Conn
	closed  bool
	backoff bool // pause before the next connection attempt

	inPayload bool // reading the payload (else the header)
	pos       int  // bytes of the current header or payload read so far
	hdr       [ContainerHeaderSize]byte
	payload   []byte // reused: capacity MaxPayload

	buffers   atomic.Uint64
	garbage   atomic.Uint64
	connected atomic.Bool
}

// newSocketInput prepares an input; it connects lazily on the first recv,
// so a module may start before its output exists (§5.4).
func newSocketInput(sp IfcSpec, e env) (inputIFC, error) {
	ep, err := parseInputEndpoint(sp.Kind, sp.Params, e.socketDir)
	if err != nil {
		return nil, err
	}
	log := e.log
	if log == nil {
		log = zap.NewNop()
	}
	return &socketInput{ep: ep, log: log.With(zap.String("ifc", sp.Raw)), dial: ep.dial, retryInterval: defaultRetryInterval}, nil
}

func (in *socketInput) terminated(ctx context.Context) error {
	return fmt.Errorf("%w: input %s: %v", ErrTerminated, in.ep.id, context.Cause(ctx))
}

func (in *socketInput) timedOut() error {
	return fmt.Errorf("%w: input %s: no data in time", ErrTimeout, in.ep.id)
}

// recv implements inputIFC. After every (re)connect it returns the hello
// alone (nil payload); later calls return container payloads.
func (in *socketInput) recv(ctx context.Context, timeout Timeout) ([]byte, *Hello, error) {
	var deadline time.Time
	if timeout >= 0 {
		// A deadline already in the past would fail reads without looking
		// at the socket, so NO_WAIT gets a token grace to pick up what is
		// readable.
		deadline = time.Now().Add(max(timeout.Duration(), noWaitGrace))
	}
	for {
		if ctx.Err() != nil {
			return nil, nil, in.terminated(ctx)
		}
		in.mu.Lock()
		conn, closed := in.conn, in.closed
		in.mu.Unlock()
		if closed {
			return nil, nil, fmt.Errorf("%w: input %s is closed", ErrIO, in.ep.id)
		}
		if conn == nil {
			h, err := in.connect(ctx, deadline)
			if err != nil {
				return nil, nil, err
			}
			if h != nil {
				return nil, h, nil
			}
			continue
		}
		payload, err := in.readContainer(ctx, conn, deadline)
		switch {
		case err == nil:
			in.buffers.Add(1)
			return payload, nil, nil
		case errors.Is(err, ErrTimeout), errors.Is(err, ErrTerminated):
			return nil, nil, err
		case errors.Is(err, errDisconnected):
			// The partial buffer is discarded; reconnect (§5.4).
			in.log.Debug("connection lost, reconnecting", zap.Error(err))
			in.drop()
		default:
			in.garbage.Add(1)
			in.log.Error("bad data from output, reconnecting", zap.Error(err))
			in.drop()
			return nil, nil, err
		}
	}
}

// connect makes one connection attempt (after the retry pause when the
// previous connection failed) and reads the hello. It returns nil, nil when
// the attempt failed and the caller should try again.
func (in *socketInput) connect(ctx context.Context, deadline time.Time) (*Hello, error) {
	if in.backoff {
		wait := in.retryInterval
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return nil, in.timedOut()
			}
			wait = min(wait, left)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, in.terminated(ctx)
		case <-t.C:
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, in.timedOut()
		}
	}
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	conn, err := in.dial(dctx)
	cancel()
	if err != nil {
		in.backoff = true
		if ctx.Err() != nil {
			return nil, in.terminated(ctx)
		}
		in.log.Debug("connecting failed", zap.String("address", in.ep.address), zap.Error(err))
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, fmt.Errorf("%w: input %s: connecting: %v", ErrTimeout, in.ep.id, err)
		}
		return nil, nil
	}
	conn.SetReadDeadline(time.Now().Add(inputHelloTimeout))
	h, err := ReadHello(conn)
	conn.SetReadDeadline(time.Time{})
	if err != nil {
		conn.Close()
		in.backoff = true
		if errors.Is(err, ErrBadHello) {
			in.garbage.Add(1)
			in.log.Error("bad hello from output", zap.Error(err))
			return nil, fmt.Errorf("input %s: %w", in.ep.id, err)
		}
		if in.ep.tls != nil {
			// Typically the output refused our certificate.
			in.log.Warn("TLS output closed the connection before its hello", zap.Error(err))
		} else {
			in.log.Debug("reading hello failed", zap.Error(err))
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, in.timedOut()
		}
		return nil, nil
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		conn.Close()
		return nil, fmt.Errorf("%w: input %s is closed", ErrIO, in.ep.id)
	}
	in.conn = conn
	in.mu.Unlock()
	in.backoff, in.inPayload, in.pos = false, false, 0
	in.connected.Store(true)
	return &h, nil
}

// readContainer reads one header and payload, resuming a container a
// timeout interrupted.
func (in *socketInput) readContainer(ctx context.Context, conn net.Conn, deadline time.Time) ([]byte, error) {
	if !in.inPayload {
		if err := in.fill(ctx, conn, in.hdr[:], deadline); err != nil {
			return nil, err
		}
		p, _, _ := ParseContainerHeader(in.hdr[:])
		if p > MaxPayload {
			return nil, fmt.Errorf("%w: input %s: container payload of %d bytes exceeds the %d-byte limit", ErrIO, in.ep.id, p, MaxPayload)
		}
		if in.payload == nil {
			in.payload = make([]byte, 0, MaxPayload)
		}
		in.payload = in.payload[:p]
		in.inPayload, in.pos = true, 0
	}
	if err := in.fill(ctx, conn, in.payload, deadline); err != nil {
		return nil, err
	}
	in.inPayload, in.pos = false, 0
	return in.payload, nil
}

// fill reads into buf[in.pos:] until buf is full. Reads run in slices so
// that a cancelled ctx is noticed; a timeout keeps the position for the
// next call.
func (in *socketInput) fill(ctx context.Context, conn net.Conn, buf []byte, deadline time.Time) error {
	for in.pos < len(buf) {
		now := time.Now()
		d := now.Add(readSlice)
		if !deadline.IsZero() && deadline.Before(d) {
			d = deadline
		}
		conn.SetReadDeadline(d)
		n, err := conn.Read(buf[in.pos:])
		in.pos += n
		if err == nil || in.pos == len(buf) {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return in.terminated(ctx)
			}
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				return in.timedOut()
			}
			continue
		}
		if errors.Is(err, io.EOF) && in.pos == 0 && !in.inPayload {
			return fmt.Errorf("%w: output closed the stream", errDisconnected)
		}
		return fmt.Errorf("%w: after %d of %d bytes: %v", errDisconnected, in.pos, len(buf), err)
	}
	return nil
}

// drop closes the connection; the next recv reconnects after the pause.
func (in *socketInput) drop() {
	in.mu.Lock()
	if in.conn != nil {
		in.conn.Close()
		in.conn = nil
	}
	in.mu.Unlock()
	in.backoff, in.inPayload, in.pos = true, false, 0
	in.connected.Store(false)
}

// reject closes the connection whose hello was refused.
func (in *socketInput) reject() { in.drop() }

func (in *socketInput) stats() InputStats {
	return InputStats{Kind: in.ep.kind, ID: in.ep.id, Connected: in.connected.Load(), Buffers: in.buffers.Load()}
}

func (in *socketInput) close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	in.connected.Store(false)
	if in.conn != nil {
		err := in.conn.Close()
		in.conn = nil
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("%w: closing input %s: %v", ErrIO, in.ep.id, err)
		}
	}
	return nil
}

// containerSeq returns the sequence number of the last container header
// read (tests and statistics; the receiver never relies on it, §5.1).
func (in *socketInput) containerSeq() uint64 { return binary.LittleEndian.Uint64(in.hdr[4:12]) }
