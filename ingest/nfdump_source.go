package ingest

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/unirec"
)

// NfdumpConfig configures an nfdump file source.
type NfdumpConfig struct {
	Name string
	// Paths are files, directories (their completed nfdump files, by name)
	// or glob patterns.
	Paths []string
	// Follow keeps watching directories and patterns for the files nfcapd
	// rotates in, instead of ending after the files present at start.
	Follow bool
	// StateFile remembers which files (and how much of the current one)
	// were delivered, so that across restarts every file is read once.
	StateFile string
	// Workers decompress blocks in parallel (nfdump.File.SetWorkers): 0 is
	// the default pool, 1 serial.
	Workers int
	Options converters.NfdumpOptions
	Log     *zap.Logger
}

// NfdumpSource replays nfdump files (any layout and compression package
// nfdump reads) as UniRec records, optionally following a directory.
type NfdumpSource struct {
	cfg NfdumpConfig
}

// NewNfdump returns an nfdump source.
func NewNfdump(cfg NfdumpConfig) (*NfdumpSource, error) {
	if len(cfg.Paths) == 0 {
		return nil, fmt.Errorf("nfdump source %s: no paths", cfg.Name)
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &NfdumpSource{cfg: cfg}, nil
}

// Name returns the configured name.
func (s *NfdumpSource) Name() string { return s.cfg.Name }

// Run delivers every record of every file in order. Without Follow it
// returns after the last file; a file that cannot be read or is corrupt
// ends the run with an error naming it (its leading records are delivered).
// With Follow such a file is logged and skipped, and Run returns when ctx
// ends.
func (s *NfdumpSource) Run(ctx context.Context, targets []*Target) error {
	convs := make([]*converters.NfdumpConverter, len(targets))
	recs := make([]unirec.Record, len(targets))
	var err error
	for i, tg := range targets {
		if convs[i], err = converters.NewNfdumpConverter(tg.Template(), s.cfg.Options); err != nil {
			return fmt.Errorf("nfdump: %w", err)
		}
		recs[i] = tg.Template().NewRecord()
	}
	fc := nfdump.FollowConfig{Paths: s.cfg.Paths, Follow: s.cfg.Follow, StateFile: s.cfg.StateFile, Workers: s.cfg.Workers}
	// The file being read and how many of its records went out, for the
	// log of a file that ends in a fault.
	var curFile string
	var curRecords uint64
	if s.cfg.Follow {
		fc.OnError = func(path string, err error) {
			delivered := uint64(0)
			if path == curFile {
				delivered = curRecords
			}
			s.cfg.Log.Warn("nfdump file ends in a fault: the records before it were delivered, the rest of the file is skipped",
				zap.String("source", s.cfg.Name), zap.String("file", path), zap.Uint64("records_delivered", delivered), zap.Error(err))
		}
	}
	fw, err := nfdump.NewFollower(fc)
	if err != nil {
		return fmt.Errorf("nfdump: %w", err)
	}
	err = fw.Each(ctx, func(path string, it *nfdump.Iterator) error {
		if path != curFile {
			curFile, curRecords = path, 0
		}
		curRecords++
		r := it.Record()
		e, _ := it.Exporter(r.ExporterID)
		for i, tg := range targets {
			convs[i].Convert(&recs[i], r, e)
			tg.Emit(ctx, recs[i].Data)
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		// err names the file and offset; say what of it went out.
		if curFile != "" {
			return fmt.Errorf("%w (%d records of %s delivered before the fault)", err, curRecords, curFile)
		}
		return err
	}
	return nil
}
