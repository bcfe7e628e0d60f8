package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// CSVConfig configures a replay of logger CSV archives (the files
// "logger -t" writes and logreplay reads: a header line of "type NAME"
// columns, then one record per line).
type CSVConfig struct {
	Name string
	// Paths are CSV files, directories or glob patterns.
	Paths []string
}

// CSVSource replays logger CSV files, converting each file's template into
// every target's template (fields in common by name and type).
type CSVSource struct {
	cfg CSVConfig
}

// NewCSV returns a CSV source.
func NewCSV(cfg CSVConfig) (*CSVSource, error) {
	if len(cfg.Paths) == 0 {
		return nil, fmt.Errorf("csv source %s: no paths", cfg.Name)
	}
	return &CSVSource{cfg: cfg}, nil
}

// Name returns the configured name.
func (s *CSVSource) Name() string { return s.cfg.Name }

// Run replays every file in order. A malformed row is an error that names
// the file and line: an archive is not network input, so stopping is safer
// than replaying part of it.
func (s *CSVSource) Run(ctx context.Context, targets []*Target) error {
	files, err := expandPaths(s.cfg.Paths)
	if err != nil {
		return fmt.Errorf("csv source %s: %w", s.cfg.Name, err)
	}
	for _, name := range files {
		if err := s.replay(ctx, name, targets); err != nil {
			return fmt.Errorf("csv source %s: %w", s.cfg.Name, err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

func (s *CSVSource) replay(ctx context.Context, name string, targets []*Target) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4*unirec.MaxRecordSize)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%s: empty file, no header line", name)
	}
	h, err := unirec.ParseCSVHeader(strings.TrimRight(sc.Text(), "\r"))
	if err != nil {
		return fmt.Errorf("%s: header: %w", name, err)
	}
	conv := newConverting(targets)
	rec := h.T.NewRecord()
	line := 1
	for sc.Scan() {
		line++
		if ctx.Err() != nil {
			return nil
		}
		b := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if len(b) == 0 {
			continue
		}
		if _, err := h.ParseRow(b, &rec); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
		conv.emit(ctx, rec)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
