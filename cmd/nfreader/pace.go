package main

import (
	"context"
	"time"
)

// pacer delays sending: -r keeps the average rate at or below N records/s
// since the first record, -R replays records at the pace of their original
// start times (TIME_FIRST): the first record goes out at once, and a record
// that started d after it goes out d after it. Records that started before
// the previous ones (nfcapd stores flows in export order) go out at once.
// A zero pacer sends as fast as possible. One timer is reused, so waiting
// allocates nothing.
type pacer struct {
	rate     int64 // records/s, 0: unlimited
	realTime bool

	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error // nil: sleepTimer
	started bool
	start   time.Time
	baseMs  int64 // -R: TIME_FIRST of the first record
	timer   *time.Timer
}

// minSleep is the smallest delay worth a timer; smaller leads are kept
// until they add up.
const minSleep = time.Millisecond

func newPacer(rate int64, realTime bool) pacer {
	return pacer{rate: rate, realTime: realTime, now: time.Now}
}

// wait blocks until the record numbered n (0-based) whose start time is
// firstMs (Unix milliseconds) is due, or until ctx ends.
func (p *pacer) wait(ctx context.Context, n int64, firstMs int64) error {
	if p.rate == 0 && !p.realTime {
		return nil
	}
	now := p.now()
	if !p.started {
		p.started, p.start, p.baseMs = true, now, firstMs
		return nil
	}
	var due time.Duration
	if p.realTime {
		due = time.Duration(firstMs-p.baseMs) * time.Millisecond
	} else {
		due = time.Duration(n * int64(time.Second) / p.rate)
	}
	d := due - now.Sub(p.start)
	if d < minSleep {
		return nil
	}
	if p.sleep != nil {
		return p.sleep(ctx, d)
	}
	return p.sleepTimer(ctx, d)
}

// sleepTimer waits d on the pacer's reusable timer.
func (p *pacer) sleepTimer(ctx context.Context, d time.Duration) error {
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}
