package ingest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockWait bounds one blocking wait for datagrams (SO_RCVTIMEO), so that a
// reader looks at its deadline and at Close at least this often.
const sockWait = 100 * time.Millisecond

// sockBatch is how many datagrams one recvmmsg on a udpSocket may return
// (64 KiB of buffer each, 4 MiB per socket).
const sockBatch = 64

// Pacing: a call that returns fewer datagrams than the batch holds has
// drained the socket. Rather than waking for each datagram that trickles
// in next, the reader then sleeps for the pause, so that the next call
// finds a batch waiting: at 1 M flows/s that is one wake-up per two
// milliseconds instead of one per datagram or two. (2 ms rather than 1
// took 6% off the collector's CPU at 3 M flows/s; 4 ms gained only 1% more.) The pause never lets the
// buffer come near overflow: when the datagrams read after a pause held
// more than a quarter of the receive buffer (SO_RCVBUF), the next pause is
// halved, down to minPause; below a sixteenth it doubles back up to
// maxPause. A datagram waits at most maxPause longer for its decoding.
const (
	minPause = 20 * time.Microsecond
	maxPause = 2 * time.Millisecond
	// yieldEvery is how often a busy reader yields (see readSocket):
	// under the 10 ms after which the runtime preempts a goroutine.
	yieldEvery = 4 * time.Millisecond
	// skbOverhead approximates what the kernel counts against the
	// receive buffer for a datagram beyond its payload.
	skbOverhead = 1024
)

// udpSocket is a collector's UDP socket read with blocking recvmmsg(2)
// calls outside the runtime's network poller. Under load the poller costs
// more than decoding: every datagram arriving at a drained socket is an
// edge that wakes an idle thread blocked in epoll_wait, and every wait
// parks and reschedules the reader goroutine. A reader blocked in the
// kernel, as nfcapd's is, is woken once per wait and nothing else is.
type udpSocket struct {
	addr netip.AddrPort
	// mu is held for reading around each system call on fd; Close takes
	// it for writing to release fd, so a number in use is never reused.
	mu       sync.RWMutex
	fd       int
	closing  atomic.Bool
	deadline atomic.Int64 // Unix ns after which reads fail; 0: none
	rcvbuf   int          // SO_RCVBUF as the kernel counts it; 0: no pacing
}

// newUDPSocket takes the socket of conn over: it keeps a blocking
// duplicate of the descriptor and closes conn, which takes it out of the
// runtime poller. Options set on conn (buffer, SO_REUSEPORT, SO_RXQ_OVFL)
// stay: they belong to the socket.
func newUDPSocket(conn *net.UDPConn) (*udpSocket, error) {
	s := &udpSocket{addr: conn.LocalAddr().(*net.UDPAddr).AddrPort(), fd: -1}
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("udp socket: %w", err)
	}
	var derr error
	if err := rc.Control(func(fd uintptr) { s.fd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		derr = err
	}
	conn.Close()
	if derr != nil {
		return nil, fmt.Errorf("udp socket: duplicating the descriptor: %w", derr)
	}
	tv := unix.NsecToTimeval(int64(sockWait))
	if err := unix.SetNonblock(s.fd, false); err != nil {
		unix.Close(s.fd)
		return nil, fmt.Errorf("udp socket: blocking mode: %w", err)
	}
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(s.fd)
		return nil, fmt.Errorf("udp socket: SO_RCVTIMEO: %w", err)
	}
	if v, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil {
		s.rcvbuf = v
	}
	return s, nil
}

// LocalAddr returns the bound address.
func (s *udpSocket) LocalAddr() netip.AddrPort { return s.addr }

// SetReadDeadline makes reads fail with os.ErrDeadlineExceeded from t on
// (noticed within sockWait); the zero time removes the deadline.
func (s *udpSocket) SetReadDeadline(t time.Time) {
	if t.IsZero() {
		s.deadline.Store(0)
		return
	}
	s.deadline.Store(t.UnixNano())
}

// Close wakes a blocked reader and releases the socket once no system
// call uses it. Reads fail with net.ErrClosed from then on.
func (s *udpSocket) Close() error {
	if s.closing.Swap(true) {
		return nil
	}
	s.mu.RLock()
	if s.fd >= 0 {
		// An unconnected UDP socket answers ENOTCONN but does wake
		// the waiting reader.
		unix.Shutdown(s.fd, unix.SHUT_RD)
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// discardQueued reads and throws away the datagrams still queued on the
// socket, without waiting, and returns how many there were, with the
// kernel's count of datagrams it dropped for a full buffer (the counter
// SO_RXQ_OVFL reports, read with SO_MEMINFO; ok false when it could not
// be read). The caller counts both as lost: a stop whose drain ended
// before the readers took them, and drops after the last datagram read.
// Call it before Close: a shut-down socket reads as empty datagrams.
func (s *udpSocket) discardQueued() (n int, drops uint32, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.fd < 0 || s.closing.Load() {
		return 0, 0, false
	}
	var b [1]byte
	for n < maxDiscard {
		_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_DONTWAIT|unix.MSG_TRUNC, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			break
		}
		n++
	}
	var mem [unix.SK_MEMINFO_VARS]uint32
	size := uint32(unsafe.Sizeof(mem))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(s.fd), unix.SOL_SOCKET, unix.SO_MEMINFO, uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 || size <= unix.SK_MEMINFO_DROPS*4 {
		return n, 0, false
	}
	return n, mem[unix.SK_MEMINFO_DROPS], true
}

// maxDiscard bounds discardQueued (a flood that goes on while it reads).
const maxDiscard = 1 << 20

// reader returns a batch reader of the socket.
func (s *udpSocket) reader() (*batchReader, error) {
	b := newBatchBuffers(sockBatch)
	b.sock = s
	b.pause = maxPause
	return b, nil
}

// pace is called with the n datagrams a call returned: it adapts the
// pause to what arrived during the last one and, when the call drained the
// socket, sleeps (see maxPause). The sleep is a blocking system call, not
// time.Sleep: parking the goroutine costs the scheduler work pacing saves.
func (b *batchReader) pace(n int) {
	rcvbuf := b.sock.rcvbuf
	if rcvbuf <= 0 {
		return
	}
	if b.paused {
		for i := range n {
			b.runMem += int(b.hdrs[i].n) + skbOverhead
		}
	}
	if n == len(b.hdrs) {
		return // more may be waiting: read on at once
	}
	if b.paused {
		switch {
		case b.runMem > rcvbuf/4:
			b.pause = max(b.pause/2, minPause)
		case b.runMem < rcvbuf/16:
			b.pause = min(b.pause*2, maxPause)
		}
	}
	ts := unix.NsecToTimespec(int64(b.pause))
	unix.Nanosleep(&ts, nil)
	b.paused, b.runMem = true, 0
}

// readSocket is batchReader.Read on a udpSocket: it blocks in the kernel
// until at least one datagram is there, the deadline passes or the socket
// is closed. Past the deadline it still hands out datagrams already
// queued, without waiting: a reader that first runs after the deadline (a
// stop right after the datagrams arrived, on a busy machine) must not
// leave them unread. Callers bound such a drain themselves (drainOver).
func (b *batchReader) readSocket() (int, error) {
	s := b.sock
	for {
		if s.closing.Load() {
			return 0, net.ErrClosed
		}
		// A reader that only ever blocks in system calls never passes
		// through the scheduler, so to the runtime it looks like one
		// goroutine running without a break: after 10 ms sysmon takes
		// its P away in the middle of a call (handing it to another
		// thread, which the reader then has to take it back from) and,
		// having done so, polls every 20 µs for the next millisecond. At
		// 3 M flows/s that churn cost a tenth of the collector's CPU.
		// Yielding every yieldEvery shows the runtime the reader is well
		// behaved, and sysmon backs off to its 10 ms sleep. Not more
		// often: each yield also wakes an idle thread to look for work.
		if now := time.Now(); now.Sub(b.yielded) >= yieldEvery {
			b.yielded = now
			runtime.Gosched()
		}
		flags := unix.MSG_WAITFORONE
		expired := false
		if d := s.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			flags, expired = unix.MSG_DONTWAIT, true
		}
		s.mu.RLock()
		if s.fd < 0 {
			s.mu.RUnlock()
			return 0, net.ErrClosed
		}
		n, errno := b.recvmmsg(uintptr(s.fd), flags)
		s.mu.RUnlock()
		if s.closing.Load() {
			// Woken by Close's shutdown, which also makes the call
			// return an empty "datagram".
			return 0, net.ErrClosed
		}
		switch errno {
		case 0:
			if n > 0 {
				b.pace(n)
				return n, nil
			}
		case unix.EAGAIN, unix.EINTR:
			b.paused = false // idle: the next datagram is not a run after a pause
		default:
			return 0, fmt.Errorf("recvmmsg: %w", errno)
		}
		if expired {
			return 0, os.ErrDeadlineExceeded
		}
	}
}
