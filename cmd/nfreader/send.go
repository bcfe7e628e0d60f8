package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/nfdump/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// sendError is a failure of the output, as opposed to a fault in an input
// file: it ends the module instead of moving on to the next file.
type sendError struct{ err error }

func (e *sendError) Error() string { return "sending: " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// dot is what -p prints; a package-level slice so printing allocates nothing.
var dot = []byte{'.'}

// sender is nfreader's per-record path: filter, convert, adjust, pace, send.
// Everything it needs is prepared once, so sending a record allocates
// nothing.
type sender struct {
	out    *trap.Output
	conv   *converters.NfdumpConverter
	filter *filter.Filter // nil: every record
	rec    unirec.Record
	// exporter: the template has fields from the exporter record.
	exporter bool

	limit    int64 // -1: no limit
	nowTimes bool
	idFirst  unirec.FieldID
	idLast   unirec.FieldID
	now      func() time.Time

	dotEvery int64
	dots     int64
	stdout   io.Writer

	pace pacer
	// batch holds converted records not sent yet, size bytes each; they go
	// out with one SendFixed per batchMax records (one lock, not one per
	// record). Pacing sends each record as it is due (batchMax 1).
	batch    []byte
	size     int
	batchMax int
	accepted int64 // records converted: sent and batched
	sent     int64
	// mapped: records are filtered and converted in nfdump's decompression
	// workers (MapRecords), which needs no per-record state here: no
	// pacing, no -T, no exporter fields.
	mapped bool
	// workers is -w: nfdump.File.SetWorkers for every file.
	workers int
}

// sendBatch is how many records nfreader hands to the output at once.
const sendBatch = 64

// blockRecords sizes a mapped block's first output buffer.
const blockRecords = 16384

func newSender(out *trap.Output, conv *converters.NfdumpConverter, flt *filter.Filter, o options, stdout, stderr io.Writer) *sender {
	t := conv.Template()
	s := &sender{
		out: out, conv: conv, filter: flt, rec: t.NewRecord(), exporter: conv.NeedsExporter(),
		limit: o.limit, nowTimes: o.nowTimes, now: time.Now,
		dotEvery: o.dotEvery, stdout: stdout,
		pace: newPacer(o.rate, o.realTime),
		size: t.StaticSize(), batchMax: sendBatch, workers: o.workers,
	}
	if o.rate != 0 || o.realTime {
		s.batchMax = 1
	}
	s.mapped = o.rate == 0 && !o.realTime && !o.nowTimes && !s.exporter
	s.batch = make([]byte, 0, s.batchMax*s.size)
	s.idFirst, _ = t.Lookup("TIME_FIRST")
	s.idLast, _ = t.Lookup("TIME_LAST")
	return s
}

// sendFile sends the records of one nfdump file. done is true when the
// record limit is reached or ctx ended. A fault in the file is returned
// (naming the file and the offset) after the records before it were sent;
// a failing output is returned as a *sendError.
func (s *sender) sendFile(ctx context.Context, name string) (done bool, err error) {
	f, err := nfdump.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	f.SetWorkers(s.workers)
	if s.mapped {
		return s.sendMapped(ctx, f)
	}
	it := f.Records(ctx)
	defer it.Close()
	limited := false
	for it.Next() {
		r := it.Record()
		if s.filter != nil && !s.filter.Match(r) {
			continue
		}
		var e *nfdump.Exporter
		if s.exporter {
			e, _ = it.Exporter(r.ExporterID)
		}
		if err := s.send(ctx, r, e); err != nil {
			if ctx.Err() != nil {
				return true, nil
			}
			return true, err
		}
		if s.limit >= 0 && s.accepted >= s.limit {
			limited = true
			break
		}
	}
	// The records of this file go out before its error, or before the
	// next file is opened.
	if err := s.flush(ctx); err != nil {
		if ctx.Err() != nil {
			return true, nil
		}
		return true, err
	}
	if limited {
		return true, nil
	}
	return s.fileEnd(ctx, f, it.Err())
}

// fileEnd turns the error that ended a file's records into sendFile's
// result: nothing when ctx ended, the error as it is when it names the
// file and offset, or wrapped with the file name.
func (s *sender) fileEnd(ctx context.Context, f *nfdump.File, err error) (bool, error) {
	if err == nil {
		return false, nil
	}
	if ctx.Err() != nil {
		return true, nil
	}
	var ne *nfdump.Error
	if errors.As(err, &ne) {
		return false, err // names the file and the offset already
	}
	return false, fmt.Errorf("%s: %w", f.Name(), err)
}

// recordMapper filters and converts records inside nfdump's workers.
type recordMapper struct {
	conv   *converters.NfdumpConverter
	filter *filter.Filter
	t      *unirec.Template
	size   int
}

// Map appends r converted to a UniRec record of the template's static
// size, unless the filter rejects it. The record it converts into is a
// local value: storing the slot in the mapper would cost a GC write
// barrier per record.
func (m *recordMapper) Map(out []byte, r *nfdump.Record) []byte {
	if m.filter != nil && !m.filter.Match(r) {
		return out
	}
	i, size := len(out), m.size
	if cap(out)-i < size {
		out = m.grow(out)
	}
	out = out[:i+size]
	rec := unirec.Record{T: m.t, Data: out[i : i+size : i+size]}
	m.conv.Convert(&rec, r, nil)
	return out
}

// grow makes room for at least one more record in out.
func (m *recordMapper) grow(out []byte) []byte {
	if cap(out) == 0 {
		// Room for a block's records: nfcapd flushes at about 1 MiB, 8000
		// records or so. Pages past the output are never touched; growing
		// from nothing would copy and touch twice the output.
		return make([]byte, 0, blockRecords*m.size)
	}
	return slices.Grow(out, m.size)
}

// sendMapped is sendFile with filtering and conversion done block by block
// in the decompression workers; each block's records go out in one
// SendFixed.
func (s *sender) sendMapped(ctx context.Context, f *nfdump.File) (done bool, err error) {
	bi := f.MapRecords(ctx, func() nfdump.Mapper {
		return &recordMapper{conv: s.conv, filter: s.filter, t: s.conv.Template(), size: s.size}
	})
	defer bi.Close()
	for bi.Next() {
		out := bi.Output()
		limited := false
		if s.limit >= 0 && int64(len(out)/s.size) >= s.limit-s.accepted {
			out, limited = out[:(s.limit-s.accepted)*int64(s.size)], true
		}
		// In chunks: the output's lock is released between them, so its
		// clients (and, under NO_WAIT, the ring's turnover) see the
		// block's records arrive as they would one by one.
		for len(out) > 0 {
			chunk := out[:min(len(out), sendBatch*s.size)]
			out = out[len(chunk):]
			n, err := s.out.SendFixed(ctx, chunk, s.size)
			s.accepted += int64(n)
			s.counted(n)
			if err != nil {
				if ctx.Err() != nil {
					return true, nil
				}
				return true, &sendError{err}
			}
		}
		if limited {
			return true, nil
		}
	}
	return s.fileEnd(ctx, f, bi.Err())
}

// send converts one record into the next batch slot and sends the batch
// when it is full. The converter writes every byte of a StaticSize record,
// so a slot needs no clearing.
func (s *sender) send(ctx context.Context, r *nfdump.Record, e *nfdump.Exporter) error {
	i := len(s.batch)
	s.batch = s.batch[:i+s.size]
	s.rec.Data = s.batch[i : i+s.size : i+s.size]
	s.conv.Convert(&s.rec, r, e)
	if s.nowTimes {
		s.setNowTimes(r)
	}
	if err := s.pace.wait(ctx, s.accepted, r.FirstMs); err != nil {
		s.batch = s.batch[:i]
		return err
	}
	s.accepted++
	if len(s.batch) >= s.batchMax*s.size {
		return s.flush(ctx)
	}
	return nil
}

// flush sends the batched records.
func (s *sender) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	n, err := s.out.SendFixed(ctx, s.batch, s.size)
	s.counted(n)
	s.batch = s.batch[:0]
	if err != nil {
		return &sendError{err}
	}
	return nil
}

// counted adds n sent records, printing a dot every -p records.
func (s *sender) counted(n int) {
	if s.dotEvery == 0 {
		s.sent += int64(n)
		return
	}
	for i := 0; i < n; i++ {
		s.sent++
		if s.dotEvery > 0 && s.sent%s.dotEvery == 0 {
			s.stdout.Write(dot)
			s.dots++
		}
	}
}

// setNowTimes is -T: TIME_LAST becomes the current second with the
// record's milliseconds, TIME_FIRST the current second minus the record's
// duration in whole seconds, with its own milliseconds, so the duration is
// kept exactly.
func (s *sender) setNowTimes(r *nfdump.Record) {
	now := s.now().Unix()
	firstSec, lastSec := r.FirstMs/1000, r.LastMs/1000
	s.rec.SetTime(s.idLast, unirec.TimeFromSecMsec(uint32(now), uint32(r.LastMs%1000)))
	s.rec.SetTime(s.idFirst, unirec.TimeFromSecMsec(uint32(now-(lastSec-firstSec)), uint32(r.FirstMs%1000)))
}
