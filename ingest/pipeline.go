package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultFlushTimeout bounds the final flush of the outputs when a pipeline
// stops.
const DefaultFlushTimeout = 10 * time.Second

// Pipeline runs N sources into M outputs. Outputs with equal templates share
// one Target, so sources convert each record once per distinct template.
// The pipeline does not own the outputs: the caller closes them (a reload
// may keep them for the next pipeline).
type Pipeline struct {
	sources []Source
	outputs []Output
	targets []*Target
	log     *zap.Logger
	// FlushTimeout bounds the final flush; 0 means DefaultFlushTimeout.
	FlushTimeout time.Duration
}

// OutputStats are the pipeline's counters for one output.
type OutputStats struct {
	Name   string
	Sent   uint64 // records the output accepted
	Failed uint64 // records the output refused (dropped)
}

// NewPipeline groups the outputs by template.
func NewPipeline(sources []Source, outputs []Output, log *zap.Logger) (*Pipeline, error) {
	if len(sources) == 0 {
		return nil, errors.New("pipeline: no sources")
	}
	if len(outputs) == 0 {
		return nil, errors.New("pipeline: no outputs")
	}
	if log == nil {
		log = zap.NewNop()
	}
	p := &Pipeline{sources: sources, outputs: outputs, log: log}
	for _, o := range outputs {
		if o.Template() == nil {
			return nil, fmt.Errorf("pipeline: output %q has no template", o.Name())
		}
		var tg *Target
		for _, t := range p.targets {
			if t.tmpl.Equal(o.Template()) {
				tg = t
				break
			}
		}
		if tg == nil {
			tg = NewTarget(o.Template(), nil, log)
			p.targets = append(p.targets, tg)
		}
		tg.outs = append(tg.outs, &outputSlot{out: o})
	}
	return p, nil
}

// Targets returns the distinct templates' targets, in output order.
func (p *Pipeline) Targets() []*Target { return p.targets }

// Run runs every source until ctx ends or all sources have ended, then
// flushes every output and returns. Source failures are joined into the
// returned error; a cancelled ctx is not an error.
func (p *Pipeline) Run(ctx context.Context) error {
	errs := make([]error, len(p.sources))
	var wg sync.WaitGroup
	for i, s := range p.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx, p.targets); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = fmt.Errorf("source %s: %w", s.Name(), err)
				p.log.Error("source failed", zap.String("source", s.Name()), zap.Error(err))
			} else {
				p.log.Debug("source ended", zap.String("source", s.Name()))
			}
		}()
	}
	wg.Wait()
	errs = append(errs, p.Flush())
	return errors.Join(errs...)
}

// Flush flushes every output, each bounded by FlushTimeout, and returns the
// errors joined.
func (p *Pipeline) Flush() error {
	timeout := p.FlushTimeout
	if timeout <= 0 {
		timeout = DefaultFlushTimeout
	}
	var errs []error
	for _, o := range p.outputs {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		if err := o.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flushing output %s: %w", o.Name(), err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// OutputStats returns the counters of every output.
func (p *Pipeline) OutputStats() []OutputStats {
	var st []OutputStats
	for _, t := range p.targets {
		for _, s := range t.outs {
			st = append(st, OutputStats{Name: s.out.Name(), Sent: s.sent.Load(), Failed: s.failed.Load()})
		}
	}
	return st
}

// Sources returns the pipeline's sources.
func (p *Pipeline) Sources() []Source { return p.sources }
