//go:build !pcap

package meter

import "fmt"

func openLibpcap(o LiveOptions) (PacketSource, error) {
	if o.Filter != "" {
		return nil, fmt.Errorf("meter: BPF filter %q: %w", o.Filter, ErrNoLibpcap)
	}
	return nil, fmt.Errorf("meter: live capture on %s: %w", o.Interface, ErrNoLibpcap)
}
