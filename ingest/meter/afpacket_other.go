//go:build !linux

package meter

import (
	"errors"
	"fmt"
)

const afPacketSupported = false

// AFPacketSource exists on Linux only.
type AFPacketSource struct{ PacketSource }

// OpenAFPacket reports that AF_PACKET is Linux-only.
func OpenAFPacket(o LiveOptions) (*AFPacketSource, error) {
	return nil, fmt.Errorf("meter: AF_PACKET capture on %s: %w", o.Interface, errors.ErrUnsupported)
}

// Drops reports that there are no AF_PACKET statistics here.
func (s *AFPacketSource) Drops() (received, dropped uint64, err error) {
	return 0, 0, errors.ErrUnsupported
}
