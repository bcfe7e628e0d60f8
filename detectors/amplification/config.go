package amplification

import "fmt"

// Config holds the detector's parameters. The defaults are the C code's,
// not those of its README and -h text (detectors.md §3.3).
type Config struct {
	Port         uint16  // -p: service port; DST_PORT == Port is a query, SRC_PORT == Port a response (53)
	TopN         int     // -n: number of histogram bins in the top-N (5)
	Step         uint32  // -q: histogram bin width (2), >= 1
	MinAmpf      uint32  // -a: minimal amplification factor (10)
	MinFlows     uint32  // -t: minimal number of response flows in the top-N bins (300)
	MinCount     float32 // --min-count: minimal share of response flows in the top-N bins (0.9)
	MinRespPkts  uint32  // -y: average packets per response must be above this (2)
	MinRespBytes uint32  // -l: average bytes per response must be above this (2000)
	MaxQueryB    uint32  // -m: average bytes per query must be below this (400)
	Window       int64   // -w: detection window and inactivity timeout, s (900)
	Period       int64   // -s: trimmed part of the window and cleanup period, s (300)
	RecordCount  int     // -S: flow items kept per direction per pair (100000), >= 10000
	// FixHistogram makes a histogram bin hold the number of flows in it.
	// The C code keeps only the count of the bin's largest distinct value;
	// off by default because the thresholds were tuned against that.
	FixHistogram bool
	// MaxPairs caps the pair table (65536); MaxItems caps the flow items
	// stored over all pairs (4194304, about 130 MiB). Either limit evicts
	// an old pair (approximately the least recently updated), counted.
	MaxPairs int
	MaxItems int
}

// Fixed constants of the C code (no options reach them).
const (
	maxQueryFlowPackets = 1000
	maxRespFlowBytes    = 100000
	bytesMax            = 5000
)

// DefaultConfig returns the C code's defaults and the default caps.
func DefaultConfig() Config {
	return Config{Port: 53, TopN: 5, Step: 2, MinAmpf: 10, MinFlows: 300, MinCount: 0.9, MinRespPkts: 2, MinRespBytes: 2000,
		MaxQueryB: 400, Window: 900, Period: 300, RecordCount: 100000, MaxPairs: 1 << 16, MaxItems: 1 << 22}
}

// Validate checks the parameters; the C module does not check most of them
// (-q 0 loops forever there).
func (c Config) Validate() error {
	switch {
	case c.TopN < 1:
		return fmt.Errorf("top-N %d: want at least 1", c.TopN)
	case c.Step < 1:
		return fmt.Errorf("histogram step %d: want at least 1", c.Step)
	case c.Window < 1 || c.Period < 1:
		return fmt.Errorf("window %d s / period %d s: want at least 1 s each", c.Window, c.Period)
	case c.RecordCount < 10000:
		return fmt.Errorf("record count %d: wrong record vector(s) settings, want at least 10000", c.RecordCount)
	case c.MaxPairs < 1 || c.MaxItems < 1:
		return fmt.Errorf("max pairs %d / max items %d: want at least 1 each", c.MaxPairs, c.MaxItems)
	}
	return nil
}
