package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/flowgate/flowgate/unirec"
)

// Source produces flow records. Run produces records for every target (one
// target per distinct output template: a source converts each flow once per
// target and emits it there) until ctx ends or the source's input ends,
// whichever comes first. Run returns nil at the end of its input and when
// ctx ends; other errors are failures of the source itself.
type Source interface {
	Name() string
	Run(ctx context.Context, targets []*Target) error
}

// Target is where a source emits records of one UniRec template: every
// output carrying that template. It is safe for concurrent use.
type Target struct {
	tmpl    *unirec.Template
	records atomic.Uint64
	log     *zap.Logger

	// outs may change while sources emit (a reload): Emit holds mu for
	// reading, so that once setOuts returns no Emit uses the old list.
	mu   sync.RWMutex
	outs []*outputSlot
	// pending holds the next outs while a Pipeline groups outputs.
	pending []*outputSlot
}

type outputSlot struct {
	out    Output
	sent   atomic.Uint64
	failed atomic.Uint64
}

func (s *outputSlot) stats() OutputStats {
	return OutputStats{Name: s.out.Name(), Sent: s.sent.Load(), Failed: s.failed.Load()}
}

// setOuts replaces the outputs, waiting for every Emit still using the
// old ones.
func (t *Target) setOuts(outs []*outputSlot) {
	t.mu.Lock()
	t.outs = outs
	t.mu.Unlock()
}

func (t *Target) outSlots() []*outputSlot {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.outs
}

// NewTarget returns a target delivering to outs, which must all carry tmpl.
// Pipelines build their targets themselves; this is for sources run alone.
func NewTarget(tmpl *unirec.Template, outs []Output, log *zap.Logger) *Target {
	if log == nil {
		log = zap.NewNop()
	}
	t := &Target{tmpl: tmpl, log: sampled(log)}
	for _, o := range outs {
		t.outs = append(t.outs, &outputSlot{out: o})
	}
	return t
}

// Template is the UniRec template records emitted here must have.
func (t *Target) Template() *unirec.Template { return t.tmpl }

// Emit hands one record (bytes in Template's layout) to every output of the
// target. A failing output does not stop the others: the record is counted
// as dropped for it and the failure is logged (rate-limited by the logger's
// sampler).
func (t *Target) Emit(ctx context.Context, rec []byte) {
	t.records.Add(1)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, s := range t.outs {
		if err := s.out.Send(ctx, rec); err != nil {
			s.failed.Add(1)
			if ctx.Err() == nil {
				t.log.Warn("output dropped a record", zap.String("output", s.out.Name()), zap.Error(err))
			}
			continue
		}
		s.sent.Add(1)
	}
}

// EmitFixed hands the records packed back to back in data, each size
// bytes long (a template without variable-length fields), to every output
// of the target, as Emit would one by one, but with one call per output
// (Output.SendFixed where the output has it). A record an output fails on
// is counted as dropped for it and the output goes on with the next one.
func (t *Target) EmitFixed(ctx context.Context, data []byte, size int) {
	if size <= 0 || len(data) < size {
		return
	}
	data = data[:len(data)-len(data)%size]
	t.records.Add(uint64(len(data) / size))
	t.mu.RLock()
	for _, s := range t.outs {
		rest := data
		for len(rest) > 0 {
			n, err := sendFixed(ctx, s.out, rest, size)
			s.sent.Add(uint64(n))
			if err == nil {
				break
			}
			s.failed.Add(1)
			if ctx.Err() == nil {
				t.log.Warn("output dropped a record", zap.String("output", s.out.Name()), zap.Error(err))
			}
			rest = rest[min((n+1)*size, len(rest)):]
		}
	}
	t.mu.RUnlock()
}

// sendFixed sends size-byte records packed in data to out, in one call
// when out is a FixedSender, and returns how many were sent before the
// first error.
func sendFixed(ctx context.Context, out Output, data []byte, size int) (int, error) {
	if fs, ok := out.(FixedSender); ok {
		return fs.SendFixed(ctx, data, size)
	}
	n := 0
	for ; len(data) >= size; data = data[size:] {
		if err := out.Send(ctx, data[:size]); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// sampled rate-limits a logger used on a hot path: per message text, 5 a
// second get through, the rest are dropped (counters tell the full story).
func sampled(log *zap.Logger) *zap.Logger {
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 5, 0)
	}))
}

// Records returns how many records were emitted to the target.
func (t *Target) Records() uint64 { return t.records.Load() }
