package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flowgate/flowgate/ingest/meter"
)

// progressEvery is how often progress is printed.
const progressEvery = 3 * time.Second

// progress wraps the packet source: it ends the input after -c packets and
// prints packets, flows and the packet rate to w every few seconds. It runs
// on the meter's goroutine, so reading the meter's stats is safe.
type progress struct {
	meter.PacketSource
	m     *meter.Meter
	limit uint64 // 0: none
	n     uint64
	w     io.Writer
	on    bool

	start, last time.Time
	lastN       uint64
}

func newProgress(src meter.PacketSource, m *meter.Meter, limit uint64, w io.Writer, on bool) *progress {
	now := time.Now()
	return &progress{PacketSource: src, m: m, limit: limit, w: w, on: on, start: now, last: now}
}

// progressWanted: with -v always, otherwise for file runs on a terminal.
func progressWanted(o options, verbose bool, stderr io.Writer) bool {
	if verbose {
		return true
	}
	f, ok := stderr.(*os.File)
	if !ok || o.file == "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ReadPacket counts packets and ends the input at the -c limit.
func (p *progress) ReadPacket() ([]byte, time.Time, error) {
	if p.limit > 0 && p.n >= p.limit {
		return nil, time.Time{}, io.EOF
	}
	data, ts, err := p.PacketSource.ReadPacket()
	if err == nil {
		p.n++
		if p.on && p.n&0x3fff == 0 {
			p.tick(false)
		}
	} else if p.on && errors.Is(err, meter.ErrNoPacket) {
		p.tick(false)
	}
	return data, ts, err
}

// tick prints a progress line when progressEvery has passed (or always,
// at the end).
func (p *progress) tick(final bool) {
	now := time.Now()
	d := now.Sub(p.last)
	if !final && d < progressEvery {
		return
	}
	s := p.m.Stats()
	rate := 0.0
	if d > 0 {
		rate = float64(s.Packets-p.lastN) / d.Seconds()
	}
	fmt.Fprintf(p.w, "flow_meter: %d packets, %d flows, %d records, %.0f packets/s\n", s.Packets, s.Cache.Created, s.Records, rate)
	p.last, p.lastN = now, s.Packets
}

// finish prints the last progress line of a run that printed any.
func (p *progress) finish() {
	if p.on && p.lastN > 0 {
		p.tick(true)
	}
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start) }
