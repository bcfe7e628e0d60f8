package meter

import (
	"errors"
	"time"
)

// ErrNoPacket is returned by a live source's ReadPacket when its read
// timeout passed without a packet. Run treats it as a chance to check its
// context and export idle flows, not as an error.
var ErrNoPacket = errors.New("meter: no packet before the read timeout")

// ErrNoLibpcap reports a capture that needs libpcap (a BPF filter, or live
// capture where there is no AF_PACKET) in a build without it.
var ErrNoLibpcap = errors.New("this build has no libpcap (rebuild with -tags pcap)")

// LiveOptions configures a live capture from a network interface.
type LiveOptions struct {
	Interface string
	Snaplen   int  // bytes kept of each frame; 0 means 65535
	Promisc   bool // put the interface in promiscuous mode
	// Filter is a libpcap filter expression ("" for none). Only the libpcap
	// source (build tag "pcap") compiles it.
	Filter string
	// Timeout bounds each ReadPacket; when it passes without a packet,
	// ReadPacket returns ErrNoPacket. 0 means 250 ms.
	Timeout time.Duration
	// RingBlockSize and RingBlocks size AF_PACKET's TPACKET_V3 receive
	// ring (0: DefaultRingBlockSize, DefaultRingBlocks). A block size is a
	// power of two and a multiple of the page size.
	RingBlockSize, RingBlocks int
	// FanoutGroup, when not 0, joins the AF_PACKET socket to this fanout
	// group with PACKET_FANOUT_HASH: sockets of one group on one interface
	// share its frames by flow hash, each flow going to one socket.
	FanoutGroup uint16
}

func (o LiveOptions) snaplen() int {
	if o.Snaplen <= 0 {
		return 65535
	}
	return o.Snaplen
}

func (o LiveOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 250 * time.Millisecond
	}
	return o.Timeout
}

// OpenInterface starts a live capture with the best source this build has:
// AF_PACKET (pure Go, Linux) unless a BPF filter is wanted, libpcap (build
// tag "pcap") for filters and on other systems.
func OpenInterface(o LiveOptions) (PacketSource, error) {
	if o.Filter != "" || !afPacketSupported {
		return openLibpcap(o)
	}
	return OpenAFPacket(o)
}
