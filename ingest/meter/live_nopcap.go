//go:build !pcap

package meter

import (
	"errors"
	"fmt"
)

// ErrNoLibpcap reports a capture that needs libpcap in a build without it.
var ErrNoLibpcap = errors.New("this build has no libpcap (rebuild with -tags pcap)")

func openLibpcap(o LiveOptions) (PacketSource, error) {
	if o.Filter != "" {
		return nil, fmt.Errorf("meter: BPF filter %q: %w", o.Filter, ErrNoLibpcap)
	}
	return nil, fmt.Errorf("meter: live capture on %s: %w", o.Interface, ErrNoLibpcap)
}
