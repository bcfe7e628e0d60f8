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

// nfdumpBatchLen is the most record bytes the source holds per target
// before handing them on with one EmitFixed call.
const nfdumpBatchLen = 64 << 10

// nfdumpOut converts records for one target. When the target's template
// has no variable-length fields, records collect in batch and go out with
// EmitFixed; otherwise each goes out alone with Emit.
type nfdumpOut struct {
	tg    *Target
	conv  *converters.NfdumpConverter
	rec   unirec.Record
	size  int // record size of a fixed-size template, 0 otherwise
	batch []byte
}

func (o *nfdumpOut) add(ctx context.Context, r *nfdump.Record, e *nfdump.Exporter) {
	o.conv.Convert(&o.rec, r, e)
	if o.size == 0 || len(o.rec.Data) != o.size {
		o.flush(ctx)
		o.tg.Emit(ctx, o.rec.Data)
		return
	}
	o.batch = append(o.batch, o.rec.Data...)
	if len(o.batch)+o.size > cap(o.batch) {
		o.flush(ctx)
	}
}

func (o *nfdumpOut) flush(ctx context.Context) {
	if len(o.batch) > 0 {
		o.tg.EmitFixed(ctx, o.batch, o.size)
		o.batch = o.batch[:0]
	}
}

// Run delivers every record of every file in order. Without Follow it
// returns after the last file; a file that cannot be read or is corrupt
// ends the run with an error naming it (its leading records are delivered).
// With Follow such a file is logged and skipped, and Run returns when ctx
// ends. Records of fixed-size templates go out in batches, handed on at the
// end of each file, before the state file counts them, whenever the
// follower waits for new files, and when a batch is full.
func (s *NfdumpSource) Run(ctx context.Context, targets []*Target) error {
	outs := make([]nfdumpOut, len(targets))
	for i, tg := range targets {
		conv, err := converters.NewNfdumpConverter(tg.Template(), s.cfg.Options)
		if err != nil {
			return fmt.Errorf("nfdump: %w", err)
		}
		o := &outs[i]
		o.tg, o.conv, o.rec = tg, conv, tg.Template().NewRecord()
		if t := tg.Template(); t.StaticSize() > 0 && t.StaticSize() == t.FixedSize() {
			o.size = t.StaticSize()
			o.batch = make([]byte, 0, max(nfdumpBatchLen/o.size, 1)*o.size)
		}
	}
	// flush hands on the held records. Once ctx ended they still go out
	// (the state counts them as delivered), bounded by DefaultFlushTimeout.
	flush := func() {
		ectx := ctx
		if ctx.Err() != nil {
			var cancel context.CancelFunc
			ectx, cancel = context.WithTimeout(context.WithoutCancel(ctx), DefaultFlushTimeout)
			defer cancel()
		}
		for i := range outs {
			outs[i].flush(ectx)
		}
	}
	fc := nfdump.FollowConfig{Paths: s.cfg.Paths, Follow: s.cfg.Follow, StateFile: s.cfg.StateFile, Workers: s.cfg.Workers, Flush: flush}
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
		for i := range outs {
			outs[i].add(ctx, r, e)
		}
		return nil
	})
	flush() // the follower flushed before its last save; nothing should be left
	if err != nil && ctx.Err() == nil {
		// err names the file and offset; say what of it went out.
		if curFile != "" {
			return fmt.Errorf("%w (%d records of %s delivered before the fault)", err, curRecords, curFile)
		}
		return err
	}
	return nil
}
