package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
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
)

// closeTimeout bounds the final delivery of buffered records to receivers.
const closeTimeout = 10 * time.Second

// daemon runs one pipeline at a time and replaces it on SIGHUP.
type daemon struct {
	log     *zap.Logger
	reload  func() (config.Configuration, error)
	files   *trap.FileSet            // w-mode files continue across output restarts
	current atomic.Pointer[instance] // read by the metrics collector
}

// instance is one running configuration.
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
	outs, err := buildOutputs(cfg, d.log, d.files)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	srcs, err := buildSources(ctx, cfg, d.log)
	if err != nil {
		cancel()
		ingest.CloseAll(context.Background(), outs)
		return nil, err
	}
	p, err := ingest.NewPipeline(srcs, outs, d.log)
	if err != nil {
		cancel()
		ingest.CloseAll(context.Background(), outs)
		return nil, err
	}
	in := &instance{cfg: cfg, sources: srcs, outputs: outs, pipeline: p, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- p.Run(ctx) }()
	d.current.Store(in)
	d.log.Info("running", zap.Int("sources", len(srcs)), zap.Int("outputs", len(outs)))
	return in, nil
}

// stop stops the sources (the collectors drain their sockets), waits for
// the pipeline's final flush, ends the outputs' streams when final, and
// closes the outputs.
func (d *daemon) stop(in *instance, final bool) error {
	in.cancel()
	err := <-in.done
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if final {
		err = errors.Join(err, ingest.EndStreams(ctx, in.outputs))
	}
	err = errors.Join(err, ingest.CloseAll(ctx, in.outputs))
	for _, st := range in.pipeline.OutputStats() {
		d.log.Info("output stopped", zap.String("output", st.Name), zap.Uint64("records", st.Sent), zap.Uint64("dropped", st.Failed))
	}
	return err
}

// serve runs cfg until a stop signal, or until every source has ended (file
// replays), reloading on SIGHUP.
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
			return d.stop(in, true)
		case err := <-in.done:
			in.done <- err // stop reads it again
			d.log.Info("every source has ended")
			return d.stop(in, true)
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				d.log.Info("stopping", zap.String("signal", sig.String()))
				return d.stop(in, true)
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
			if err := d.stop(in, false); err != nil {
				d.log.Warn("reload: stopping the old configuration", zap.Error(err))
			}
			nin, err := d.start(next)
			if err != nil {
				d.log.Error("reload: starting the new configuration failed, restarting the old one", zap.Error(err))
				if nin, err = d.start(in.cfg); err != nil {
					return fmt.Errorf("restarting the previous configuration: %w", err)
				}
			}
			in = nin
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
