package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// finalSendTimeout bounds the sends after the capture ended (the cache
// flush after an interrupt, the end-of-stream message).
const finalSendTimeout = 5 * time.Second

// exporter meters with every plugin of -p at once and sends each record to
// the outputs it belongs on (ipfixprobe's routing, spec/ipfixprobe-plugins.md
// §6), converted to each output's template (basic fields plus its plugin
// group's): a "basic" output gets every flow, a plugin output only the
// flows that carry a record of one of its plugins. With -A every output
// gets every flow.
type exporter struct {
	meter   *meter.Meter
	outs    []*trap.Output
	copiers []*unirec.Copier // nil where the output's template is the meter's
	recs    []unirec.Record
	masks   []uint64        // Meter.Extensions bits an output wants; allFlows for every flow
	sent    []uint64        // records sent per output
	ctx     context.Context // of the sends in progress
	// sendMu serialises the sends of the exporters of several capture
	// workers (-W) on the shared outputs; nil for one exporter.
	sendMu *sync.Mutex
}

// allFlows marks an output that receives every flow.
const allFlows = ^uint64(0)

// groupPlugins splits a -p group ("http+tls") into its plugins.
func groupPlugins(group string) []string { return strings.Split(group, "+") }

func newExporter(o options, outs []*trap.Output) (*exporter, error) {
	n := len(outs)
	ex := &exporter{outs: outs, copiers: make([]*unirec.Copier, n), recs: make([]unirec.Record, n),
		masks: make([]uint64, n), sent: make([]uint64, n)}
	var plugins []string
	for _, g := range o.plugins {
		plugins = append(plugins, groupPlugins(g)...)
	}
	m, err := meter.New(meter.Config{
		Cache:        meter.CacheConfig{Active: o.active, Inactive: o.inactive, Size: 1 << o.cacheExp, Uniflow: o.uniflow},
		Plugins:      plugins,
		LinkBitField: o.linkBits,
		DirBitField:  o.dirBits,
	}, ex.send)
	if err != nil {
		return nil, err
	}
	ex.meter = m
	for i, group := range o.plugins {
		if group == "basic" || o.allFlows {
			ex.masks[i] = allFlows
		} else {
			for _, pl := range groupPlugins(group) {
				ex.masks[i] |= m.PluginBit(pl)
			}
		}
		t, err := outputTemplate(group)
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

// outputTemplate is the basic biflow template plus the fields of the
// group's plugins.
func outputTemplate(group string) (*unirec.Template, error) {
	spec := meter.BasicSpec
	for _, plugin := range groupPlugins(group) {
		pl, err := meter.NewPlugin(plugin)
		if err != nil {
			return nil, err
		}
		if pl != nil && pl.Spec() != "" {
			spec += "," + pl.Spec()
		}
	}
	t, err := unirec.ParseTemplate(spec)
	if err != nil {
		return nil, fmt.Errorf("%s output template: %w", group, err)
	}
	return t, nil
}

// send is the meter's record sink.
func (ex *exporter) send(r unirec.Record) error {
	if ex.sendMu != nil {
		ex.sendMu.Lock()
		defer ex.sendMu.Unlock()
	}
	ext := ex.meter.Extensions()
	for i, out := range ex.outs {
		if mask := ex.masks[i]; mask != allFlows && ext&mask == 0 {
			continue // the flow carries none of this output's plugins' records
		}
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
		ex.sent[i]++
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
