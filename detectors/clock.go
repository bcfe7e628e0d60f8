package detectors

import (
	"context"
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

// WallClock is time(NULL), the C modules' clock. Reading the clock for
// every record costs more than the detectors' own work on some virtual
// machines, so Run keeps a cached second, refreshed ten times a second,
// that Now returns while Run is active; otherwise Now reads the clock.
type WallClock struct {
	Func    func() time.Time // nil: time.Now
	sec     atomic.Int64
	running atomic.Bool
}

// NewWallClock returns a wall clock reading time.Now.
func NewWallClock() *WallClock { return &WallClock{} }

// Observe does nothing: the wall clock does not follow the data.
func (*WallClock) Observe(unirec.Time) {}

// Now returns the wall-clock second.
func (c *WallClock) Now() int64 {
	if c.running.Load() {
		return c.sec.Load()
	}
	return c.read()
}

func (c *WallClock) read() int64 {
	if c.Func != nil {
		return c.Func().Unix()
	}
	return time.Now().Unix()
}

// Run refreshes the cached second until ctx ends.
func (c *WallClock) Run(ctx context.Context) {
	c.sec.Store(c.read())
	c.running.Store(true)
	defer c.running.Store(false)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.sec.Store(c.read())
		}
	}
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
		return NewWallClock(), nil
	case "flow":
		return &FlowClock{}, nil
	}
	return nil, fmt.Errorf("clock %q: want wall or flow", name)
}
