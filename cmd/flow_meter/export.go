package main

import (
	"context"
	"fmt"
	"time"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// finalSendTimeout bounds the sends after the capture ended (the cache
// flush after an interrupt, the end-of-stream message).
const finalSendTimeout = 5 * time.Second

// exporter meters with every plugin of -p at once and sends each record to
// every output, converted to that output's template (basic fields plus its
// plugin's).
type exporter struct {
	meter   *meter.Meter
	outs    []*trap.Output
	copiers []*unirec.Copier // nil where the output's template is the meter's
	recs    []unirec.Record
	ctx     context.Context // of the sends in progress
}

func newExporter(o options, outs []*trap.Output) (*exporter, error) {
	ex := &exporter{outs: outs, copiers: make([]*unirec.Copier, len(outs)), recs: make([]unirec.Record, len(outs))}
	m, err := meter.New(meter.Config{
		Cache:        meter.CacheConfig{Active: o.active, Inactive: o.inactive, Size: 1 << o.cacheExp},
		Plugins:      o.plugins,
		LinkBitField: o.linkBits,
		DirBitField:  o.dirBits,
	}, ex.send)
	if err != nil {
		return nil, err
	}
	ex.meter = m
	for i, name := range o.plugins {
		t, err := outputTemplate(name)
		if err != nil {
			return nil, err
		}
		if !t.Equal(m.Template()) {
			ex.copiers[i] = unirec.NewCopier(t, m.Template())
			ex.recs[i] = t.NewRecord()
		}
		if err := outs[i].SetDataFormat(trap.FormatUniRec, t.Spec()); err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
	}
	return ex, nil
}

// outputTemplate is the basic biflow template plus the plugin's fields.
func outputTemplate(plugin string) (*unirec.Template, error) {
	spec := meter.BasicSpec
	pl, err := meter.NewPlugin(plugin)
	if err != nil {
		return nil, err
	}
	if pl != nil && pl.Spec() != "" {
		spec += "," + pl.Spec()
	}
	t, err := unirec.ParseTemplate(spec)
	if err != nil {
		return nil, fmt.Errorf("%s output template: %w", plugin, err)
	}
	return t, nil
}

// send is the meter's record sink.
func (ex *exporter) send(r unirec.Record) error {
	for i, out := range ex.outs {
		data := r.Data
		if c := ex.copiers[i]; c != nil {
			ex.recs[i] = ex.recs[i].Reset()
			if err := c.Copy(&ex.recs[i], r); err != nil {
				return fmt.Errorf("output %d: %w", i, err)
			}
			data = ex.recs[i].Data
		}
		if err := out.Send(ex.ctx, data); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}
	return nil
}

// run meters src to its end (or ctx's).
func (ex *exporter) run(ctx context.Context, src meter.PacketSource) error {
	ex.ctx = ctx
	return ex.meter.Run(ctx, src)
}

// flush exports the flows left in the cache after an interrupted run.
func (ex *exporter) flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), finalSendTimeout)
	defer cancel()
	ex.ctx = ctx
	return ex.meter.Flush()
}

// sendEOS ends the stream on every output.
func (ex *exporter) sendEOS() error {
	ctx, cancel := context.WithTimeout(context.Background(), finalSendTimeout)
	defer cancel()
	for i, out := range ex.outs {
		if err := out.SendEOS(ctx); err != nil {
			return fmt.Errorf("output %d: %w", i, err)
		}
	}
	return nil
}
