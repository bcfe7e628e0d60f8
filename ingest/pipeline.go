package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultFlushTimeout bounds the final flush of the outputs when a pipeline
// stops.
const DefaultFlushTimeout = 10 * time.Second

// Pipeline runs N sources into M outputs. Outputs with equal templates share
// one Target, so sources convert each record once per distinct template.
// The pipeline does not own the outputs: the caller closes them.
//
// Update replaces the sources and outputs of a running pipeline (the
// daemon's reload): sources and outputs present before and after are not
// touched (a source keeps its sockets, an output its connections, buffers
// and counters), removed sources are stopped and drained, and once Update
// returns no record goes to a removed output any more, so the caller can
// drain and close it.
type Pipeline struct {
	log *zap.Logger
	// FlushTimeout bounds the final flush; 0 means DefaultFlushTimeout.
	FlushTimeout time.Duration

	mu      sync.Mutex // guards everything below
	sources []Source
	outputs []Output
	targets []*Target
	slots   map[Output]*outputSlot // counters live as long as the output

	runCtx   context.Context // nil until Run
	running  map[Source]*runningSource
	updating int
	idle     chan struct{} // signalled when a source ends or an update finishes
	errs     []error
}

type runningSource struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Retargeter is a source that can switch to other targets while it runs,
// keeping its sockets and state (the collector). Sources without it are
// restarted when the set of templates changes.
type Retargeter interface {
	Retarget(targets []*Target) error
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
	p := &Pipeline{log: log, slots: map[Output]*outputSlot{}, idle: make(chan struct{}, 1)}
	targets, err := p.group(outputs)
	if err != nil {
		return nil, err
	}
	p.install(targets)
	p.sources, p.outputs, p.targets = slices.Clone(sources), slices.Clone(outputs), targets
	return p, nil
}

// group builds the targets for outputs: a current target of an equal
// template is reused (sources keep emitting to it), the others are new.
// Each target's next outputs wait in pending until they are installed.
func (p *Pipeline) group(outputs []Output) ([]*Target, error) {
	var targets []*Target
	for _, o := range outputs {
		if o.Template() == nil {
			return nil, fmt.Errorf("pipeline: output %q has no template", o.Name())
		}
		var tg *Target
		for _, t := range targets {
			if t.tmpl.Equal(o.Template()) {
				tg = t
				break
			}
		}
		if tg == nil {
			for _, t := range p.targets {
				if t.tmpl.Equal(o.Template()) {
					tg = t
					break
				}
			}
			if tg == nil {
				tg = NewTarget(o.Template(), nil, p.log)
			}
			tg.pending = nil
			targets = append(targets, tg)
		}
		slot := p.slots[o]
		if slot == nil {
			slot = &outputSlot{out: o}
		}
		tg.pending = append(tg.pending, slot)
	}
	return targets, nil
}

// install gives every target the outputs group put in pending and
// remembers the outputs' slots, whose counters go on while the output is
// in the pipeline.
func (p *Pipeline) install(targets []*Target) {
	p.slots = map[Output]*outputSlot{}
	for _, tg := range targets {
		tg.setOuts(tg.pending)
		for _, s := range tg.pending {
			p.slots[s.out] = s
		}
		tg.pending = nil
	}
}

// Targets returns the distinct templates' targets, in output order.
func (p *Pipeline) Targets() []*Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}

// Run runs every source until ctx ends or all sources have ended, then
// flushes every output and returns. Source failures are joined into the
// returned error; a cancelled ctx is not an error.
func (p *Pipeline) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.runCtx != nil {
		p.mu.Unlock()
		return errors.New("pipeline: Run called twice")
	}
	p.runCtx, p.running = ctx, map[Source]*runningSource{}
	for _, s := range p.sources {
		p.startLocked(s, p.targets)
	}
	p.mu.Unlock()
	for {
		p.mu.Lock()
		done := len(p.running) == 0 && p.updating == 0
		p.mu.Unlock()
		if done {
			break
		}
		<-p.idle
	}
	p.mu.Lock()
	errs := p.errs
	p.mu.Unlock()
	errs = append(errs, p.Flush())
	return errors.Join(errs...)
}

func (p *Pipeline) signal() {
	select {
	case p.idle <- struct{}{}:
	default:
	}
}

// startLocked runs s in its own goroutine under a context of its own.
func (p *Pipeline) startLocked(s Source, targets []*Target) {
	ctx, cancel := context.WithCancel(p.runCtx)
	rs := &runningSource{cancel: cancel, done: make(chan struct{})}
	p.running[s] = rs
	go func() {
		defer close(rs.done)
		err := s.Run(ctx, targets)
		p.mu.Lock()
		if err != nil && !errors.Is(err, context.Canceled) {
			p.errs = append(p.errs, fmt.Errorf("source %s: %w", s.Name(), err))
			p.log.Error("source failed", zap.String("source", s.Name()), zap.Error(err))
		} else {
			p.log.Debug("source ended", zap.String("source", s.Name()))
		}
		if p.running[s] == rs {
			delete(p.running, s)
		}
		p.mu.Unlock()
		cancel()
		p.signal()
	}()
}

// Update makes sources and outputs the pipeline's, running or not (see
// Pipeline). Sources are compared by identity: one given again keeps
// running. Outputs too: one given again keeps its counters. When the
// templates change, a kept source that is a Retargeter switches targets in
// place; any other is stopped and started again. Either list may be empty
// for a moment (a reload that replaces everything); Run does not end
// during Update.
func (p *Pipeline) Update(sources []Source, outputs []Output) error {
	p.mu.Lock()
	targets, err := p.group(outputs)
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.updating++
	oldTargets := p.targets
	sameTargets := slices.Equal(oldTargets, targets)
	var stop []*runningSource
	if p.runCtx != nil {
		for s, rs := range p.running {
			if !slices.Contains(sources, s) {
				stop = append(stop, rs)
				delete(p.running, s)
			}
		}
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.updating--
		p.mu.Unlock()
		p.signal()
	}()

	// Removed sources stop first and drain into the outputs they had.
	for _, rs := range stop {
		rs.cancel()
		<-rs.done
	}
	// Then the outputs switch; when setOuts returns, no Emit uses an old
	// list any more.
	p.mu.Lock()
	p.install(targets)
	p.mu.Unlock()
	for _, tg := range oldTargets {
		if !slices.Contains(targets, tg) {
			tg.setOuts(nil)
		}
	}

	p.mu.Lock()
	p.targets, p.outputs = targets, slices.Clone(outputs)
	p.sources = slices.Clone(sources)
	if p.runCtx == nil || p.runCtx.Err() != nil {
		p.mu.Unlock()
		return nil
	}
	var restart []*runningSource
	var restarted []Source
	var errs []error
	for _, s := range sources {
		rs, ok := p.running[s]
		switch {
		case !ok:
			p.startLocked(s, targets)
		case sameTargets:
		default:
			if r, ok := s.(Retargeter); ok {
				if err := r.Retarget(targets); err != nil {
					errs = append(errs, fmt.Errorf("source %s: %w", s.Name(), err))
				}
				continue
			}
			delete(p.running, s)
			rs.cancel()
			restart, restarted = append(restart, rs), append(restarted, s)
		}
	}
	p.mu.Unlock()
	for _, rs := range restart {
		<-rs.done
	}
	p.mu.Lock()
	if p.runCtx.Err() == nil {
		for _, s := range restarted {
			p.startLocked(s, targets)
		}
	}
	p.mu.Unlock()
	return errors.Join(errs...)
}

// Flush flushes every output, each bounded by FlushTimeout, and returns the
// errors joined.
func (p *Pipeline) Flush() error {
	timeout := p.FlushTimeout
	if timeout <= 0 {
		timeout = DefaultFlushTimeout
	}
	p.mu.Lock()
	outputs := slices.Clone(p.outputs)
	p.mu.Unlock()
	var errs []error
	for _, o := range outputs {
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
	p.mu.Lock()
	targets := p.targets
	p.mu.Unlock()
	var st []OutputStats
	for _, t := range targets {
		for _, s := range t.outSlots() {
			st = append(st, s.stats())
		}
	}
	return st
}

// Sources returns the pipeline's sources.
func (p *Pipeline) Sources() []Source {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sources)
}
