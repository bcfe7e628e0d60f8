package meter

import (
	"encoding/binary"
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
// Each ReadPacket is one recvmsg system call into a reused buffer; there is
// no mmap ring (TPACKET_V3) and no BPF filter (see OpenInterface). As
// libpcap does, outgoing frames on a loopback interface are skipped (they
// come back as incoming ones) and 802.1Q tags the kernel stripped are put
// back from PACKET_AUXDATA.
//
// Why not gopacket/afpacket (pure Go, TPACKET_V3 ring)? It does not expose
// the packet type, so every frame on lo would be metered twice, and it
// appends an AncillaryVLAN to a fresh slice for every tagged frame, an
// allocation per packet on VLAN trunks.
type AFPacketSource struct {
	fd       int
	buf      []byte // 4 bytes of headroom, then the snap length
	link     LinkType
	loopback bool
	auxdata  bool                      // PACKET_AUXDATA is on: VLAN tags come back from it
	sa       unix.RawSockaddrLinklayer // the sender's address, reused
	iov      unix.Iovec
	msg      unix.Msghdr
	cbuf     [64]byte // control messages (tpacket_auxdata)
}

// vlanHeadroom is the room kept in front of the frame to put back an
// 802.1Q tag that the kernel (or the NIC) stripped.
const vlanHeadroom = 4

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
	s := &AFPacketSource{fd: fd, buf: make([]byte, vlanHeadroom+o.snaplen())}
	s.iov.Base = &s.buf[vlanHeadroom]
	s.iov.SetLen(len(s.buf) - vlanHeadroom)
	s.msg.Name = (*byte)(unsafe.Pointer(&s.sa))
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	s.msg.Control = &s.cbuf[0]
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
	// Linux strips 802.1Q tags from received frames (VLAN offload) and
	// reports them in PACKET_AUXDATA; they are put back so that the VLAN
	// id is part of the flow key as in a pcap. Without auxdata (very old
	// kernels) tagged frames arrive untagged.
	s.auxdata = s.link == LinkEthernet && unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1) == nil
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
		s.msg.Namelen = uint32(unsafe.Sizeof(s.sa))
		s.msg.SetControllen(len(s.cbuf))
		// A raw recvmsg: unix.Recvmsg would allocate the source address.
		n, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msg)), unix.MSG_TRUNC)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			return nil, time.Time{}, ErrNoPacket
		case errno != 0:
			return nil, time.Time{}, fmt.Errorf("meter: AF_PACKET recvmsg: %w", errno)
		}
		if s.loopback && s.sa.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		got := min(int(n), len(s.buf)-vlanHeadroom)
		if s.auxdata {
			if tpid, tci, ok := vlanFromAuxdata(s.cbuf[:min(int(s.msg.Controllen), len(s.cbuf))]); ok {
				return insertVLAN(s.buf, got, tpid, tci), time.Now(), nil
			}
		}
		return s.buf[vlanHeadroom : vlanHeadroom+got], time.Now(), nil
	}
}

// vlanFromAuxdata finds the stripped 802.1Q tag in the control messages of
// a packet socket (struct tpacket_auxdata). It reads the bytes with
// encoding/binary rather than casting pointers, so the buffer need not be
// aligned.
func vlanFromAuxdata(cmsgs []byte) (tpid, tci uint16, ok bool) {
	var (
		h       unix.Cmsghdr
		aux     unix.TpacketAuxdata
		ne      = binary.NativeEndian
		hdrLen  = unix.CmsgLen(0)
		lenSize = int(unsafe.Sizeof(h.Len))
		levelAt = int(unsafe.Offsetof(h.Level))
		typeAt  = int(unsafe.Offsetof(h.Type))
		auxSize = int(unsafe.Sizeof(aux))
		tciAt   = int(unsafe.Offsetof(aux.Vlan_tci))
		tpidAt  = int(unsafe.Offsetof(aux.Vlan_tpid))
	)
	for len(cmsgs) >= hdrLen {
		var l int
		if lenSize == 8 {
			// clamped so that a huge length cannot wrap to a negative int
			l = int(min(ne.Uint64(cmsgs), uint64(len(cmsgs))+1))
		} else {
			l = int(ne.Uint32(cmsgs))
		}
		if l < hdrLen || l > len(cmsgs) {
			return 0, 0, false
		}
		level, typ := int32(ne.Uint32(cmsgs[levelAt:])), int32(ne.Uint32(cmsgs[typeAt:]))
		if level == unix.SOL_PACKET && typ == unix.PACKET_AUXDATA && l-hdrLen >= auxSize {
			data := cmsgs[hdrLen:l]
			status := ne.Uint32(data)
			tci = ne.Uint16(data[tciAt:])
			if status&unix.TP_STATUS_VLAN_VALID == 0 && tci == 0 {
				return 0, 0, false
			}
			tpid = 0x8100
			if t := ne.Uint16(data[tpidAt:]); status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && t != 0 {
				tpid = t
			}
			return tpid, tci, true
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(cmsgs) {
			return 0, 0, false
		}
		cmsgs = cmsgs[next:]
	}
	return 0, 0, false
}

// insertVLAN puts an 802.1Q tag back after the MAC addresses of the n-byte
// frame at buf[vlanHeadroom:], using the headroom, and returns the tagged
// frame. Frames too short for MAC addresses are returned as they are.
func insertVLAN(buf []byte, n int, tpid, tci uint16) []byte {
	frame := buf[vlanHeadroom : vlanHeadroom+n]
	if n < 12 {
		return frame
	}
	copy(buf[0:12], frame[0:12])
	buf[12], buf[13] = byte(tpid>>8), byte(tpid)
	buf[14], buf[15] = byte(tci>>8), byte(tci)
	return buf[:vlanHeadroom+n]
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
