package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// closeTimeout bounds the final delivery of buffered records to receivers.
const closeTimeout = 10 * time.Second

// daemon runs one pipeline and reconfigures it on SIGHUP.
type daemon struct {
	log     *zap.Logger
	reload  func() (config.Configuration, error)
	files   *trap.FileSet            // w-mode files continue across output restarts
	current atomic.Pointer[instance] // read by the metrics collector
}

// instance is the running configuration: cfg.Sources[i] runs as
// sources[i], cfg.Outputs[i] is outputs[i] and cfg.Detectors[j] (an
// in-process detector, which the pipeline feeds like an output) is
// outputs[len(cfg.Outputs)+j]. A reload makes a new instance
// on the same pipeline, sharing what did not change.
type instance struct {
	cfg      config.Configuration
	sources  []ingest.Source
	outputs  []ingest.Output
	pipeline *ingest.Pipeline
	cancel   context.CancelFunc
	done     chan error
}

func (d *daemon) start(cfg config.Configuration) (*instance, error) {
	if d.files == nil {
		d.files = trap.NewFileSet()
	}
	in := &instance{cfg: cfg, sources: make([]ingest.Source, len(cfg.Sources)), outputs: make([]ingest.Output, numOutputs(cfg))}
	if err := d.build(in, nil, nil); err != nil {
		return nil, err
	}
	p, err := ingest.NewPipeline(in.sources, in.outputs, d.log)
	if err != nil {
		d.release(in, nil, nil)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.pipeline, in.cancel, in.done = p, cancel, make(chan error, 1)
	go func() { in.done <- p.Run(ctx) }()
	d.current.Store(in)
	d.log.Info("running", zap.Int("sources", len(in.sources)), zap.Int("outputs", len(in.outputs)))
	return in, nil
}

// build opens the outputs and sources of in that are still nil and for
// which want (nil: all) says yes. On failure it closes what it opened
// and returns the error.
func (d *daemon) build(in *instance, wantOut, wantSrc func(int) bool) error {
	var opened []int
	var bound []int
	fail := func(err error) error {
		for _, i := range opened {
			in.outputs[i].Close(context.Background())
			in.outputs[i] = nil
		}
		for _, i := range bound {
			closeSource(in.sources[i])
			in.sources[i] = nil
		}
		return err
	}
	for i := range in.outputs {
		if in.outputs[i] != nil || (wantOut != nil && !wantOut(i)) {
			continue
		}
		out, err := buildAnyOutput(in.cfg, i, d.log, d.files)
		if err != nil {
			return fail(err)
		}
		in.outputs[i] = out
		opened = append(opened, i)
	}
	for i := range in.cfg.Sources {
		if in.sources[i] != nil || (wantSrc != nil && !wantSrc(i)) {
			continue
		}
		src, err := buildSource(in.cfg, i, d.log)
		if err != nil {
			return fail(err)
		}
		in.sources[i] = src
		bound = append(bound, i)
	}
	return nil
}

// release closes the outputs and sources of in for which keepOut and
// keepSrc (nil: none kept) say no.
func (d *daemon) release(in *instance, keepOut func(ingest.Output) bool, keepSrc func(ingest.Source) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var errs []error
	for _, o := range in.outputs {
		if o != nil && (keepOut == nil || !keepOut(o)) {
			if err := o.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("closing output %s: %w", o.Name(), err))
			}
		}
	}
	for _, s := range in.sources {
		if s != nil && (keepSrc == nil || !keepSrc(s)) {
			closeSource(s)
		}
	}
	return errors.Join(errs...)
}

// outputKey identifies an output by what makes it: IFC spec, template,
// filter and (for u:) the socket directory. Equal keys are the same output.
func outputKey(cfg config.Configuration, i int) string {
	if i >= len(cfg.Outputs) {
		return detectorKey(cfg, i-len(cfg.Outputs)) + "\x00" + resourceKey(cfg, i)
	}
	o := cfg.Outputs[i]
	tmpl := o.Template
	if t, err := unirec.ParseTemplate(o.Template); err == nil {
		tmpl = t.Spec()
	}
	return o.IFC + "\x00" + tmpl + "\x00" + o.Filter + "\x00" + resourceKey(cfg, i)
}

// resourceKey is what an output holds exclusively: a socket name in its
// directory, a TCP port or a file path. Two outputs of one key cannot be
// open at once; "" holds nothing (b:).
func resourceKey(cfg config.Configuration, i int) string {
	sps, err := trap.ParseIFCSpec(outputIFC(cfg, i))
	if err != nil || len(sps) != 1 || len(sps[0].Params) == 0 {
		return ""
	}
	sp := sps[0]
	switch sp.Kind {
	case trap.KindUNIX:
		return "u:" + filepath.Join(cfg.SocketDirectory(), sp.Params[0])
	case trap.KindTCP, trap.KindTLS:
		return "t:" + sp.Params[0]
	case trap.KindFile:
		if a, err := filepath.Abs(sp.Params[0]); err == nil {
			return "f:" + a
		}
		return "f:" + sp.Params[0]
	}
	return ""
}

// sourceAddrs are the addresses a source binds (port 0 binds none in
// particular and clashes with nothing).
func sourceAddrs(s config.SourceConfig) []string {
	var out []string
	for _, l := range s.Listen {
		if network, addr, err := config.ParseListen(l); err == nil {
			if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" {
				out = append(out, network+":"+port)
			}
		}
	}
	return out
}

// reconfigure moves the running instance to next. Outputs and sources
// whose configuration did not change are kept as they are: open, with
// their connections, buffers, sockets and counters. Changed and removed
// ones are drained and closed; new ones are opened. What can be opened
// before anything is closed is (so a failure leaves everything running);
// what needs a socket, port or file that a retiring one holds is opened
// after it closed, and if that fails the retired ones come back.
func (d *daemon) reconfigure(in *instance, next config.Configuration) (*instance, error) {
	nin := &instance{cfg: next, sources: make([]ingest.Source, len(next.Sources)), outputs: make([]ingest.Output, numOutputs(next)),
		pipeline: in.pipeline, cancel: in.cancel, done: in.done}
	oldOut := map[string]int{}
	for i := range in.outputs {
		oldOut[outputKey(in.cfg, i)] = i
	}
	keptOut := make([]bool, len(in.outputs))
	for i := range nin.outputs {
		if j, ok := oldOut[outputKey(next, i)]; ok && !keptOut[j] {
			nin.outputs[i], keptOut[j] = in.outputs[j], true
		}
	}
	keptSrc := make([]bool, len(in.sources))
	for i, s := range next.Sources {
		for j, o := range in.cfg.Sources {
			if !keptSrc[j] && reflect.DeepEqual(s, o) {
				nin.sources[i], keptSrc[j] = in.sources[j], true
				break
			}
		}
	}
	busyRes := map[string]bool{} // held by retiring outputs
	for j := range in.outputs {
		if !keptOut[j] {
			busyRes[resourceKey(in.cfg, j)] = true
		}
	}
	busyAddr := map[string]bool{} // bound by retiring sources
	for j := range in.sources {
		if !keptSrc[j] {
			for _, a := range sourceAddrs(in.cfg.Sources[j]) {
				busyAddr[a] = true
			}
		}
	}
	freeOut := func(i int) bool { k := resourceKey(next, i); return k == "" || !busyRes[k] }
	freeSrc := func(i int) bool {
		for _, a := range sourceAddrs(next.Sources[i]) {
			if busyAddr[a] {
				return false
			}
		}
		return true
	}
	// Phase 1: open what clashes with nothing; a failure changes nothing.
	if err := d.build(nin, freeOut, freeSrc); err != nil {
		return nil, err
	}
	var retiredOut []ingest.Output
	for j, o := range in.outputs {
		if !keptOut[j] {
			retiredOut = append(retiredOut, o)
		}
	}
	var retiredSrc []int
	for j := range in.sources {
		if !keptSrc[j] {
			retiredSrc = append(retiredSrc, j)
		}
	}
	st := in.pipeline.OutputStats() // the retiring outputs' last counters
	// Phase 2: the pipeline drops the retiring sources (drained into the
	// outputs they had) and outputs, which then drain and close.
	if err := in.pipeline.Update(nonNil(nin.sources), nonNil(nin.outputs)); err != nil {
		d.log.Warn("reload: switching the pipeline", zap.Error(err))
	}
	d.logStopped(st, retiredOut, "output replaced")
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	for _, o := range retiredOut {
		if err := o.Close(ctx); err != nil {
			d.log.Warn("reload: closing output", zap.String("output", o.Name()), zap.Error(err))
		}
	}
	cancel()
	// Phase 3: open what had to wait for its socket, port or file.
	err := d.build(nin, nil, nil)
	if err != nil {
		d.log.Error("reload: opening the new configuration failed, bringing back the replaced parts", zap.Error(err))
		back := &instance{cfg: in.cfg, sources: slices.Clone(in.sources), outputs: slices.Clone(in.outputs)}
		for j := range back.outputs {
			if !keptOut[j] {
				back.outputs[j] = nil
			}
		}
		for _, j := range retiredSrc {
			back.sources[j] = nil
		}
		err = errors.Join(err, d.build(back, nil, nil))
		back.pipeline, back.cancel, back.done = in.pipeline, in.cancel, in.done
		if uerr := in.pipeline.Update(nonNil(back.sources), nonNil(back.outputs)); uerr != nil {
			err = errors.Join(err, uerr)
		}
		d.current.Store(back)
		// The new parts that did open (now out of the pipeline) close again.
		d.release(nin, func(o ingest.Output) bool { return slices.Contains(back.outputs, o) },
			func(s ingest.Source) bool { return slices.Contains(back.sources, s) })
		return back, err
	}
	if err := in.pipeline.Update(nin.sources, nin.outputs); err != nil {
		d.log.Warn("reload: switching the pipeline", zap.Error(err))
	}
	d.current.Store(nin)
	d.log.Info("reloaded", zap.Int("sources", len(nin.sources)), zap.Int("outputs", len(nin.outputs)),
		zap.Int("outputs_kept", count(keptOut)), zap.Int("sources_kept", count(keptSrc)))
	return nin, nil
}

func nonNil[T comparable](xs []T) []T {
	var zero T
	var out []T
	for _, x := range xs {
		if x != zero {
			out = append(out, x)
		}
	}
	return out
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// stop stops the sources (the collectors drain their sockets), waits for
// the pipeline's final flush, ends the outputs' streams and closes them,
// and logs every counter of records delivered, dropped or lost.
func (d *daemon) stop(in *instance) error {
	in.cancel()
	err := <-in.done
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err = errors.Join(err, ingest.EndStreams(ctx, in.outputs))
	err = errors.Join(err, ingest.CloseAll(ctx, in.outputs))
	d.logStopped(in.pipeline.OutputStats(), in.outputs, "output stopped")
	for _, s := range in.sources {
		if c, ok := s.(*ingest.CollectorSource); ok {
			f := []zap.Field{zap.String("source", c.Name()), zap.Uint64("socket_drops", c.SocketDrops()), zap.Uint64("read_errors", c.ReadErrors())}
			if t := c.Totals(); t != nil {
				v := t.Snapshot()
				f = append(f, zap.Uint64("packets", v.Packets), zap.Uint64("records", v.Records), zap.Uint64("decode_errors", v.DecodeErrors),
					zap.Uint64("missing_template_drops", v.MissingTemplate), zap.Uint64("exporters_refused", t.ExportersRefused.Load()))
			}
			d.log.Info("source stopped", f...)
		}
		if sf, ok := s.(*ingest.SflowSource); ok {
			d.log.Info("source stopped", sflowStopFields(sf)...)
		}
	}
	return err
}

// logStopped logs the counters of outs: records accepted, records refused
// (dropped) and messages the interface lost after accepting them.
func (d *daemon) logStopped(stats []ingest.OutputStats, outs []ingest.Output, msg string) {
	st := map[string]ingest.OutputStats{}
	for _, s := range stats {
		st[s.Name] = s
	}
	for _, o := range outs {
		s := st[o.Name()]
		f := []zap.Field{zap.String("output", o.Name()), zap.Uint64("records", s.Sent), zap.Uint64("dropped", s.Failed)}
		if t, ok := o.(*ingest.TrapOutput); ok {
			f = append(f, zap.Uint64("ifc_dropped", t.Stats().DroppedMessages))
		}
		if dt, ok := o.(*detectorOutput); ok {
			f = append(f, dt.logFields()...)
		}
		d.log.Info(msg, f...)
	}
}

// serve runs cfg until a stop signal, or until every source has ended (file
// replays), reconfiguring on SIGHUP.
func (d *daemon) serve(ctx context.Context, cfg config.Configuration, sigs <-chan os.Signal) error {
	if cfg.Metrics.Listen != "" {
		srv, err := d.serveMetrics(cfg.Metrics.Listen)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	in, err := d.start(cfg)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return d.stop(in)
		case err := <-in.done:
			in.done <- err // stop reads it again
			d.log.Info("every source has ended")
			return d.stop(in)
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				d.log.Info("stopping", zap.String("signal", sig.String()))
				return d.stop(in)
			}
			next, err := d.reload()
			if err != nil {
				d.log.Error("reload: configuration rejected, keeping the running one", zap.Error(err))
				continue
			}
			if next.Metrics.Listen != in.cfg.Metrics.Listen {
				d.log.Warn("reload: metrics.listen changes only at restart", zap.String("running", in.cfg.Metrics.Listen))
			}
			d.log.Info("reloading")
			nin, err := d.reconfigure(in, next)
			if err != nil {
				d.log.Error("reload: configuration not applied, the running one goes on", zap.Error(err))
			}
			if nin != nil {
				in = nin
			}
		}
	}
}

func (d *daemon) serveMetrics(addr string) (*http.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&metrics{d: d})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	d.log.Info("metrics", zap.String("listen", "http://"+ln.Addr().String()+"/metrics"))
	return srv, nil
}
