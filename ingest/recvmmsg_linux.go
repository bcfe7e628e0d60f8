package ingest

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flowgate/flowgate/collector"
)

// batchSize is how many datagrams one recvmmsg(2) call may return.
const batchSize = 16

// batchBufLen is the buffer of each datagram in a batch: the largest
// export message, so no UDP datagram is cut (1 MiB per socket).
const batchBufLen = collector.MaxMessageLen

// mmsghdr is struct mmsghdr: the message header and the bytes received.
// Go pads it to its pointer alignment, as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batchReader receives up to batchSize datagrams per system call with
// recvmmsg(2) into buffers it reuses, so reading allocates nothing. It is
// what golang.org/x/net/ipv4's ReadBatch does, without the net.Addr that
// package allocates for every datagram. It reads a net.UDPConn through the
// runtime poller (newBatchReader) or a udpSocket with blocking calls
// (udpSocket.reader).
type batchReader struct {
	rc    syscall.RawConn
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6
	data  []byte // batchSize buffers of batchBufLen
	oob   []byte // batchSize control buffers of oobLen
	n     int
	errno syscall.Errno
	read  func(fd uintptr) bool // the recvmmsg call, built once
	sock  *udpSocket            // set: read with blocking calls (readSocket), not rc
	// Pacing of a udpSocket reader (see maxPause).
	pause   time.Duration
	paused  bool      // the calls since the last pause are a run after a pause
	runMem  int       // buffer bytes the datagrams of that run held (estimate)
	yielded time.Time // the reader's last runtime.Gosched (see yieldEvery)
}

const oobLen = 64

func newBatchReader(conn *net.UDPConn) (*batchReader, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udp socket: %w", err)
	}
	b := newBatchBuffers(batchSize)
	b.rc = rc
	b.read = func(fd uintptr) bool {
		n, errno := b.recvmmsg(fd, unix.MSG_DONTWAIT)
		if errno == unix.EAGAIN || errno == unix.EINTR {
			return false // wait for the socket through the runtime poller
		}
		b.n, b.errno = n, errno
		return true
	}
	return b, nil
}

// newBatchBuffers allocates the headers and buffers of a batch of n
// datagrams.
func newBatchBuffers(n int) *batchReader {
	b := &batchReader{
		hdrs:  make([]mmsghdr, n),
		iovs:  make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
		data:  make([]byte, n*batchBufLen),
		oob:   make([]byte, n*oobLen),
	}
	for i := range b.hdrs {
		b.iovs[i].Base = &b.data[i*batchBufLen]
		b.iovs[i].SetLen(batchBufLen)
		h := &b.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		h.Control = &b.oob[i*oobLen]
	}
	return b
}

// recvmmsg receives up to batchSize datagrams from fd.
func (b *batchReader) recvmmsg(fd uintptr, flags int) (int, syscall.Errno) {
	for i := range b.hdrs {
		h := &b.hdrs[i].hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(oobLen)
		h.Flags = 0
	}
	n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// Read waits for at least one datagram and returns how many were received.
// Errors are the connection's (net.ErrClosed, os.ErrDeadlineExceeded) or
// the system call's.
func (b *batchReader) Read() (int, error) {
	if b.sock != nil {
		return b.readSocket()
	}
	if err := b.rc.Read(b.read); err != nil {
		return 0, err
	}
	if b.errno != 0 {
		return 0, fmt.Errorf("recvmmsg: %w", b.errno)
	}
	return b.n, nil
}

// errTruncated marks a datagram longer than the batch buffer.
var errTruncated = errors.New("datagram longer than the receive buffer, cut")

// Message returns datagram i of the last Read: its bytes (valid until the
// next Read), the sender, and errTruncated when it was cut.
func (b *batchReader) Message(i int) ([]byte, netip.AddrPort, error) {
	h := &b.hdrs[i]
	msg := b.data[i*batchBufLen : i*batchBufLen+int(h.n)]
	var from netip.AddrPort
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		p := (*[2]byte)(unsafe.Pointer(&sa4.Port))
		from = netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		from = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	if h.hdr.Flags&unix.MSG_TRUNC != 0 {
		return msg, from, errTruncated
	}
	return msg, from, nil
}

// Drops returns the SO_RXQ_OVFL counter carried by datagram i, if any.
func (b *batchReader) Drops(i int) (uint32, bool) {
	return socketDrops(b.oob[i*oobLen : i*oobLen+int(b.hdrs[i].hdr.Controllen)])
}
