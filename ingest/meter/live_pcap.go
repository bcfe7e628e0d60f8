//go:build pcap

package meter

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket/pcap"
)

// LiveOptions configures a libpcap live capture.
type LiveOptions struct {
	Interface string
	Snaplen   int32 // 0 means 65535
	Promisc   bool
	Filter    string        // BPF expression, empty for none
	Timeout   time.Duration // read timeout; 0 means pcap.BlockForever
}

// LiveSource captures from a network interface with libpcap (cgo, build tag
// "pcap").
type LiveSource struct {
	h    *pcap.Handle
	link LinkType
}

// OpenLive starts a live capture.
func OpenLive(o LiveOptions) (*LiveSource, error) {
	snap := o.Snaplen
	if snap == 0 {
		snap = 65535
	}
	to := o.Timeout
	if to == 0 {
		to = pcap.BlockForever
	}
	h, err := pcap.OpenLive(o.Interface, snap, o.Promisc, to)
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
// A read timeout is reported as pcap.NextErrorTimeoutExpired.
func (s *LiveSource) ReadPacket() ([]byte, time.Time, error) {
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err != nil {
		return nil, time.Time{}, err
	}
	return data, ci.Timestamp, nil
}

// LinkType reports the interface's link layer.
func (s *LiveSource) LinkType() LinkType { return s.link }

// Close stops the capture.
func (s *LiveSource) Close() error { s.h.Close(); return nil }
