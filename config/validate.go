package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"console", "json"}
)

// Keys allowed in each section.
var (
	topKeys      = []string{"log", "metrics", "socket_dir", "sources", "outputs", "detectors"}
	detectorKeys = []string{"type", "name", "options", "ifc"}
	logKeys      = []string{"level", "format"}
	metricsKeys  = []string{"listen"}
	outputKeys   = []string{"ifc", "template", "filter"}
	commonKeys   = []string{"type", "name"}
	sourceKeys   = map[string][]string{
		TypeCollector: {"listen", "sockets", "receive_buffer", "template_lifetime", "max_exporters", "apply_sampling", "element_table", "state_file", "sampling"},
		TypeNfdump:    {"paths", "follow", "state_file", "decode_workers"},
		TypePcap:      {"paths", "plugins"},
		TypeCSV:       {"paths"},
		TypeTrap:      {"ifc"},
		TypeSflow:     sflowKeys,
	}
)

// MaxReceiveBuffer caps receive_buffer (1 GiB).
const MaxReceiveBuffer = 1 << 30

// MaxDecodeWorkers caps an nfdump source's decode_workers (nfdump.MaxWorkers).
const MaxDecodeWorkers = 32

// MaxSockets caps sockets per UDP address.
const MaxSockets = 256

func notOneOf(key string, val any, allowed []string) error {
	return fmt.Errorf("%s: %q is not one of %s", key, fmt.Sprint(val), strings.Join(allowed, ", "))
}

// checkKeys rejects keys the schema does not have, naming the allowed ones.
func checkKeys(raw map[string]any) error {
	var errs []error
	check := func(section string, m map[string]any, allowed []string) {
		var bad []string
		for k := range m {
			if !slices.Contains(allowed, strings.ToLower(k)) {
				bad = append(bad, k)
			}
		}
		sort.Strings(bad)
		for _, k := range bad {
			name := k
			if section != "" {
				name = section + "." + k
			}
			errs = append(errs, fmt.Errorf("%s: unknown key; allowed here: %s", name, strings.Join(allowed, ", ")))
		}
	}
	check("", raw, topKeys)
	for _, sec := range []struct {
		name    string
		allowed []string
	}{{"log", logKeys}, {"metrics", metricsKeys}} {
		if v, ok := raw[sec.name]; ok {
			if m, ok := v.(map[string]any); ok {
				check(sec.name, m, sec.allowed)
			} else if v != nil {
				errs = append(errs, fmt.Errorf("%s: must be a mapping with keys %s", sec.name, strings.Join(sec.allowed, ", ")))
			}
		}
	}
	listOf := func(key string, each func(string, map[string]any)) {
		v, ok := raw[key]
		if !ok || v == nil {
			return
		}
		l, ok := v.([]any)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be a list", key))
			return
		}
		for i, e := range l {
			name := fmt.Sprintf("%s[%d]", key, i)
			m, ok := toStringMap(e)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: must be a mapping", name))
				continue
			}
			each(name, m)
		}
	}
	listOf("sources", func(name string, m map[string]any) {
		typ := strings.ToLower(fmt.Sprint(m["type"]))
		extra, ok := sourceKeys[typ]
		if !ok {
			return // Validate reports the type
		}
		check(name, m, append(slices.Clone(commonKeys), extra...))
	})
	listOf("outputs", func(name string, m map[string]any) { check(name, m, outputKeys) })
	listOf("detectors", func(name string, m map[string]any) { check(name, m, detectorKeys) })
	return errors.Join(errs...)
}

func toStringMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

// ParseListen splits a collector listen address "udp://HOST:PORT" or
// "tcp://HOST:PORT" into network and address. An empty HOST listens on
// every address, IPv4 and IPv6.
func ParseListen(s string) (network, addr string, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "udp" && scheme != "tcp") {
		return "", "", fmt.Errorf("%q: want udp://HOST:PORT or tcp://HOST:PORT", s)
	}
	if err := checkHostPort(rest); err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return scheme, rest, nil
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	_ = p
	return nil
}

// Validate fills the defaults of list entries (source names, sockets,
// output templates) and checks every setting. Its errors name the key
// (sources[1].type) and the allowed values; all problems are reported at
// once.
func (c *Configuration) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	c.Log.Level = strings.ToLower(c.Log.Level)
	if !slices.Contains(logLevels, c.Log.Level) {
		add(notOneOf("log.level", c.Log.Level, logLevels))
	}
	c.Log.Format = strings.ToLower(c.Log.Format)
	if !slices.Contains(logFormats, c.Log.Format) {
		add(notOneOf("log.format", c.Log.Format, logFormats))
	}
	if c.Metrics.Listen != "" {
		if err := checkHostPort(c.Metrics.Listen); err != nil {
			add(fmt.Errorf("metrics.listen: %q: want HOST:PORT or \"\" to disable: %w", c.Metrics.Listen, err))
		}
	}
	if len(c.Sources) == 0 {
		add(fmt.Errorf("sources: at least one source is required (types: %s)", strings.Join(SourceTypes(), ", ")))
	}
	names := map[string]string{}
	for i := range c.Sources {
		s := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		s.Type = strings.ToLower(s.Type)
		if s.Name == "" {
			s.Name = fmt.Sprintf("%s-%d", s.Type, i)
		}
		if prev, dup := names[s.Name]; dup {
			add(fmt.Errorf("%s.name: %q is already the name of %s; names must be unique", key, s.Name, prev))
		}
		names[s.Name] = key
		switch s.Type {
		case TypeCollector:
			errs = append(errs, s.validateCollector(key)...)
		case TypeNfdump, TypePcap, TypeCSV:
			if len(s.Paths) == 0 {
				add(fmt.Errorf("%s.paths: a %s source needs at least one file, directory or glob", key, s.Type))
			}
			if s.DecodeWorkers < 0 || s.DecodeWorkers > MaxDecodeWorkers {
				add(fmt.Errorf("%s.decode_workers: %d is not from 0 (default) to %d", key, s.DecodeWorkers, MaxDecodeWorkers))
			}
			if s.Type == TypePcap {
				for j, p := range s.Plugins {
					if !slices.Contains(meter.PluginNames(), p) {
						add(notOneOf(fmt.Sprintf("%s.plugins[%d]", key, j), p, meter.PluginNames()))
					}
				}
			}
		case TypeSflow:
			errs = append(errs, s.validateSflow(key)...)
		case TypeTrap:
			if err := validateTrapInput(s.IFC); err != nil {
				add(fmt.Errorf("%s.ifc: %w", key, err))
			}
		default:
			add(notOneOf(key+".type", s.Type, SourceTypes()))
		}
	}
	if len(c.Outputs) == 0 {
		add(errors.New("outputs: at least one output is required (an IFC_SPEC such as u:flowgate, t:7600, f:FILE)"))
	}
	for i := range c.Outputs {
		o := &c.Outputs[i]
		key := fmt.Sprintf("outputs[%d]", i)
		if o.Template == "" {
			o.Template = DefaultTemplate
		}
		specs, err := trap.ParseIFCSpec(o.IFC)
		switch {
		case o.IFC == "":
			add(fmt.Errorf("%s.ifc: required (t:PORT, u:NAME, T:PORT:KEY:CERT:CA, f:PATH, b:)", key))
		case err != nil:
			add(fmt.Errorf("%s.ifc: %w", key, err))
		case len(specs) != 1:
			add(fmt.Errorf("%s.ifc: %q: one interface per output (got %d); add more outputs instead", key, o.IFC, len(specs)))
		}
		tmpl, err := unirec.ParseTemplate(o.Template)
		if err != nil {
			add(fmt.Errorf("%s.template: %w", key, err))
		}
		if o.Filter != "" && tmpl != nil {
			if err := validateFilter(o.Filter, tmpl); err != nil {
				add(fmt.Errorf("%s.filter: %w", key, err))
			}
		}
	}
	errs = append(errs, c.validateDetectors()...)
	return errors.Join(errs...)
}

// validateTrapInput checks the IFC_SPEC of a trap source: one input
// interface of a type that can be one.
func validateTrapInput(ifc string) error {
	if ifc == "" {
		return errors.New("required: one input IFC_SPEC (u:NAME, t:HOST:PORT, T:HOST:PORT:KEY:CERT:CA, f:PATTERN, k:TOPIC:HOST:PORT)")
	}
	specs, err := trap.ParseIFCSpec(ifc)
	if err != nil {
		return err
	}
	if len(specs) != 1 {
		return fmt.Errorf("%q: one interface per source (got %d); add more sources instead", ifc, len(specs))
	}
	switch specs[0].Kind {
	case trap.KindUNIX, trap.KindTCP, trap.KindTLS, trap.KindFile, trap.KindKafka:
		return nil
	}
	return fmt.Errorf("%q: interface type %q cannot be an input (want u, t, T, f or k)", ifc, specs[0].Kind)
}

// validateDetectors checks detectors: (the options themselves are checked
// when the daemon builds the detector, with the module's own messages).
func (c *Configuration) validateDetectors() []error {
	var errs []error
	names := map[string]string{}
	for i := range c.Detectors {
		d := &c.Detectors[i]
		key := fmt.Sprintf("detectors[%d]", i)
		d.Type = strings.ToLower(d.Type)
		if !slices.Contains(DetectorTypes(), d.Type) {
			errs = append(errs, notOneOf(key+".type", d.Type, DetectorTypes()))
		}
		if d.Name == "" {
			d.Name = fmt.Sprintf("%s-%d", d.Type, i)
		}
		if prev, dup := names[d.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: %q is already the name of %s; names must be unique", key, d.Name, prev))
		}
		names[d.Name] = key
		specs, err := trap.ParseIFCSpec(d.IFC)
		switch {
		case d.IFC == "":
			errs = append(errs, fmt.Errorf("%s.ifc: required: the alerts' output IFC (t:PORT, u:NAME, f:PATH, b:)", key))
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.ifc: %w", key, err))
		case len(specs) != 1:
			errs = append(errs, fmt.Errorf("%s.ifc: %q: one interface per detector (got %d)", key, d.IFC, len(specs)))
		}
	}
	return errs
}

func (s *SourceConfig) validateCollector(key string) []error {
	var errs []error
	if len(s.Listen) == 0 {
		errs = append(errs, fmt.Errorf("%s.listen: a collector needs at least one udp://HOST:PORT or tcp://HOST:PORT", key))
	}
	for j, l := range s.Listen {
		if _, _, err := ParseListen(l); err != nil {
			errs = append(errs, fmt.Errorf("%s.listen[%d]: %w", key, j, err))
		}
	}
	errs = append(errs, s.validateSockets(key)...)
	if s.MaxExporters < 0 {
		errs = append(errs, fmt.Errorf("%s.max_exporters: %d is negative (0 = the collector's default, 4096)", key, s.MaxExporters))
	}
	if s.TemplateLifetime < 0 {
		errs = append(errs, fmt.Errorf("%s.template_lifetime: %v is negative; use a duration such as 30m (0 = collector default)", key, s.TemplateLifetime))
	}
	errs = append(errs, s.SamplingOverrides.validate(key+".sampling")...)
	errs = append(errs, checkElementTable(key, s.ElementTable)...)
	return errs
}

// validateSockets checks (and defaults) the UDP socket keys of the
// collector and sflow sources.
func (s *SourceConfig) validateSockets(key string) []error {
	var errs []error
	if s.Sockets == 0 {
		s.Sockets = runtime.NumCPU()
	}
	if s.Sockets < 0 || s.Sockets > MaxSockets {
		errs = append(errs, fmt.Errorf("%s.sockets: %d is not from 1 to %d", key, s.Sockets, MaxSockets))
	}
	if s.ReceiveBuffer < 0 || s.ReceiveBuffer > MaxReceiveBuffer {
		errs = append(errs, fmt.Errorf("%s.receive_buffer: %d is not from 0 (system default) to %d bytes", key, s.ReceiveBuffer, MaxReceiveBuffer))
	}
	return errs
}

func checkElementTable(key, path string) []error {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return []error{fmt.Errorf("%s.element_table: %w", key, err)}
		}
	}
	return nil
}

// validateFilter checks an output's filter expression against the output's
// template: a syntax error, or a term that could never be true for it (a
// field the template lacks, a literal its type cannot hold), is an error
// naming the column.
func validateFilter(expr string, tmpl *unirec.Template) error {
	e, err := filter.Parse(expr)
	if err != nil {
		return err
	}
	_, warns, err := e.Compile(tmpl)
	if err != nil {
		return err
	}
	if len(warns) > 0 {
		return fmt.Errorf("%s (the output's template has %s)", warns[0], tmpl.Spec())
	}
	return nil
}
