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
