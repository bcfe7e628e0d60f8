package ingest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// TrapOutputConfig configures a TRAP output.
type TrapOutputConfig struct {
	// Spec is one output IFC_SPEC entry, e.g. "u:flowgate" or "f:/tmp/out.trapcap".
	Spec string
	// Template is the UniRec template announced to receivers.
	Template *unirec.Template
	// SocketDir is where u: sockets live (libtrap's TRAP_SOCKET_DIR).
	SocketDir string
	// DefaultTimeout applies when Spec has no timeout= of its own.
	DefaultTimeout trap.Timeout
	// Files, when set, lets an f: output in mode w continue the file an
	// earlier output of the same path left (a restart within the process)
	// instead of truncating it; see trap.FileSet.
	Files *trap.FileSet
	// Filter, when set, holds back the records that do not pass it
	// (counted by Filtered); it is compiled for Template.
	Filter *filter.Expr
}

// TrapOutput is an Output on a TRAP interface. Concurrent senders are
// serialised: trap.Output is not safe for concurrent use.
type TrapOutput struct {
	name     string
	tmpl     *unirec.Template
	prog     *filter.Program // nil: no filter
	filtered atomic.Uint64
	mu       sync.Mutex
	out      *trap.Output
}

// NewTrapOutput opens the interface and announces the UniRec format.
func NewTrapOutput(cfg TrapOutputConfig, log *zap.Logger) (*TrapOutput, error) {
	if cfg.Template == nil {
		return nil, fmt.Errorf("trap output %q: no template", cfg.Spec)
	}
	specs, err := trap.ParseIFCSpec(cfg.Spec)
	if err != nil {
		return nil, fmt.Errorf("trap output %q: %w", cfg.Spec, err)
	}
	if len(specs) != 1 {
		return nil, fmt.Errorf("trap output %q: want exactly one interface, got %d", cfg.Spec, len(specs))
	}
	if log == nil {
		log = zap.NewNop()
	}
	var prog *filter.Program
	if cfg.Filter != nil {
		p, warns, err := cfg.Filter.Compile(cfg.Template)
		if err != nil {
			return nil, fmt.Errorf("trap output %q: filter: %w", cfg.Spec, err)
		}
		for _, w := range warns {
			log.Warn("filter term is never true", zap.String("filter", cfg.Filter.Source()), zap.Stringer("term", w))
		}
		prog = p
	}
	sp := specs[0]
	if !sp.TimeoutSet {
		sp.Timeout = cfg.DefaultTimeout
	}
	out, err := trap.OpenOutputFiles(sp, cfg.SocketDir, log, cfg.Files)
	if err != nil {
		return nil, fmt.Errorf("trap output: %w", err)
	}
	if err := out.SetDataFormat(trap.FormatUniRec, cfg.Template.Spec()); err != nil {
		out.Close(context.Background())
		return nil, fmt.Errorf("trap output: %w", err)
	}
	return &TrapOutput{name: cfg.Spec, tmpl: cfg.Template, prog: prog, out: out}, nil
}

// Name returns the IFC spec.
func (o *TrapOutput) Name() string { return o.name }

// Template returns the announced template.
func (o *TrapOutput) Template() *unirec.Template { return o.tmpl }

// Send queues one record, unless the output's filter holds it back.
func (o *TrapOutput) Send(ctx context.Context, rec []byte) error {
	if o.prog != nil && !o.prog.MatchData(rec) {
		o.filtered.Add(1)
		return nil
	}
	o.mu.Lock()
	err := o.out.Send(ctx, rec)
	o.mu.Unlock()
	return err
}

// SendFixed queues the size-byte records packed in data under one lock,
// holding back those the output's filter does not pass. It returns how
// many records were dealt with (sent or held back) before an error.
func (o *TrapOutput) SendFixed(ctx context.Context, data []byte, size int) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prog == nil {
		return o.out.SendFixed(ctx, data, size)
	}
	n := 0
	for ; len(data) >= size; data = data[size:] {
		rec := data[:size]
		if !o.prog.MatchData(rec) {
			o.filtered.Add(1)
		} else if err := o.out.Send(ctx, rec); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Flush sends the active buffer.
func (o *TrapOutput) Flush(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.Flush(ctx)
}

// EndStream sends TRAP's end-of-stream message, so NEMEA modules reading
// this interface finish as they do at the end of a logreplay.
func (o *TrapOutput) EndStream(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.SendEOS(ctx)
}

// Filtered is the number of records the output's filter held back.
func (o *TrapOutput) Filtered() uint64 { return o.filtered.Load() }

// Stats returns the interface's TRAP counters.
func (o *TrapOutput) Stats() trap.OutputStats { return o.out.Stats() }

// Close delivers what is buffered and releases the interface.
func (o *TrapOutput) Close(ctx context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.Close(ctx)
}
