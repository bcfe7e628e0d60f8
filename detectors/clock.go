package detectors

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// Clock is a detector's notion of "now", in whole seconds.
type Clock interface {
	// Observe tells the clock a record's TIME_LAST.
	Observe(t unirec.Time)
	// Now returns the current time in seconds since the epoch.
	Now() int64
}

// WallClock is time(NULL), the C modules' clock. Now may be replaced in
// tests.
type WallClock struct {
	Func func() time.Time // nil: time.Now
}

// Observe does nothing: the wall clock does not follow the data.
func (WallClock) Observe(unirec.Time) {}

// Now returns the wall-clock second.
func (c WallClock) Now() int64 {
	if c.Func != nil {
		return c.Func().Unix()
	}
	return time.Now().Unix()
}

// FlowClock's now is the largest TIME_LAST second observed (0 before the
// first record). It never goes back.
type FlowClock struct {
	max atomic.Uint32
}

// Observe advances the clock to t's second if it is later.
func (c *FlowClock) Observe(t unirec.Time) {
	if s := t.Sec(); s > c.max.Load() {
		c.max.Store(s)
	}
}

// Now returns the largest TIME_LAST second seen.
func (c *FlowClock) Now() int64 { return int64(c.max.Load()) }

// ClockHelp is the help text of the modules' --clock option.
const ClockHelp = `Clock that ages state: "wall" (default, as the C module: time(NULL)) or "flow" (the largest TIME_LAST seen; deterministic for replays).`

// ParseClock returns the clock named by a --clock value: "wall" or "flow".
func ParseClock(name string) (Clock, error) {
	switch name {
	case "", "wall":
		return WallClock{}, nil
	case "flow":
		return &FlowClock{}, nil
	}
	return nil, fmt.Errorf("clock %q: want wall or flow", name)
}
