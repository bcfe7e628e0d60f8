package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// TrapConfig configures a source that reads a TRAP input interface: a
// NEMEA module's output (u:, t:, T:), .trapcap files (f:) or a Kafka topic
// (k:). A flowgate can so consume a topic other flowgates fill, run its
// in-process consumers on it, or re-key it onto another topic.
type TrapConfig struct {
	Name string
	// IFC is one input IFC_SPEC entry, e.g. "k:flows:kafka1:9092:group=fg".
	IFC string
	// SocketDir is where u: sockets live.
	SocketDir string
}

// TrapSource emits every UniRec record its input receives, converted into
// each target's template (fields in common by name and type). It ends at
// the input's end of stream (a message of one byte or less).
type TrapSource struct {
	cfg TrapConfig
	sp  trap.IfcSpec
	log *zap.Logger

	in       atomic.Pointer[trap.Input]
	bad      atomic.Uint64 // messages that are no record of the announced template
	refused  atomic.Uint64 // senders whose format is not UniRec
	received atomic.Uint64
}

// NewTrap checks the IFC_SPEC; the interface opens when Run starts.
func NewTrap(cfg TrapConfig, log *zap.Logger) (*TrapSource, error) {
	sps, err := trap.ParseIFCSpec(cfg.IFC)
	if err != nil {
		return nil, fmt.Errorf("trap source %s: %w", cfg.Name, err)
	}
	if len(sps) != 1 {
		return nil, fmt.Errorf("trap source %s: %q: want one input interface, got %d", cfg.Name, cfg.IFC, len(sps))
	}
	switch sps[0].Kind {
	case trap.KindUNIX, trap.KindTCP, trap.KindTLS, trap.KindFile, trap.KindKafka:
	default:
		return nil, fmt.Errorf("trap source %s: %q: interface type %q cannot be an input (want u, t, T, f or k)", cfg.Name, cfg.IFC, sps[0].Kind)
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &TrapSource{cfg: cfg, sp: sps[0], log: log.With(zap.String("source", cfg.Name))}, nil
}

// Name returns the configured name.
func (s *TrapSource) Name() string { return s.cfg.Name }

// Stats returns the input's TRAP counters (zero before Run opens it).
func (s *TrapSource) Stats() trap.InputStats {
	if in := s.in.Load(); in != nil {
		return in.Stats()
	}
	return trap.InputStats{Kind: s.sp.Kind}
}

// BadRecords counts messages dropped because they were no valid record of
// the sender's template.
func (s *TrapSource) BadRecords() uint64 { return s.bad.Load() }

// Records counts the records received.
func (s *TrapSource) Records() uint64 { return s.received.Load() }

// Run reads the input until its end of stream or until ctx ends.
func (s *TrapSource) Run(ctx context.Context, targets []*Target) error {
	in, err := trap.OpenInput(s.sp, s.cfg.SocketDir, s.log)
	if err != nil {
		return fmt.Errorf("trap source %s: %w", s.cfg.Name, err)
	}
	s.in.Store(in)
	defer in.Close()
	in.SetRequiredFormat(trap.FormatUniRec, "")
	conv := newConverting(targets)
	var tmpl *unirec.Template
	for {
		msg, changed, err := in.Recv(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, trap.ErrTimeout):
			continue
		case errors.Is(err, trap.ErrFormatMismatch):
			// The sender is not UniRec: the input dropped it (a socket
			// reconnects, a topic skips the record, a file list moves on).
			s.refused.Add(1)
			s.log.Warn("trap source: sender refused", zap.Error(err))
			continue
		case errors.Is(err, trap.ErrTerminated):
			return nil // the input ended (after its files, or closed)
		case err != nil:
			return fmt.Errorf("trap source %s: %w", s.cfg.Name, err)
		}
		if changed || tmpl == nil {
			_, spec := in.DataFormat()
			t, err := unirec.ParseTemplate(spec)
			if err != nil {
				return fmt.Errorf("trap source %s: sender's template %q: %w", s.cfg.Name, spec, err)
			}
			tmpl = t
			s.log.Info("trap source: sender's template", zap.String("template", spec))
		}
		if trap.IsEOS(msg) {
			s.log.Info("trap source: end of stream", zap.Uint64("records", s.received.Load()))
			return nil
		}
		rec, err := tmpl.Wrap(msg)
		if err != nil {
			n := s.bad.Add(1)
			if n&(n-1) == 0 {
				s.log.Warn("trap source: message is no record of the template, dropped", zap.Int("bytes", len(msg)),
					zap.Uint64("dropped_so_far", n), zap.Error(err))
			}
			continue
		}
		s.received.Add(1)
		conv.emit(ctx, rec)
	}
}
