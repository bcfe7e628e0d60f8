package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/ingest"
	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// numOutputs is how many outputs the pipeline feeds: the outputs, then
// the detectors.
func numOutputs(cfg config.Configuration) int { return len(cfg.Outputs) + len(cfg.Detectors) }

// outputIFC is the IFC spec of output i (a detector's: its alerts').
func outputIFC(cfg config.Configuration, i int) string {
	if i >= len(cfg.Outputs) {
		return cfg.Detectors[i-len(cfg.Outputs)].IFC
	}
	return cfg.Outputs[i].IFC
}

// detectorKey identifies a detector by its whole configuration: a
// reload keeps a detector (and its state) only when nothing changed.
func detectorKey(cfg config.Configuration, j int) string {
	d := cfg.Detectors[j]
	return fmt.Sprintf("detector\x00%s\x00%s\x00%q\x00%s", d.Type, d.Name, d.Options, d.IFC)
}

// buildAnyOutput opens output i: cfg.Outputs[i], or a detector after them.
func buildAnyOutput(cfg config.Configuration, i int, log *zap.Logger, files *trap.FileSet) (ingest.Output, error) {
	if i >= len(cfg.Outputs) {
		return buildDetector(cfg, i-len(cfg.Outputs), log)
	}
	return buildOutput(cfg, i, log, files)
}

// buildOutput opens cfg.Outputs[i].
func buildOutput(cfg config.Configuration, i int, log *zap.Logger, files *trap.FileSet) (ingest.Output, error) {
	o := cfg.Outputs[i]
	dir := cfg.SocketDirectory()
	if strings.HasPrefix(o.IFC, "u:") {
		// libtrap creates its socket directory too; 0777 (less the
		// umask) lets modules of other users connect.
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return nil, fmt.Errorf("outputs[%d]: socket directory: %w (set TRAP_SOCKET_DIR or socket_dir to a directory you may write)", i, err)
		}
	}
	tmpl, err := unirec.ParseTemplate(o.Template)
	if err != nil {
		return nil, fmt.Errorf("outputs[%d].template: %w", i, err)
	}
	var expr *filter.Expr
	if o.Filter != "" {
		if expr, err = filter.Parse(o.Filter); err != nil {
			return nil, fmt.Errorf("outputs[%d].filter: %w", i, err)
		}
	}
	out, err := ingest.NewTrapOutput(ingest.TrapOutputConfig{
		Spec: o.IFC, Template: tmpl, SocketDir: dir, DefaultTimeout: config.DefaultOutputTimeout, Files: files, Filter: expr,
	}, log.With(zap.String("output", o.IFC)))
	if err != nil {
		if errors.Is(err, fs.ErrPermission) && strings.HasPrefix(o.IFC, "u:") {
			err = fmt.Errorf("%w (set TRAP_SOCKET_DIR or socket_dir to a directory you may write)", err)
		}
		return nil, fmt.Errorf("outputs[%d]: %w", i, err)
	}
	return out, nil
}

// buildSource creates cfg.Sources[i] and binds a collector's sockets, so
// that a busy port is reported at start (or reload) time.
func buildSource(cfg config.Configuration, i int, log *zap.Logger) (ingest.Source, error) {
	s := cfg.Sources[i]
	key := fmt.Sprintf("sources[%d] (%s)", i, s.Name)
	if s.StateFile != "" {
		if err := checkStateDir(s.StateFile); err != nil {
			return nil, fmt.Errorf("%s: state_file: %w", key, err)
		}
	}
	var src ingest.Source
	var err error
	switch s.Type {
	case config.TypeCollector:
		src, err = newCollector(context.Background(), s, log)
	case config.TypeSflow:
		src, err = newSflow(context.Background(), s, log)
	case config.TypeNfdump:
		src, err = ingest.NewNfdump(ingest.NfdumpConfig{Name: s.Name, Paths: s.Paths, Follow: s.Follow, StateFile: s.StateFile, Workers: s.DecodeWorkers,
			Options: converters.DefaultNfdumpOptions(), Log: log})
	case config.TypePcap:
		src, err = ingest.NewPcap(ingest.PcapConfig{Name: s.Name, Paths: s.Paths, Meter: meter.Config{Plugins: s.Plugins}})
	case config.TypeCSV:
		src, err = ingest.NewCSV(ingest.CSVConfig{Name: s.Name, Paths: s.Paths})
	case config.TypeTrap:
		src, err = ingest.NewTrap(ingest.TrapConfig{Name: s.Name, IFC: s.IFC, SocketDir: cfg.SocketDirectory()}, log)
	default:
		err = fmt.Errorf("unknown type %q", s.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return src, nil
}

// checkStateDir makes sure the directory of a state file exists (creating
// it) and takes new files, so that a bad path shows at start and not when
// the state is first saved.
func checkStateDir(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("directory of %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".flowgate-state-check-*")
	if err != nil {
		return fmt.Errorf("directory of %s is not writable: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// closeSource releases what a built source holds before it runs.
func closeSource(s ingest.Source) {
	if c, ok := s.(*ingest.CollectorSource); ok {
		c.Close()
	}
	if c, ok := s.(*ingest.SflowSource); ok {
		c.Close()
	}
}

func newCollector(ctx context.Context, s config.SourceConfig, log *zap.Logger) (*ingest.CollectorSource, error) {
	cc := ingest.CollectorConfig{
		Name: s.Name, Sockets: s.Sockets, ReceiveBuffer: s.ReceiveBuffer,
		TemplateLifetime: s.TemplateLifetime, ApplySampling: s.Sampling(), StateFile: s.StateFile,
		MaxExporters: s.MaxExporters, Sampling: s.SamplingOverrides.Collector(),
	}
	for _, l := range s.Listen {
		network, addr, err := config.ParseListen(l)
		if err != nil {
			return nil, err
		}
		if network == "udp" {
			cc.UDP = append(cc.UDP, addr)
		} else {
			cc.TCP = append(cc.TCP, addr)
		}
	}
	var err error
	if cc.Table, err = loadElementTable(s.ElementTable); err != nil {
		return nil, err
	}
	c, err := ingest.NewCollector(cc, log)
	if err != nil {
		return nil, err
	}
	if err := c.Listen(ctx); err != nil {
		return nil, err
	}
	log.Info("listening", zap.String("source", s.Name), zap.Strings("udp", uniq(c.UDPAddrs())),
		zap.Strings("tcp", uniq(c.TCPAddrs())), zap.Int("sockets_per_udp_address", s.Sockets))
	return c, nil
}

// loadElementTable reads an element_table file; "" is the built-in table (nil).
func loadElementTable(path string) (*converters.Table, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("element_table: %w", err)
	}
	defer f.Close()
	t, err := converters.ParseTable(f)
	if err != nil {
		return nil, fmt.Errorf("element_table %s: %w", path, err)
	}
	return t, nil
}

// uniq lists distinct addresses (SO_REUSEPORT sockets share theirs).
func uniq(addrs []netip.AddrPort) []string {
	var out []string
	seen := map[netip.AddrPort]bool{}
	for _, a := range addrs {
		if !seen[a] {
			seen[a] = true
			out = append(out, a.String())
		}
	}
	return out
}
