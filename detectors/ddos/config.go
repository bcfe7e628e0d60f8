package ddos

import (
	"errors"
	"fmt"
)

// Config holds ddos_detector's parameters in the C module's user units.
type Config struct {
	MinAttackSize    uint64 // -m: kb/s both flood windows must exceed (default 1000)
	MinTrafficBefore uint64 // -b: kb/s the pre-attack average must reach for a report (default 1)
	FlowRate         uint16 // -t: byte-increase factor (default 4)
	IPCountRate      uint16 // -c: source-count increase factor (default 4)
	SrcMask          uint8  // -s: SRC_IP prefix counted as one source (default 24)
	DstMask          uint8  // -d: DST_IP prefix used as the key (default 32)
	PruneThreshold   uint64 // -p: kb/s over the 7 windows a destination needs to be kept (default 10)

	// MaxRecords caps the destination table (not in C). When a new
	// destination arrives at a full table, a long idle one is evicted
	// and counted; a validated flood on it is reported first, as at exit.
	// A record takes about 180 bytes with its index.
	MaxRecords int
}

// DefaultMaxRecords is the default destination cap. With one million
// distinct destinations the module's peak RSS measured about 100 MiB.
const DefaultMaxRecords = 1 << 17

// DefaultConfig returns the C module's defaults.
func DefaultConfig() Config {
	return Config{
		MinAttackSize:    1000,
		MinTrafficBefore: 1,
		FlowRate:         4,
		IPCountRate:      4,
		SrcMask:          24,
		DstMask:          32,
		PruneThreshold:   10,
		MaxRecords:       DefaultMaxRecords,
	}
}

// Validate checks the ranges the C module checks, plus the cap.
func (c Config) Validate() error {
	var errs []error
	if c.SrcMask > 32 {
		errs = append(errs, fmt.Errorf("source mask /%d: at most 32", c.SrcMask))
	}
	if c.DstMask > 32 {
		errs = append(errs, fmt.Errorf("destination mask /%d: at most 32", c.DstMask))
	}
	if c.MaxRecords < 1 {
		errs = append(errs, fmt.Errorf("max records %d: at least 1", c.MaxRecords))
	}
	return errors.Join(errs...)
}

// Internal thresholds: every byte threshold is bytes per 60-s window
// (the C module's conversions, integer arithmetic).
func (c Config) minAttackBytes() uint64 { return c.MinAttackSize * interval * 1000 / 8 }
func (c Config) minBeforeBytes() uint64 { return c.MinTrafficBefore * interval * 1000 / 8 }
func (c Config) pruneBytes() uint64     { return c.PruneThreshold * interval * nWindows * 1000 / 8 }
func mask(bits uint8) uint32 {
	if bits == 0 {
		return 0 // C shifts by 32 here (undefined); /0 means "everything"
	}
	return ^uint32(0) << (32 - bits)
}
