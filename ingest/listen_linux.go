package ingest

import (
	"encoding/binary"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// controlUDP prepares a UDP socket before bind: SO_REUSEPORT when several
// sockets share the port (the kernel spreads exporters over them by 4-tuple
// hash, so one exporter's messages stay in order on one socket) and
// SO_RXQ_OVFL so every datagram carries the socket's drop counter.
func controlUDP(reuse bool) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if reuse {
				if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
					return
				}
			}
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// reusePortSupported tells whether several sockets can share a UDP port.
const reusePortSupported = true

// socketDrops extracts the SO_RXQ_OVFL counter (datagrams the kernel dropped
// on this socket so far, because its receive buffer was full) from a
// datagram's control messages. It parses in place so that reading a
// datagram allocates nothing.
func socketDrops(oob []byte) (uint32, bool) {
	hdr := cmsgAlign(syscall.SizeofCmsghdr)
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0, false
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdr+4 {
			return binary.NativeEndian.Uint32(oob[hdr:]), true
		}
		next := cmsgAlign(l)
		if next >= len(oob) {
			return 0, false
		}
		oob = oob[next:]
	}
	return 0, false
}

func cmsgAlign(n int) int {
	const a = int(unsafe.Sizeof(uintptr(0)))
	return (n + a - 1) &^ (a - 1)
}
