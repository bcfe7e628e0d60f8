package collector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
)

// ErrState is wrapped by every error about a malformed template state file.
var ErrState = errors.New("invalid template state")

// stateVersion is the format version of the state file.
const stateVersion = 1

// The state file is JSON: small, rarely written, and readable by operators.
type stateFile struct {
	Version  int            `json:"version"`
	Sessions []stateSession `json:"sessions"`
}

type stateSession struct {
	Exporter          string            `json:"exporter"`
	Version           uint16            `json:"version"`
	Domain            uint32            `json:"domain"`
	Sampling          uint64            `json:"sampling,omitempty"`
	Samplers          map[uint64]uint64 `json:"samplers,omitempty"`
	SamplingAlgorithm uint8             `json:"samplingAlgorithm,omitempty"`
	SystemInitMs      uint64            `json:"systemInitMs,omitempty"`
	Templates         []stateTemplate   `json:"templates"`
}

type stateTemplate struct {
	ID         uint16  `json:"id"`
	Options    bool    `json:"options,omitempty"`
	ScopeCount int     `json:"scopeCount,omitempty"`
	Fields     []Field `json:"fields"`
}

// SaveTemplates writes every session's templates, sampling interval and
// system init time, so that a restarted collector can decode data from
// exporters that resend templates rarely.
func (d *Decoder) SaveTemplates(w io.Writer) error {
	d.mu.Lock()
	st := stateFile{Version: stateVersion}
	for k, s := range d.sessions {
		if k.port != 0 { // stream sessions end with their connection
			continue
		}
		ss := stateSession{Exporter: k.addr.String(), Version: k.version, Domain: k.domain,
			Sampling: s.sampling, Samplers: maps.Clone(s.samplers), SamplingAlgorithm: s.samplingAlgorithm, SystemInitMs: s.sysInit}
		for _, e := range s.templates {
			if e.tmpl.ID < 256 { // the built-in v5 layout
				continue
			}
			ss.Templates = append(ss.Templates, stateTemplate{ID: e.tmpl.ID, Options: e.tmpl.Options, ScopeCount: e.tmpl.ScopeCount, Fields: e.tmpl.Fields})
		}
		st.Sessions = append(st.Sessions, ss)
	}
	d.mu.Unlock()
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(st); err != nil {
		return fmt.Errorf("collector: writing template state: %w", err)
	}
	return nil
}

// LoadTemplates installs the templates of a state written by SaveTemplates;
// their lifetime starts now. Nothing is installed when the state is invalid.
func (d *Decoder) LoadTemplates(r io.Reader) error {
	var st stateFile
	if err := json.NewDecoder(r).Decode(&st); err != nil {
		return fmt.Errorf("collector: template state: %w: %w", ErrState, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("collector: template state version %d, want %d: %w", st.Version, stateVersion, ErrState)
	}
	type loaded struct {
		key  sessionKey
		ss   stateSession
		tmps []*Template
	}
	var all []loaded
	for i, ss := range st.Sessions {
		addr, err := netip.ParseAddr(ss.Exporter)
		if err != nil {
			return fmt.Errorf("collector: template state session %d exporter: %w: %w", i, ErrState, err)
		}
		if ss.Version != 5 && ss.Version != 9 && ss.Version != 10 {
			return fmt.Errorf("collector: template state session %d: version %d: %w", i, ss.Version, ErrState)
		}
		l := loaded{key: sessionKey{addr: addr.Unmap(), version: ss.Version, domain: ss.Domain}, ss: ss}
		for j, stt := range ss.Templates {
			t := &Template{ID: stt.ID, Options: stt.Options, ScopeCount: stt.ScopeCount, Fields: stt.Fields}
			if t.ID < 256 || len(t.Fields) == 0 || t.ScopeCount < 0 || t.ScopeCount > len(t.Fields) || (t.Options && t.ScopeCount == 0) {
				return fmt.Errorf("collector: template state session %d template %d (id %d): %w", i, j, t.ID, ErrState)
			}
			for k, f := range t.Fields {
				if f.Scope != (k < t.ScopeCount) || (ss.Version != 10 && (f.Length == VariableLength || f.PEN != 0)) {
					return fmt.Errorf("collector: template state session %d template %d field %d: %w", i, t.ID, k, ErrState)
				}
			}
			if err := t.finish(); err != nil {
				return fmt.Errorf("collector: template state: %w: %w", ErrState, err)
			}
			l.tmps = append(l.tmps, t)
		}
		all = append(all, l)
	}
	now := d.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range all {
		stats, ok := d.perExp[l.key.addr]
		if !ok {
			stats = new(Counters)
			stats.lastSeen.Store(now.UnixNano()) // idle from the load on
			d.perExp[l.key.addr] = stats
		}
		s := d.session(l.key, stats)
		s.sampling, s.samplingAlgorithm, s.sysInit = l.ss.Sampling, l.ss.SamplingAlgorithm, l.ss.SystemInitMs
		s.samplers = l.ss.Samplers
		for _, t := range l.tmps {
			s.setTemplate(pair{exp: stats, ser: s.series, all: &d.total}, t, now)
		}
	}
	return nil
}

// SaveTemplatesFile writes the state to path atomically (temporary file in
// the same directory, then rename).
func (d *Decoder) SaveTemplatesFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("collector: template state: %w", err)
	}
	defer os.Remove(f.Name())
	if err := d.SaveTemplates(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("collector: template state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("collector: template state: %w", err)
	}
	return nil
}

// LoadTemplatesFile loads a state file; a missing file is reported with an
// error wrapping fs.ErrNotExist, which a fresh start may ignore.
func (d *Decoder) LoadTemplatesFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("collector: template state: %w", err)
	}
	defer f.Close()
	return d.LoadTemplates(f)
}

// CopyTemplates installs in dst, a decoder joining d (a new output of a
// running collector), what d has learnt so far: every session's templates,
// sampling, system init time and sequence state, the sessions of open TCP
// connections included (SaveTemplates leaves those out, as a restart ends
// the connections; here they go on, and their exporters send templates
// only once). Templates keep their age, so they expire in both alike.
func (d *Decoder) CopyTemplates(dst *Decoder) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dst.mu.Lock()
	defer dst.mu.Unlock()
	now := dst.cfg.Now().UnixNano()
	for k, s := range d.sessions {
		stats, ok := dst.perExp[k.addr]
		if !ok {
			stats = new(Counters)
			stats.lastSeen.Store(now)
			if c := d.perExp[k.addr]; c != nil {
				stats.lastSeen.Store(c.lastSeen.Load())
			}
			dst.perExp[k.addr] = stats
		}
		ds := dst.session(k, stats)
		ds.sampling, ds.samplingAlgorithm, ds.sysInit = s.sampling, s.samplingAlgorithm, s.sysInit
		ds.samplers = maps.Clone(s.samplers)
		ds.seqValid, ds.nextSeq = s.seqValid, s.nextSeq
		p := pair{exp: stats, ser: ds.series, all: &dst.total}
		for _, e := range s.templates {
			if e.tmpl.ID >= 256 { // not the built-in v5 layout
				ds.setTemplate(p, e.tmpl, e.updated)
			}
		}
	}
}
