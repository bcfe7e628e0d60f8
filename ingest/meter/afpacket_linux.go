package meter

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const afPacketSupported = true

// afPacketRcvBuf is the socket receive buffer asked for.
const afPacketRcvBuf = 16 << 20

// AFPacketSource captures from a network interface through a Linux
// AF_PACKET raw socket bound to it (all protocols, ETH_P_ALL), in pure Go.
// Each ReadPacket is one recvfrom system call into a reused buffer; there is
// no mmap ring (TPACKET_V3) and no BPF filter (see OpenInterface). As
// libpcap does, outgoing frames on a loopback interface are skipped: they
// come back as incoming ones.
type AFPacketSource struct {
	fd       int
	buf      []byte
	link     LinkType
	loopback bool
	sa       unix.RawSockaddrLinklayer // recvfrom's address, reused
	salen    uint32
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenAFPacket opens an AF_PACKET capture on o.Interface. o.Filter must be
// empty.
func OpenAFPacket(o LiveOptions) (*AFPacketSource, error) {
	if o.Filter != "" {
		return nil, fmt.Errorf("meter: AF_PACKET capture on %s does not compile BPF filter %q (libpcap does): %w", o.Interface, o.Filter, errors.ErrUnsupported)
	}
	ifc, err := net.InterfaceByName(o.Interface)
	if err != nil {
		return nil, fmt.Errorf("meter: AF_PACKET capture: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("meter: AF_PACKET socket: %w", err)
	}
	s := &AFPacketSource{fd: fd, buf: make([]byte, o.snaplen())}
	if err := s.setup(ifc, o); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("meter: AF_PACKET capture on %s: %w", o.Interface, err)
	}
	return s, nil
}

func (s *AFPacketSource) setup(ifc *net.Interface, o LiveOptions) error {
	sll := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifc.Index}
	if err := unix.Bind(s.fd, sll); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok {
		return fmt.Errorf("getsockname: %T is not a link-layer address", sa)
	}
	switch ll.Hatype {
	case unix.ARPHRD_ETHER:
		s.link = LinkEthernet
	case unix.ARPHRD_LOOPBACK: // Linux gives lo an Ethernet header of zero MACs
		s.link, s.loopback = LinkEthernet, true
	case unix.ARPHRD_NONE, unix.ARPHRD_PPP: // tun devices, PPP: bare IP
		s.link = LinkRawIP
	default:
		return fmt.Errorf("%w: ARPHRD %d", ErrLinkType, ll.Hatype)
	}
	if o.Promisc {
		mreq := &unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return fmt.Errorf("promiscuous mode: %w", err)
		}
	}
	// A large receive buffer absorbs bursts (nfpcapd uses 20 MB); best
	// effort: the FORCE variant needs CAP_NET_ADMIN, the plain one is
	// capped by net.core.rmem_max.
	if unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, afPacketRcvBuf) != nil {
		_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, afPacketRcvBuf)
	}
	tv := unix.NsecToTimeval(o.timeout().Nanoseconds())
	if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return fmt.Errorf("read timeout: %w", err)
	}
	return nil
}

// ReadPacket returns the next frame, cut to the snap length, with the time
// it was received. It returns ErrNoPacket when the read timeout passes.
func (s *AFPacketSource) ReadPacket() ([]byte, time.Time, error) {
	for {
		s.salen = uint32(unsafe.Sizeof(s.sa))
		// A raw recvfrom: unix.Recvfrom would allocate the source address.
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd),
			uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)), unix.MSG_TRUNC,
			uintptr(unsafe.Pointer(&s.sa)), uintptr(unsafe.Pointer(&s.salen)))
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return nil, time.Time{}, ErrNoPacket
		case errno != 0:
			return nil, time.Time{}, fmt.Errorf("meter: AF_PACKET recvfrom: %w", errno)
		}
		if s.loopback && s.sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		return s.buf[:min(int(n), len(s.buf))], time.Now(), nil
	}
}

// LinkType reports the interface's link layer.
func (s *AFPacketSource) LinkType() LinkType { return s.link }

// Drops reports the frames the kernel received for the socket and those it
// dropped because the socket buffer was full, since the last call.
func (s *AFPacketSource) Drops() (received, dropped uint64, err error) {
	st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0, fmt.Errorf("meter: AF_PACKET statistics: %w", err)
	}
	return uint64(st.Packets), uint64(st.Drops), nil
}

// Close closes the socket.
func (s *AFPacketSource) Close() error {
	if err := unix.Close(s.fd); err != nil {
		return fmt.Errorf("meter: AF_PACKET close: %w", err)
	}
	return nil
}
