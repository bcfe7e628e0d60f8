package ingest

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/unirec"
)

// PcapConfig configures a pcap replay through the flow meter.
type PcapConfig struct {
	Name string
	// Paths are pcap/pcapng files, directories or glob patterns.
	Paths []string
	Meter meter.Config
}

// PcapSource meters pcap captures into flows (ipfixprobe semantics, see
// package meter) and emits them. Each file is metered on its own: flows do
// not span files.
type PcapSource struct {
	cfg PcapConfig
}

// NewPcap returns a pcap source.
func NewPcap(cfg PcapConfig) (*PcapSource, error) {
	if len(cfg.Paths) == 0 {
		return nil, fmt.Errorf("pcap source %s: no paths", cfg.Name)
	}
	return &PcapSource{cfg: cfg}, nil
}

// Name returns the configured name.
func (s *PcapSource) Name() string { return s.cfg.Name }

// Run meters every file in order.
func (s *PcapSource) Run(ctx context.Context, targets []*Target) error {
	files, err := expandPaths(s.cfg.Paths)
	if err != nil {
		return fmt.Errorf("pcap source %s: %w", s.cfg.Name, err)
	}
	for _, name := range files {
		if err := s.meterFile(ctx, name, targets); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

func (s *PcapSource) meterFile(ctx context.Context, name string, targets []*Target) error {
	conv := newConverting(targets)
	m, err := meter.New(s.cfg.Meter, func(r unirec.Record) error {
		conv.emit(ctx, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("pcap source %s: %w", s.cfg.Name, err)
	}
	src, err := meter.OpenFile(name)
	if err != nil {
		return fmt.Errorf("pcap source %s: %w", s.cfg.Name, err)
	}
	defer src.Close()
	if err := m.Run(ctx, src); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("pcap source %s: %s: %w", s.cfg.Name, name, err)
	}
	return nil
}

// converting emits records of some source template into every target,
// converting with a Copier (fields in common by name and type) when the
// target's template differs. Copiers are made once per source template.
type converting struct {
	targets []*Target
	src     *unirec.Template
	copiers []*unirec.Copier
	recs    []unirec.Record
}

func newConverting(targets []*Target) *converting {
	return &converting{targets: targets}
}

func (c *converting) emit(ctx context.Context, r unirec.Record) {
	if c.src != r.T {
		c.src = r.T
		c.copiers = make([]*unirec.Copier, len(c.targets))
		c.recs = make([]unirec.Record, len(c.targets))
		for i, tg := range c.targets {
			if !tg.Template().Equal(r.T) {
				c.copiers[i] = unirec.NewCopier(tg.Template(), r.T)
				c.recs[i] = tg.Template().NewRecord()
			}
		}
	}
	for i, tg := range c.targets {
		if c.copiers[i] == nil {
			tg.Emit(ctx, r.Data)
			continue
		}
		c.recs[i] = c.recs[i].Reset()
		if err := c.copiers[i].Copy(&c.recs[i], r); err != nil {
			tg.log.Warn("record conversion failed", zap.Error(err))
			continue
		}
		tg.Emit(ctx, c.recs[i].Data)
	}
}
