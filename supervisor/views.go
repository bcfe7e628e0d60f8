package supervisor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ModuleStatus is one module as the HTTP API shows it (spec §3.5).
type ModuleStatus struct {
	Name             string           `json:"name"`
	Profile          string           `json:"profile"`
	Idx              int              `json:"idx"`
	Description      string           `json:"description,omitempty"`
	Enabled          bool             `json:"enabled"`
	ProfileEnabled   bool             `json:"profile_enabled"`
	EffectiveEnabled bool             `json:"effective_enabled"`
	Status           string           `json:"status"`
	PID              int              `json:"pid"`
	StartedAt        *time.Time       `json:"started_at"`
	UptimeS          float64          `json:"uptime_s"`
	RestartsInWindow int              `json:"restarts_in_window"`
	RestartsTotal    int              `json:"restarts_total"`
	LastExit         *ExitInfo        `json:"last_exit"`
	AutoDisabled     AutoDisabled     `json:"auto_disabled"`
	ServiceIFC       ServiceIFCStatus `json:"service_ifc"`
	CPU              CPUStatus        `json:"cpu"`
	Mem              MemStatus        `json:"mem"`
	Inputs           []map[string]any `json:"inputs"`
	Outputs          []map[string]any `json:"outputs"`
	Args             []string         `json:"args"`
	Path             string           `json:"path"`
}

// AutoDisabled tells whether the restart limit disabled a module, and why.
type AutoDisabled struct {
	Disabled bool       `json:"disabled"`
	Reason   string     `json:"reason,omitempty"`
	At       *time.Time `json:"at,omitempty"`
}

// ServiceIFCStatus is the state of a module's service IFC polling. State is
// "ok", "off", "connecting", or the kind of the last failure (garbage,
// hang, closed, io, connect).
type ServiceIFCStatus struct {
	Enabled   bool       `json:"enabled"`
	Connected bool       `json:"connected"`
	State     string     `json:"state"`
	LastOK    *time.Time `json:"last_ok"`
	StatsAgeS *float64   `json:"stats_age_s"`
	Error     string     `json:"error,omitempty"`
}

// CPUStatus is the CPU use of a module: the C-compatible percentages of the
// whole machine over the last stats interval, and cumulative seconds.
type CPUStatus struct {
	User    int     `json:"user"`
	Kernel  int     `json:"kernel"`
	UserS   float64 `json:"user_seconds"`
	SystemS float64 `json:"system_seconds"`
}

// MemStatus is a module's memory in bytes.
type MemStatus struct {
	VMS uint64 `json:"vms"`
	RSS uint64 `json:"rss"`
}

func ptrTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// status builds the module's API view. The caller holds s.mu.
func (s *Supervisor) status(m *module, now time.Time) ModuleStatus {
	st := ModuleStatus{
		Name: m.spec.Name, Profile: m.spec.Profile, Idx: m.spec.Idx, Description: m.spec.Description,
		Enabled: m.enabled, ProfileEnabled: s.profiles[m.spec.Profile], PID: m.pid,
		RestartsTotal: m.restartsTotal, LastExit: m.lastExit, Args: m.spec.Argv(), Path: m.spec.Path,
		CPU:    CPUStatus{User: m.cpuU, Kernel: m.cpuS, UserS: m.userS, SystemS: m.sysS},
		Mem:    MemStatus{VMS: m.vms, RSS: m.rss},
		Inputs: []map[string]any{}, Outputs: []map[string]any{},
	}
	st.EffectiveEnabled = st.Enabled && st.ProfileEnabled
	st.AutoDisabled = AutoDisabled{Disabled: m.autoDisabled, Reason: m.autoReason}
	if m.autoDisabled {
		st.AutoDisabled.At = ptrTime(m.autoAt)
	}
	for _, t := range m.restarts {
		if now.Sub(t) < s.cfg.Settings.RestartWindow {
			st.RestartsInWindow++
		}
	}
	switch {
	case m.pid != 0 && m.stopping:
		st.Status = "stopping"
	case m.pid != 0 && m.svc.lastOK.IsZero() && now.Sub(m.startedAt) < 2*time.Second && m.spec.ServiceIFC:
		st.Status = "starting"
	case m.pid != 0:
		st.Status = "running"
	case m.autoDisabled:
		st.Status = "failed"
	case m.completed:
		st.Status = "completed"
	case m.wanted(s) && m.startsSinceEnable > 0:
		st.Status = "backoff"
	default:
		st.Status = "stopped"
	}
	if m.pid != 0 {
		st.StartedAt = ptrTime(m.startedAt)
		st.UptimeS = now.Sub(m.startedAt).Seconds()
	}
	sv := &st.ServiceIFC
	sv.Enabled = m.spec.ServiceIFC
	switch {
	case !m.spec.ServiceIFC:
		sv.State = "off"
	case m.pid == 0:
		sv.State = "stopped"
	case m.svc.connected:
		sv.State = "ok"
	case m.svc.errKind != "":
		sv.State = m.svc.errKind
	default:
		sv.State = "connecting"
	}
	sv.Connected, sv.Error = m.svc.connected, m.svc.err
	if !m.svc.lastOK.IsZero() {
		sv.LastOK = ptrTime(m.svc.lastOK)
		age := now.Sub(m.svc.lastOK).Seconds()
		sv.StatsAgeS = &age
	}
	if m.pid != 0 && m.svc.pid == m.pid && m.svc.in != nil {
		st.Inputs, st.Outputs = m.svc.in, m.svc.out
	}
	return st
}

// Modules returns every module's status in configuration order.
func (s *Supervisor) Modules() []ModuleStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	out := make([]ModuleStatus, 0, len(s.mods))
	for _, m := range s.mods {
		out = append(out, s.status(m, now))
	}
	return out
}

// Module returns one module's status.
func (s *Supervisor) Module(name string) (ModuleStatus, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byName[name]
	if m == nil {
		return ModuleStatus{}, false
	}
	return s.status(m, time.Now()), true
}

// jw writes JSON with jansson's separators (", " and ": ") in a fixed key
// order, as the C supervisor's -x and -i outputs have them.
type jw struct{ bytes.Buffer }

func (w *jw) key(first bool, k string) {
	if !first {
		w.WriteString(", ")
	}
	b, _ := json.Marshal(k)
	w.Write(b)
	w.WriteString(": ")
}

func (w *jw) val(v any) {
	b, _ := json.Marshal(v)
	w.Write(b)
}

// ifcType is the one-letter type of a raw interface object.
func ifcType(obj map[string]any) string {
	t := num(obj, "ifc_type")
	if t == 0 || t > 127 {
		return "?"
	}
	return string(rune(t))
}

func (w *jw) compatModule(m *module, ins, outs []map[string]any, synth bool) {
	w.key(true, "CPU-u")
	w.val(m.cpuU)
	w.key(false, "CPU-s")
	w.val(m.cpuS)
	w.key(false, "MEM-vms")
	w.val(m.vms)
	w.key(false, "MEM-rss")
	w.val(m.rss)
	w.key(false, "inputs")
	if synth && ins == nil && outs == nil {
		// A module that never answered: its configured interfaces, zeroed.
		for _, ifc := range m.spec.Interfaces {
			obj := map[string]any{"ifc_type": float64(ifc.Kind), "ifc_id": ifcID(ifc)}
			if ifc.In {
				ins = append(ins, obj)
			} else {
				outs = append(outs, obj)
			}
		}
	}
	w.ifcList(ins, compatIn)
	w.key(false, "outputs")
	w.ifcList(outs, compatOut)
}

// The -x/-i interface keys and the service-IFC counters they show.
var (
	compatIn  = [][2]string{{"is-conn", "ifc_state"}, {"messages", "messages"}, {"buffers", "buffers"}}
	compatOut = [][2]string{{"cli-num", "num_clients"}, {"sent-msg", "sent-messages"}, {"drop-msg", "dropped-messages"},
		{"buffers", "buffers"}, {"autoflush", "autoflushes"}}
)

// ifcList writes interface objects as the C supervisor does: type letter,
// ID, then the counters.
func (w *jw) ifcList(objs []map[string]any, fields [][2]string) {
	w.WriteByte('[')
	for i, obj := range objs {
		if i > 0 {
			w.WriteString(", ")
		}
		w.WriteByte('{')
		w.key(true, "type")
		w.val(ifcType(obj))
		w.key(false, "ID")
		w.val(str(obj, "ifc_id"))
		for _, f := range fields {
			w.key(false, f[0])
			w.val(num(obj, f[1]))
		}
		w.WriteByte('}')
	}
	w.WriteByte(']')
}

// ifcID is the id libtrap reports for a configured interface: the port of
// a TCP/TLS socket, the name of a UNIX socket, the file name, "none".
func ifcID(ifc Interface) string {
	p := ifc.Spec
	switch ifc.Kind {
	case 'u', 'f':
		name, _, _ := bytes.Cut([]byte(p), []byte(":"))
		return string(name)
	case 't', 'T':
		parts := bytes.Split([]byte(p), []byte(":"))
		if ifc.In && len(parts) >= 2 {
			return string(parts[1])
		}
		return string(parts[0])
	}
	return "none"
}

// StatsJSON is the -x object (spec §3.2): running modules only, empty
// (zero bytes) when none runs, no trailing newline.
func (s *Supervisor) StatsJSON() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w jw
	n := 0
	for _, m := range s.mods {
		if m.pid == 0 {
			continue
		}
		if n == 0 {
			w.WriteByte('{')
		}
		w.key(n == 0, m.spec.Name)
		w.WriteByte('{')
		var ins, outs []map[string]any
		if m.svc.pid == m.pid {
			ins, outs = m.svc.in, m.svc.out
		}
		w.compatModule(m, ins, outs, false)
		w.WriteByte('}')
		n++
	}
	if n > 0 {
		w.WriteByte('}')
	}
	return w.Bytes()
}

// InfoJSON is the -i object (spec §3.3): every loaded module, with idx,
// params, path and status, then a newline; empty when nothing is loaded.
func (s *Supervisor) InfoJSON() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w jw
	n := 0
	for _, m := range s.mods {
		if n == 0 {
			w.WriteByte('{')
		}
		w.key(n == 0, m.spec.Name)
		w.WriteByte('{')
		ins, outs := m.lastIn, m.lastOut
		if m.pid != 0 {
			ins, outs = nil, nil
			if m.svc.pid == m.pid {
				ins, outs = m.svc.in, m.svc.out
			}
		}
		w.compatModule(m, ins, outs, true)
		w.key(false, "idx")
		w.val(m.spec.Idx)
		params := m.spec.Params
		if params == "" && len(m.spec.Args) > 0 {
			params = joinArgs(m.spec.Args)
		}
		if params == "" {
			params = "none"
		}
		w.key(false, "params")
		w.val(params)
		w.key(false, "path")
		w.val(m.spec.Path)
		w.key(false, "status")
		if m.pid != 0 {
			w.val("running")
		} else {
			w.val("stopped")
		}
		w.WriteByte('}')
		n++
	}
	if n > 0 {
		w.WriteString("}\n")
	}
	return w.Bytes()
}

// joinArgs writes args as a params string that SplitParams reads back.
func joinArgs(args []string) string {
	var b bytes.Buffer
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch {
		case a == "":
			b.WriteString(`""`)
		case !bytes.ContainsAny([]byte(a), " '\""):
			b.WriteString(a)
		case !bytes.ContainsRune([]byte(a), '\''):
			b.WriteString("'" + a + "'")
		default:
			b.WriteString(`"` + a + `"`)
		}
	}
	return b.String()
}

// Info is the supervisor's own state (GET /v1/supervisor, menu 8).
type Info struct {
	Version        string    `json:"version"`
	Started        time.Time `json:"started"`
	Config         string    `json:"config"`
	LogsDir        string    `json:"logs_dir"`
	Socket         string    `json:"socket"`
	TrapSocketDir  string    `json:"trap_socket_dir"`
	Loaded         int       `json:"loaded_modules"`
	Running        int       `json:"running_modules"`
	LastReloadOK   bool      `json:"last_reload_ok"`
	LastReloadTime time.Time `json:"last_reload_time"`
}

// Info returns the supervisor's own state.
func (s *Supervisor) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{Version: Version, Started: s.started, Config: s.cfg.Source, LogsDir: s.cfg.Settings.LogsDir,
		Socket: s.cfg.Settings.Socket, TrapSocketDir: s.cfg.Settings.TrapSocketDir, Loaded: len(s.mods),
		LastReloadOK: s.lastReloadOK.Load(), LastReloadTime: time.Unix(0, s.lastReloadTime.Load())}
	for _, m := range s.mods {
		if m.pid != 0 {
			in.Running++
		}
	}
	return in
}

const statisticsLegend = `Legend of the statistics blocks: every minute a line "------> <time>", then for each running module with a connected service IFC:
<module>,in,<type letter>,<ifc id>,<received messages>,<received buffers>
<module>,out,<type letter>,<ifc id>,<sent messages>,<dropped messages>,<sent buffers>,<autoflushes>
`

func (s *Supervisor) statisticsFile() (*os.File, error) {
	return os.OpenFile(filepath.Join(s.Config().Settings.LogsDir, "modules_statistics"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}

func (s *Supervisor) writeStatisticsLegend() {
	f, err := s.statisticsFile()
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "-------------------- %s --------------------\n%s", time.Now().Format(ctimeLayout), statisticsLegend)
}

// writeStatistics appends a block to modules_statistics (spec §1.10).
func (s *Supervisor) writeStatistics() {
	var b bytes.Buffer
	s.mu.Lock()
	for _, m := range s.mods {
		if m.pid == 0 || !m.svc.connected || m.svc.pid != m.pid {
			continue
		}
		for _, in := range m.svc.in {
			fmt.Fprintf(&b, "%s,in,%s,%s,%d,%d\n", m.spec.Name, ifcType(in), str(in, "ifc_id"), num(in, "messages"), num(in, "buffers"))
		}
		for _, o := range m.svc.out {
			fmt.Fprintf(&b, "%s,out,%s,%s,%d,%d,%d,%d\n", m.spec.Name, ifcType(o), str(o, "ifc_id"),
				num(o, "sent-messages"), num(o, "dropped-messages"), num(o, "buffers"), num(o, "autoflushes"))
		}
	}
	s.mu.Unlock()
	if b.Len() == 0 {
		return
	}
	f, err := s.statisticsFile()
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "------> %s\n", time.Now().Format(ctimeLayout))
	f.Write(b.Bytes())
}
