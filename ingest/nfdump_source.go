package ingest

import (
	"context"
	"fmt"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/unirec"
)

// NfdumpConfig configures an nfdump file replay.
type NfdumpConfig struct {
	Name string
	// Paths are files, directories (their files, by name) or glob patterns.
	Paths   []string
	Options converters.NfdumpOptions
}

// NfdumpSource replays nfdump files (any layout and compression package
// nfdump reads) as UniRec records.
type NfdumpSource struct {
	cfg NfdumpConfig
}

// NewNfdump returns an nfdump source.
func NewNfdump(cfg NfdumpConfig) (*NfdumpSource, error) {
	if len(cfg.Paths) == 0 {
		return nil, fmt.Errorf("nfdump source %s: no paths", cfg.Name)
	}
	return &NfdumpSource{cfg: cfg}, nil
}

// Name returns the configured name.
func (s *NfdumpSource) Name() string { return s.cfg.Name }

// Run replays every file in order and returns at the end of the last one.
func (s *NfdumpSource) Run(ctx context.Context, targets []*Target) error {
	files, err := expandPaths(s.cfg.Paths)
	if err != nil {
		return fmt.Errorf("nfdump source %s: %w", s.cfg.Name, err)
	}
	convs := make([]*converters.NfdumpConverter, len(targets))
	recs := make([]unirec.Record, len(targets))
	for i, tg := range targets {
		if convs[i], err = converters.NewNfdumpConverter(tg.Template(), s.cfg.Options); err != nil {
			return fmt.Errorf("nfdump source %s: %w", s.cfg.Name, err)
		}
		recs[i] = tg.Template().NewRecord()
	}
	for _, name := range files {
		if err := s.replay(ctx, name, targets, convs, recs); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

func (s *NfdumpSource) replay(ctx context.Context, name string, targets []*Target, convs []*converters.NfdumpConverter, recs []unirec.Record) error {
	f, err := nfdump.Open(name)
	if err != nil {
		return fmt.Errorf("nfdump source %s: %w", s.cfg.Name, err)
	}
	defer f.Close()
	it := f.Records(ctx)
	defer it.Close()
	for it.Next() {
		r := it.Record()
		e, _ := it.Exporter(r.ExporterID)
		for i, tg := range targets {
			convs[i].Convert(&recs[i], r, e)
			tg.Emit(ctx, recs[i].Data)
		}
	}
	if err := it.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("nfdump source %s: %s: %w", s.cfg.Name, name, err)
	}
	return nil
}
