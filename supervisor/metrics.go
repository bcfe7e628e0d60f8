package supervisor

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// promWriter writes the Prometheus text exposition format, one HELP and
// TYPE block per metric family.
type promWriter struct {
	bytes.Buffer
	families map[string][]string
	order    []string
	meta     map[string]string
}

func (p *promWriter) family(name, typ, help string) {
	if p.meta == nil {
		p.meta, p.families = map[string]string{}, map[string][]string{}
	}
	if _, ok := p.meta[name]; !ok {
		p.order = append(p.order, name)
		p.meta[name] = "# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n"
	}
}

func (p *promWriter) add(name string, value float64, labels ...string) {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(value, 'g', -1, 64))
	b.WriteByte('\n')
	p.families[name] = append(p.families[name], b.String())
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func (p *promWriter) bytes() []byte {
	for _, name := range p.order {
		p.WriteString(p.meta[name])
		for _, l := range p.families[name] {
			p.WriteString(l)
		}
	}
	return p.Bytes()
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics returns every module's and interface's series in Prometheus text
// format (spec §6 item 2).
func (s *Supervisor) Metrics() []byte {
	mods := s.Modules()
	var p promWriter
	p.family("nemea_module_up", "gauge", "1 when the module's process runs.")
	p.family("nemea_module_enabled", "gauge", "1 when the module should run; reason tells what disabled it.")
	p.family("nemea_module_restarts_total", "counter", "Automatic restarts of the module.")
	p.family("nemea_module_last_exit_code", "gauge", "Exit code of the module's last process (-1: killed by a signal or failed to start).")
	p.family("nemea_module_cpu_seconds_total", "counter", "CPU time of the module's current process.")
	p.family("nemea_module_resident_memory_bytes", "gauge", "Resident memory of the module.")
	p.family("nemea_module_virtual_memory_bytes", "gauge", "Virtual memory size of the module.")
	p.family("nemea_service_ifc_up", "gauge", "1 when the module's service IFC answered the last poll.")
	p.family("nemea_stats_age_seconds", "gauge", "Age of the module's last service IFC statistics.")
	p.family("nemea_ifc_connected", "gauge", "1 when the input interface is connected.")
	p.family("nemea_ifc_clients", "gauge", "Clients connected to the output interface.")
	p.family("nemea_ifc_messages_total", "counter", "Messages received (in) or sent (out) by the interface.")
	p.family("nemea_ifc_buffers_total", "counter", "Buffers received (in) or sent (out) by the interface.")
	p.family("nemea_ifc_dropped_messages_total", "counter", "Messages the output interface dropped.")
	p.family("nemea_ifc_autoflushes_total", "counter", "Autoflush timer firings of the output interface.")
	p.family("nemea_ifc_recv_delay_seconds_total", "counter", "Time the module spent outside receive calls of the input interface.")
	for _, m := range mods {
		mod := []string{"module", m.Name}
		p.add("nemea_module_up", b2f(m.PID != 0), "module", m.Name, "profile", m.Profile)
		reason := "config"
		switch {
		case m.AutoDisabled.Disabled:
			reason = "restart_limit"
		case !m.ProfileEnabled:
			reason = "profile"
		case !m.Enabled:
			reason = "disabled"
		}
		p.add("nemea_module_enabled", b2f(m.EffectiveEnabled && !m.AutoDisabled.Disabled), "module", m.Name, "reason", reason)
		p.add("nemea_module_restarts_total", float64(m.RestartsTotal), mod...)
		if m.LastExit != nil {
			p.add("nemea_module_last_exit_code", float64(m.LastExit.Code), mod...)
		}
		if m.PID != 0 {
			p.add("nemea_module_cpu_seconds_total", m.CPU.UserS, "module", m.Name, "mode", "user")
			p.add("nemea_module_cpu_seconds_total", m.CPU.SystemS, "module", m.Name, "mode", "system")
			p.add("nemea_module_resident_memory_bytes", float64(m.Mem.RSS), mod...)
			p.add("nemea_module_virtual_memory_bytes", float64(m.Mem.VMS), mod...)
		}
		if m.ServiceIFC.Enabled {
			p.add("nemea_service_ifc_up", b2f(m.ServiceIFC.Connected), mod...)
			if m.ServiceIFC.StatsAgeS != nil {
				p.add("nemea_stats_age_seconds", *m.ServiceIFC.StatsAgeS, mod...)
			}
		}
		for i, in := range m.Inputs {
			l := []string{"module", m.Name, "dir", "in", "idx", strconv.Itoa(i), "type", ifcType(in), "id", str(in, "ifc_id")}
			p.add("nemea_ifc_connected", float64(num(in, "ifc_state")), l...)
			p.add("nemea_ifc_messages_total", float64(num(in, "messages")), l...)
			p.add("nemea_ifc_buffers_total", float64(num(in, "buffers")), l...)
			if _, ok := in["delay_total"]; ok {
				p.add("nemea_ifc_recv_delay_seconds_total", float64(num(in, "delay_total")), l...)
			}
		}
		for i, out := range m.Outputs {
			l := []string{"module", m.Name, "dir", "out", "idx", strconv.Itoa(i), "type", ifcType(out), "id", str(out, "ifc_id")}
			p.add("nemea_ifc_clients", float64(num(out, "num_clients")), l...)
			p.add("nemea_ifc_messages_total", float64(num(out, "sent-messages")), l...)
			p.add("nemea_ifc_buffers_total", float64(num(out, "buffers")), l...)
			p.add("nemea_ifc_dropped_messages_total", float64(num(out, "dropped-messages")), l...)
			p.add("nemea_ifc_autoflushes_total", float64(num(out, "autoflushes")), l...)
		}
	}
	info := s.Info()
	p.family("nemea_supervisor_reload_success", "gauge", "1 when the last reload was applied.")
	p.add("nemea_supervisor_reload_success", b2f(info.LastReloadOK))
	p.family("nemea_supervisor_last_reload_timestamp_seconds", "gauge", "Time of the last reload (or of the start).")
	p.add("nemea_supervisor_last_reload_timestamp_seconds", float64(info.LastReloadTime.UnixNano())/1e9)
	p.family("nemea_supervisor_modules", "gauge", "Loaded and running modules.")
	p.add("nemea_supervisor_modules", float64(info.Loaded), "state", "loaded")
	p.add("nemea_supervisor_modules", float64(info.Running), "state", "running")
	return p.bytes()
}

// LoadedConfigText is the loaded configuration as the C menu 6 prints it
// (spec §3.4.3).
func (s *Supervisor) LoadedConfigText() string {
	cfg := s.Config()
	var b strings.Builder
	b.WriteString("--- [PRINTING CONFIGURATION] ---\n")
	for _, p := range cfg.Profiles {
		fmt.Fprintf(&b, "Profile: %s\n", p.Name)
		for _, m := range cfg.Modules {
			if m.Profile != p.Name {
				continue
			}
			params := m.Params
			if params == "" {
				params = joinArgs(m.Args)
			}
			if params == "" {
				params = "none"
			}
			fmt.Fprintf(&b, "   %d | %s\n      PATH: %s\n      PARAMS: %s\n", m.Idx, m.Name, m.Path, params)
			for i, ifc := range m.Interfaces {
				note := ifc.Note
				if note == "" {
					note = "none"
				}
				spec := ifc.Spec
				if spec == "" {
					spec = "none"
				}
				fmt.Fprintf(&b, "      IFC %d:  %s; %s; %s; %s\n", i, ifc.Dir(), ifc.TypeName(), spec, note)
			}
		}
	}
	return b.String()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
