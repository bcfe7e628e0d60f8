package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// ListenerConfig says where to receive export messages.
type ListenerConfig struct {
	// UDP addresses ("host:port"; "[::]:4739" receives IPv4 and IPv6) for
	// NetFlow v5/v9 and IPFIX.
	UDP []string
	// TCP addresses for IPFIX over TCP.
	TCP []string
	// Sockets is the number of SO_REUSEPORT sockets per UDP address, each
	// with its own reader goroutine (Linux; elsewhere 1). 0 means 1.
	Sockets int
	// ReadBuffer is the SO_RCVBUF size of UDP sockets in bytes; 0 keeps the OS default.
	ReadBuffer int
}

// DefaultListenerConfig is the daemon's default: NetFlow on UDP 2055, IPFIX
// on UDP and TCP 4739, IPv4 and IPv6, one socket per address.
func DefaultListenerConfig() ListenerConfig {
	return ListenerConfig{UDP: []string{"[::]:2055", "[::]:4739"}, TCP: []string{"[::]:4739"}, Sockets: 1}
}

// Validate checks the configuration; errors name the offending key.
func (c ListenerConfig) Validate() error {
	if len(c.UDP) == 0 && len(c.TCP) == 0 {
		return errors.New("collector: listener: no udp or tcp address configured")
	}
	if c.Sockets < 0 {
		return fmt.Errorf("collector: listener: sockets %d: must be 0 or more", c.Sockets)
	}
	if c.ReadBuffer < 0 {
		return fmt.Errorf("collector: listener: read_buffer %d: must be 0 (OS default) or more", c.ReadBuffer)
	}
	for key, list := range map[string][]string{"udp": c.UDP, "tcp": c.TCP} {
		for _, a := range list {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fmt.Errorf("collector: listener: %s address %q: want host:port: %w", key, a, err)
			}
		}
	}
	return nil
}

// Listener receives export messages and feeds them to a Decoder.
type Listener struct {
	cfg     ListenerConfig
	dec     *Decoder
	onError func(error)
	udp     []*net.UDPConn
	tcp     []net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

// NewListener returns a listener for dec. onError receives every decode and
// connection error (it should count and rate-limit, not log each one); nil
// ignores them (they are still counted by the decoder).
func NewListener(cfg ListenerConfig, dec *Decoder, onError func(error)) *Listener {
	if onError == nil {
		onError = func(error) {}
	}
	return &Listener{cfg: cfg, dec: dec, onError: onError, conns: make(map[net.Conn]struct{})}
}

// Start binds every socket (so bind errors are reported here) and starts
// the readers; they stop when ctx is cancelled. Wait waits for them.
func (l *Listener) Start(ctx context.Context) error {
	if err := l.cfg.Validate(); err != nil {
		return err
	}
	if err := l.bind(ctx); err != nil {
		l.closeAll()
		return err
	}
	for _, c := range l.udp {
		l.wg.Add(1)
		go l.serveUDP(c)
	}
	for _, ln := range l.tcp {
		l.wg.Add(1)
		go l.serveTCP(ln)
	}
	go func() {
		<-ctx.Done()
		l.closeAll()
	}()
	return nil
}

// Wait blocks until every reader has stopped.
func (l *Listener) Wait() { l.wg.Wait() }

// UDPAddrs returns the bound UDP addresses (useful with port 0).
func (l *Listener) UDPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range l.udp {
		out = append(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	return out
}

// TCPAddrs returns the bound TCP addresses.
func (l *Listener) TCPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range l.tcp {
		out = append(out, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

func (l *Listener) bind(ctx context.Context) error {
	n := max(l.cfg.Sockets, 1)
	if !reusePortSupported {
		n = 1
	}
	lc := net.ListenConfig{}
	if n > 1 {
		lc.Control = reusePort
	}
	for _, addr := range l.cfg.UDP {
		bindAddr := addr
		for i := range n {
			pc, err := lc.ListenPacket(ctx, "udp", bindAddr)
			if err != nil {
				return fmt.Errorf("collector: listen udp %s: %w", addr, err)
			}
			c := pc.(*net.UDPConn)
			if l.cfg.ReadBuffer > 0 {
				if err := c.SetReadBuffer(l.cfg.ReadBuffer); err != nil {
					c.Close()
					return fmt.Errorf("collector: udp %s receive buffer %d: %w", addr, l.cfg.ReadBuffer, err)
				}
			}
			l.udp = append(l.udp, c)
			if i == 0 { // port 0: the other sockets join the port the first one got
				bindAddr = c.LocalAddr().String()
			}
		}
	}
	for _, addr := range l.cfg.TCP {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("collector: listen tcp %s: %w", addr, err)
		}
		l.tcp = append(l.tcp, ln)
	}
	return nil
}

func (l *Listener) closeAll() {
	for _, c := range l.udp {
		c.Close()
	}
	for _, ln := range l.tcp {
		ln.Close()
	}
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
}

func (l *Listener) serveUDP(c *net.UDPConn) {
	defer l.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.onError(fmt.Errorf("collector: udp read: %w", err))
			continue
		}
		if err := l.dec.Decode(from, buf[:n]); err != nil {
			l.onError(err)
		}
	}
}

func (l *Listener) serveTCP(ln net.Listener) {
	defer l.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var errno syscall.Errno
			if errors.As(err, &errno) && errno.Temporary() {
				continue
			}
			l.onError(fmt.Errorf("collector: tcp accept: %w", err))
			return
		}
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go l.serveConn(c)
	}
}

// serveConn reads back-to-back IPFIX messages from one TCP connection. A
// malformed message ends the connection: after a lying length the stream
// cannot be resynchronised.
func (l *Listener) serveConn(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}()
	from := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	defer l.dec.EndStream(from)
	r := bufio.NewReaderSize(c, 64<<10)
	buf := make([]byte, MaxMessageLen)
	for {
		msg, err := ReadMessage(r, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				l.onError(fmt.Errorf("collector: tcp %s: %w", from, err))
			}
			return
		}
		if err := l.dec.DecodeStream(from, msg); err != nil {
			l.onError(err)
		}
	}
}
