package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/unirec"
)

// detectorOutput runs a detector in-process as an output of the pipeline:
// its template is the detector's input fields, so the sources convert
// their records to it like to any output, and its alerts go to a TRAP
// output of the detector module's alert template. Same module options,
// same code, same records in the same order: the same alerts as the
// standalone module on the daemon's output.
type detectorOutput struct {
	name   string
	spec   detmod.Spec
	tmpl   *unirec.Template
	alerts *ingest.TrapOutput
	log    *zap.Logger

	mu         sync.Mutex // Process is single-goroutine; sources send concurrently
	det        detectors.Detector
	emit       detectors.Emit
	ctx        context.Context // of the Send in progress, for the alert send
	stopClock  context.CancelFunc
	malformed  atomic.Uint64
	alertDrops atomic.Uint64
}

// buildDetector creates cfg.Detectors[i] with its alert output.
func buildDetector(cfg config.Configuration, i int, log *zap.Logger) (*detectorOutput, error) {
	dc := cfg.Detectors[i]
	key := fmt.Sprintf("detectors[%d] (%s)", i, dc.Name)
	spec, ok := detmod.Lookup(dc.Type)
	if !ok {
		return nil, fmt.Errorf("%s.type: %q is not one of %v", key, dc.Type, detmod.Names())
	}
	det, clock, err := spec.New(dc.Options)
	if err != nil {
		return nil, fmt.Errorf("%s.options: %w", key, err)
	}
	tmpl, err := unirec.ParseTemplate(det.InputSpec())
	if err == nil {
		err = det.Bind(tmpl)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	atmpl, err := unirec.ParseTemplate(det.OutputSpec())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	alerts, err := ingest.NewTrapOutput(ingest.TrapOutputConfig{
		Spec: dc.IFC, Template: atmpl, SocketDir: cfg.SocketDirectory(), DefaultTimeout: config.DefaultOutputTimeout,
	}, log.With(zap.String("detector", dc.Name), zap.String("output", dc.IFC)))
	if err != nil {
		return nil, fmt.Errorf("%s.ifc: %w", key, err)
	}
	d := &detectorOutput{name: "detector:" + dc.Name, spec: spec, tmpl: tmpl, alerts: alerts, det: det,
		log: log.With(zap.String("detector", dc.Name))}
	d.emit = func(a unirec.Record) error {
		if err := d.alerts.Send(d.ctx, a.Data); err != nil {
			d.alertDrops.Add(1)
			d.log.Warn("alert dropped", zap.Error(err))
		}
		return nil
	}
	cctx, stop := context.WithCancel(context.Background())
	d.stopClock = stop
	if wc, ok := clock.(*detectors.WallClock); ok {
		go wc.Run(cctx)
	}
	log.Info("detector", zap.String("name", dc.Name), zap.String("type", dc.Type), zap.Strings("options", dc.Options), zap.String("alerts", dc.IFC))
	return d, nil
}

func (d *detectorOutput) Name() string               { return d.name }
func (d *detectorOutput) Template() *unirec.Template { return d.tmpl }

// Send runs the detector on one record. Lost alerts are counted and
// logged; the record itself is never refused.
func (d *detectorOutput) Send(ctx context.Context, rec []byte) error {
	r, err := d.tmpl.Wrap(rec)
	if err != nil {
		d.malformed.Add(1)
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctx = ctx
	return d.det.Process(r, d.emit)
}

func (d *detectorOutput) Flush(ctx context.Context) error { return d.alerts.Flush(ctx) }

// EndStream is the end of the daemon's input: the detector reports what it
// reports at end of stream, and the alert stream ends where the module
// forwards the end of stream.
func (d *detectorOutput) EndStream(ctx context.Context) error {
	d.mu.Lock()
	d.ctx = ctx
	err := d.det.Finish(d.emit)
	d.mu.Unlock()
	if d.spec.Options.ForwardEOS {
		err = errors.Join(err, d.alerts.EndStream(ctx))
	}
	return err
}

// Close stops the detector's clock and closes its alert output.
func (d *detectorOutput) Close(ctx context.Context) error {
	d.stopClock()
	return d.alerts.Close(ctx)
}

// logFields are the detector's counters for the stop log.
func (d *detectorOutput) logFields() []zap.Field {
	st := d.det.Stats()
	return []zap.Field{zap.Uint64("detector_records", st.Records), zap.Uint64("alerts", st.Alerts),
		zap.Uint64("alert_drops", d.alertDrops.Load()), zap.Uint64("ipv6_skipped", st.IPv6Skipped),
		zap.Uint64("entries", st.Entries), zap.Uint64("evicted", st.Evicted), zap.Uint64("expired", st.Expired)}
}
