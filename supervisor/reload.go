package supervisor

import (
	"fmt"
	"sort"
	"time"
)

// ReloadResult is the outcome of a reload (spec §3.5).
type ReloadResult struct {
	Applied    bool             `json:"applied"`
	DryRun     bool             `json:"dry_run,omitempty"`
	Inserted   []string         `json:"inserted"`
	Removed    []string         `json:"removed"`
	Modified   []ModifiedModule `json:"modified"`
	Unmodified int              `json:"unmodified"`
	Reverted   []string         `json:"reverted_overrides,omitempty"`
	Errors     []string         `json:"errors"`
	Warnings   []string         `json:"warnings,omitempty"`
}

// ModifiedModule is a module whose process settings changed.
type ModifiedModule struct {
	Name    string   `json:"name"`
	Changes []string `json:"changes"`
}

// Report is the C supervisor's reload report.
func (r ReloadResult) Report() string {
	if !r.Applied && !r.DryRun {
		s := "[RELOAD] Rejected:\n"
		for _, e := range r.Errors {
			s += e + "\n"
		}
		return s
	}
	return fmt.Sprintf("[RELOAD] Result:\nInserted modules:\t%d\nRemoved modules:\t%d\nModified modules:\t%d\nUnmodified modules:\t%d\n",
		len(r.Inserted), len(r.Removed), len(r.Modified), r.Unmodified)
}

// Reload reads the configuration file again and applies it: new modules
// are inserted, removed ones stopped and dropped, and only modules whose
// path, args, interfaces, env or workdir changed are restarted (spec §1.11).
// A configuration with errors changes nothing.
func (s *Supervisor) Reload(dryRun bool) ReloadResult {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	res := ReloadResult{DryRun: dryRun, Inserted: []string{}, Removed: []string{}, Modified: []ModifiedModule{}, Errors: []string{}}
	cur := s.Config()
	cfg, err := Load(cur.Source, cur.XML)
	if err != nil {
		if ce, ok := err.(ConfigErrors); ok {
			for _, e := range ce {
				res.Errors = append(res.Errors, e.Error())
			}
		} else {
			res.Errors = append(res.Errors, err.Error())
		}
		if !dryRun {
			s.lastReloadOK.Store(false)
			s.lastReloadTime.Store(time.Now().UnixNano())
			s.events.Add("", "RELOAD", 0, "Reload rejected: "+err.Error())
		}
		return res
	}
	// Settings that the running process cannot change keep their value.
	cfg.Settings.Socket, cfg.Settings.LogsDir, cfg.Settings.HTTPListen = cur.Settings.Socket, cur.Settings.LogsDir, cur.Settings.HTTPListen
	cfg.Settings.TrapSocketDir = cur.Settings.TrapSocketDir
	res.Warnings = cfg.Warnings
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, spec := range cfg.Modules {
		seen[spec.Name] = true
		m := s.byName[spec.Name]
		switch {
		case m == nil || m.removed:
			res.Inserted = append(res.Inserted, spec.Name)
		default:
			if ch := m.spec.changes(spec); len(ch) > 0 {
				res.Modified = append(res.Modified, ModifiedModule{Name: spec.Name, Changes: ch})
			} else {
				res.Unmodified++
			}
			if m.enabled != spec.Enabled || (m.autoDisabled && spec.Enabled) {
				res.Reverted = append(res.Reverted, spec.Name)
			}
		}
	}
	for _, m := range s.mods {
		if !seen[m.spec.Name] && !m.removed {
			res.Removed = append(res.Removed, m.spec.Name)
		}
	}
	sort.Strings(res.Removed)
	if dryRun {
		return res
	}
	modified := map[string]bool{}
	for _, mm := range res.Modified {
		modified[mm.Name] = true
	}
	s.cfg = cfg
	s.profiles = map[string]bool{}
	for _, p := range cfg.Profiles {
		s.profiles[p.Name] = p.Enabled
	}
	var mods []*module
	for _, spec := range cfg.Modules {
		m := s.byName[spec.Name]
		if m == nil || m.removed {
			m = &module{spec: spec, enabled: spec.Enabled}
			s.byName[spec.Name] = m
			mods = append(mods, m)
			continue
		}
		if spec.Enabled && (!m.enabled || m.autoDisabled) {
			m.startsSinceEnable, m.restarts = 0, nil
			m.autoDisabled, m.autoReason, m.completed = false, "", false
		}
		m.enabled = spec.Enabled
		m.spec = spec
		if modified[spec.Name] {
			m.startsSinceEnable, m.restarts, m.completed = 0, nil, false
			if m.pid != 0 {
				m.restartReq = true
			}
		}
		mods = append(mods, m)
	}
	for _, m := range s.mods {
		if !seen[m.spec.Name] && m.pid != 0 {
			m.removed = true
			mods = append(mods, m)
		} else if !seen[m.spec.Name] && s.byName[m.spec.Name] == m {
			delete(s.byName, m.spec.Name)
		}
	}
	s.mods = mods
	res.Applied = true
	s.lastReloadOK.Store(true)
	s.lastReloadTime.Store(time.Now().UnixNano())
	s.events.Add("", "RELOAD", 0, fmt.Sprintf("Reload applied: %d inserted, %d removed, %d modified, %d unmodified",
		len(res.Inserted), len(res.Removed), len(res.Modified), res.Unmodified))
	s.poke()
	return res
}
