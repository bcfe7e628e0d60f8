//go:build pcap

package meter

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/pcap"
)

// LiveSource captures from a network interface with libpcap (cgo, build tag
// "pcap").
type LiveSource struct {
	h    *pcap.Handle
	link LinkType
}

func openLibpcap(o LiveOptions) (PacketSource, error) { return OpenLive(o) }

// OpenLive starts a libpcap live capture with o's snaplen, promiscuous mode,
// read timeout and BPF filter.
func OpenLive(o LiveOptions) (*LiveSource, error) {
	h, err := pcap.OpenLive(o.Interface, int32(o.snaplen()), o.Promisc, o.timeout())
	if err != nil {
		return nil, fmt.Errorf("meter: open %s: %w", o.Interface, err)
	}
	if o.Filter != "" {
		if err := h.SetBPFFilter(o.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("meter: bpf filter %q: %w", o.Filter, err)
		}
	}
	link := linkFromDLT(uint32(h.LinkType()))
	if link == LinkUnknown {
		h.Close()
		return nil, fmt.Errorf("meter: %s: %w %d", o.Interface, ErrLinkType, h.LinkType())
	}
	return &LiveSource{h: h, link: link}, nil
}

// ReadPacket returns the next frame (zero copy; valid until the next call).
// It returns ErrNoPacket when the read timeout passes without one.
func (s *LiveSource) ReadPacket() ([]byte, time.Time, error) {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if errors.Is(err, pcap.NextErrorTimeoutExpired) {
		return nil, time.Time{}, ErrNoPacket
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("meter: libpcap read: %w", err)
	}
	return data, ci.Timestamp, nil
}

// LinkType reports the interface's link layer.
func (s *LiveSource) LinkType() LinkType { return s.link }

// Close stops the capture.
func (s *LiveSource) Close() error { s.h.Close(); return nil }
