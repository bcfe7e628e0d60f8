package meter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const afPacketSupported = true

// Ring defaults: 64 blocks of 1 MiB (nfpcapd and suricata use rings of this
// order); a block is handed over after 10 ms even if not full.
const (
	DefaultRingBlockSize  = 1 << 20
	DefaultRingBlocks     = 64
	ringBlockTimeoutMilli = 10
)

// AFPacketSource captures from a network interface through a Linux
// AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring, in pure Go:
// the kernel fills blocks of frames in memory shared with the process, and
// ReadPacket walks them without a system call per packet (poll only waits
// when no block is ready). Frames are returned in place, valid until the
// next ReadPacket. With LiveOptions.FanoutGroup several sources on one
// interface share its traffic by flow hash (PACKET_FANOUT_HASH, defragmented
// first), so that each worker meters whole flows.
//
// As libpcap does, outgoing frames on a loopback interface are skipped (they
// come back as incoming ones) and 802.1Q tags the kernel stripped are put
// back (the frame is then copied once). Drops reports the kernel's counters.
//
// Why not gopacket/afpacket? It does not expose the packet type, so every
// frame on lo would be metered twice, and it appends an AncillaryVLAN to a
// fresh slice for every tagged frame, an allocation per packet on VLAN
// trunks.
type AFPacketSource struct {
	fd        int
	ring      []byte
	blockSize int
	blocks    int
	block     int // the block being read
	inBlock   bool
	left      int // frames of the block not yet returned
	next      int // offset of the next frame in the block
	snaplen   int
	link      LinkType
	loopback  bool
	timeout   int // poll timeout, ms
	tagged    []byte
	pfd       [1]unix.PollFd
	stats     ringStats
}

// ringStats accumulates the kernel's counters (reading them resets them).
type ringStats struct {
	packets, drops, freezes uint64
}

// vlanHeadroom is the room kept in front of a copied frame to put back an
// 802.1Q tag that the kernel (or the NIC) stripped.
const vlanHeadroom = 4

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenAFPacket opens an AF_PACKET capture on o.Interface. o.Filter must be
// empty.
func OpenAFPacket(o LiveOptions) (*AFPacketSource, error) {
	if o.Filter != "" {
		return nil, fmt.Errorf("meter: AF_PACKET capture on %s does not compile BPF filter %q (libpcap does): %w", o.Interface, o.Filter, errors.ErrUnsupported)
	}
	bs, nb := o.RingBlockSize, o.RingBlocks
	if bs == 0 {
		bs = DefaultRingBlockSize
	}
	if nb == 0 {
		nb = DefaultRingBlocks
	}
	page := unix.Getpagesize()
	if bs < page || bs%page != 0 || bs&(bs-1) != 0 || nb < 1 || bs < o.snaplen()+256 {
		return nil, fmt.Errorf("meter: AF_PACKET ring on %s: block size %d must be a power of two, a multiple of the page size (%d) and hold a frame of the snap length %d; %d blocks", o.Interface, bs, page, o.snaplen(), nb)
	}
	ifc, err := net.InterfaceByName(o.Interface)
	if err != nil {
		return nil, fmt.Errorf("meter: AF_PACKET capture: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("meter: AF_PACKET socket: %w", err)
	}
	s := &AFPacketSource{fd: fd, blockSize: bs, blocks: nb, snaplen: o.snaplen(), timeout: int(o.timeout().Milliseconds()),
		tagged: make([]byte, vlanHeadroom+o.snaplen())}
	s.timeout = max(s.timeout, 1)
	if err := s.setup(ifc, o); err != nil {
		s.Close()
		return nil, fmt.Errorf("meter: AF_PACKET capture on %s: %w", o.Interface, err)
	}
	return s, nil
}

func (s *AFPacketSource) setup(ifc *net.Interface, o LiveOptions) error {
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("TPACKET_V3: %w", err)
	}
	req := unix.TpacketReq3{
		Block_size: uint32(s.blockSize), Block_nr: uint32(s.blocks),
		Frame_size: uint32(s.blockSize), Frame_nr: uint32(s.blocks),
		Retire_blk_tov: ringBlockTimeoutMilli,
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("receive ring of %d x %d bytes: %w", s.blocks, s.blockSize, err)
	}
	ring, err := unix.Mmap(s.fd, 0, s.blockSize*s.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap of the ring: %w", err)
	}
	s.ring = ring
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
	if o.FanoutGroup != 0 {
		v := int(o.FanoutGroup) | (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_DEFRAG)<<16
		if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, v); err != nil {
			return fmt.Errorf("fanout group %d: %w", o.FanoutGroup, err)
		}
	}
	s.pfd[0] = unix.PollFd{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR}
	return nil
}

// Offsets in the ring (linux/if_packet.h): struct tpacket_block_desc with
// its tpacket_hdr_v1, struct tpacket3_hdr, then the sockaddr_ll.
const (
	blkStatus     = 8
	blkNumPkts    = 12
	blkFirstPkt   = 16
	pktNext       = 0
	pktSec        = 4
	pktNsec       = 8
	pktSnaplen    = 12
	pktStatus     = 20
	pktMac        = 24
	pktVlanTCI    = 32
	pktVlanTPID   = 36
	pktHdrLen     = 48 // TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
	sllPkttype    = 10
	tpStatusVLAN  = unix.TP_STATUS_VLAN_VALID
	tpStatusTPID  = unix.TP_STATUS_VLAN_TPID_VALID
	tpStatusUser  = unix.TP_STATUS_USER
	tpStatusKernl = unix.TP_STATUS_KERNEL
)

// blockStatus is the block's status word, written by the kernel.
func (s *AFPacketSource) blockStatus(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[b*s.blockSize+blkStatus]))
}

// ReadPacket returns the next frame, cut to the snap length, with the time
// the kernel received it. It returns ErrNoPacket when the read timeout
// passes. The frame is valid until the next call.
func (s *AFPacketSource) ReadPacket() ([]byte, time.Time, error) {
	for {
		if !s.inBlock {
			if atomic.LoadUint32(s.blockStatus(s.block))&tpStatusUser == 0 {
				n, err := unix.Poll(s.pfd[:], s.timeout)
				switch {
				case err == unix.EINTR:
					continue
				case err != nil:
					return nil, time.Time{}, fmt.Errorf("meter: AF_PACKET poll: %w", err)
				case n == 0 && atomic.LoadUint32(s.blockStatus(s.block))&tpStatusUser == 0:
					return nil, time.Time{}, ErrNoPacket
				}
				continue
			}
			blk := s.ring[s.block*s.blockSize : (s.block+1)*s.blockSize]
			s.left = int(binary.NativeEndian.Uint32(blk[blkNumPkts:]))
			s.next = int(binary.NativeEndian.Uint32(blk[blkFirstPkt:]))
			s.inBlock = true
		}
		if s.left == 0 {
			s.releaseBlock()
			continue
		}
		blk := s.ring[s.block*s.blockSize : (s.block+1)*s.blockSize]
		f, ok := ringFrame(blk, s.next)
		if !ok {
			// A frame header the kernel cannot have written: give the
			// block back rather than read outside it.
			s.releaseBlock()
			return nil, time.Time{}, fmt.Errorf("meter: AF_PACKET ring: bad frame at offset %d of block %d", s.next, s.block)
		}
		s.left--
		s.next += f.next
		if s.left > 0 && f.next == 0 {
			s.left = 0
		}
		if s.loopback && f.pkttype == unix.PACKET_OUTGOING {
			continue
		}
		data := f.data[:min(len(f.data), s.snaplen)]
		ts := time.Unix(int64(f.sec), int64(f.nsec))
		if f.vlan && s.link == LinkEthernet && len(data) >= 12 {
			n := copy(s.tagged[vlanHeadroom:], data)
			return insertVLAN(s.tagged, n, f.tpid, f.tci), ts, nil
		}
		return data, ts, nil
	}
}

// releaseBlock hands the current block back to the kernel.
func (s *AFPacketSource) releaseBlock() {
	atomic.StoreUint32(s.blockStatus(s.block), tpStatusKernl)
	s.inBlock = false
	s.block = (s.block + 1) % s.blocks
}

// ringFrameInfo is one frame of a ring block.
type ringFrameInfo struct {
	next      int // offset of the next frame, relative to this one
	sec, nsec uint32
	data      []byte
	pkttype   uint8
	vlan      bool
	tci, tpid uint16
}

// ringFrame reads the tpacket3_hdr at off of a block, checking every
// offset against the block.
func ringFrame(blk []byte, off int) (f ringFrameInfo, ok bool) {
	if off < 0 || off > len(blk)-pktHdrLen-sllPkttype-1 {
		return f, false
	}
	h := blk[off:]
	ne := binary.NativeEndian
	f.next = int(ne.Uint32(h[pktNext:]))
	f.sec, f.nsec = ne.Uint32(h[pktSec:]), ne.Uint32(h[pktNsec:])
	snap := int(ne.Uint32(h[pktSnaplen:]))
	mac := int(ne.Uint16(h[pktMac:]))
	if mac < pktHdrLen || snap > len(h)-mac {
		return f, false
	}
	f.data = h[mac : mac+snap]
	f.pkttype = h[pktHdrLen+sllPkttype]
	status := ne.Uint32(h[pktStatus:])
	f.tci = uint16(ne.Uint32(h[pktVlanTCI:]))
	if status&tpStatusVLAN != 0 || f.tci != 0 {
		f.vlan = true
		f.tpid = 0x8100
		if t := ne.Uint16(h[pktVlanTPID:]); status&tpStatusTPID != 0 && t != 0 {
			f.tpid = t
		}
	}
	return f, true
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
// dropped because the ring was full, since the capture started.
func (s *AFPacketSource) Drops() (received, dropped uint64, err error) {
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return s.stats.packets, s.stats.drops, fmt.Errorf("meter: AF_PACKET statistics: %w", err)
	}
	// The kernel resets its counters on every read.
	s.stats.packets += uint64(st.Packets)
	s.stats.drops += uint64(st.Drops)
	s.stats.freezes += uint64(st.Freeze_q_cnt)
	return s.stats.packets, s.stats.drops, nil
}

// Close unmaps the ring and closes the socket.
func (s *AFPacketSource) Close() error {
	var err error
	if s.ring != nil {
		err = unix.Munmap(s.ring)
		s.ring = nil
	}
	if s.fd >= 0 {
		if cerr := unix.Close(s.fd); cerr != nil && err == nil {
			err = cerr
		}
		s.fd = -1
	}
	if err != nil {
		return fmt.Errorf("meter: AF_PACKET close: %w", err)
	}
	return nil
}
