package supervisor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowgate/flowgate/trap"
)

// The YAML schema of spec §2.2. Unknown keys are errors.
type yamlFile struct {
	Version    int            `yaml:"version"`
	Supervisor yamlSupervisor `yaml:"supervisor"`
	Include    []string       `yaml:"include"`
	Profiles   []yamlProfile  `yaml:"profiles"`
}

type yamlSupervisor struct {
	Socket            string   `yaml:"socket,omitempty"`
	SocketMode        string   `yaml:"socket_mode,omitempty"`
	SocketGroup       string   `yaml:"socket_group,omitempty"`
	LogsDir           string   `yaml:"logs_dir,omitempty"`
	TrapSocketDir     string   `yaml:"trap_socket_dir,omitempty"`
	StatsInterval     string   `yaml:"stats_interval,omitempty"`
	StatsTimeout      string   `yaml:"stats_timeout,omitempty"`
	StopTimeout       string   `yaml:"stop_timeout,omitempty"`
	RestartsPerMinute *int     `yaml:"restarts_per_minute,omitempty"`
	RestartWindow     string   `yaml:"restart_window,omitempty"`
	Umask             string   `yaml:"umask,omitempty"`
	HTTP              yamlHTTP `yaml:"http,omitempty"`
}

type yamlHTTP struct {
	Listen  string `yaml:"listen,omitempty"`
	Metrics *bool  `yaml:"metrics,omitempty"`
}

// yamlFragment is an included file: profiles, or modules for one profile.
type yamlFragment struct {
	Profiles []yamlProfile `yaml:"profiles"`
	Profile  string        `yaml:"profile"`
	Modules  []yamlModule  `yaml:"modules"`
}

type yamlProfile struct {
	Name    string       `yaml:"name"`
	Enabled *bool        `yaml:"enabled,omitempty"`
	Modules []yamlModule `yaml:"modules"`
}

type yamlModule struct {
	Name              string            `yaml:"name"`
	Description       string            `yaml:"description,omitempty"`
	Enabled           *bool             `yaml:"enabled,omitempty"`
	Path              string            `yaml:"path"`
	Args              []string          `yaml:"args,omitempty"`
	Params            *string           `yaml:"params,omitempty"`
	RestartsPerMinute *int              `yaml:"restarts_per_minute,omitempty"`
	Restart           string            `yaml:"restart,omitempty"`
	StopTimeout       string            `yaml:"stop_timeout,omitempty"`
	StopSignal        string            `yaml:"stop_signal,omitempty"`
	Env               map[string]string `yaml:"env,omitempty"`
	Workdir           string            `yaml:"workdir,omitempty"`
	PassInterfaces    *bool             `yaml:"pass_interfaces,omitempty"`
	ServiceIFC        *bool             `yaml:"service_ifc,omitempty"`
	Interfaces        []yamlInterface   `yaml:"interfaces,omitempty"`
}

type yamlInterface struct {
	Dir      string            `yaml:"dir"`
	Type     string            `yaml:"type"`
	Name     string            `yaml:"name,omitempty"`
	Host     string            `yaml:"host,omitempty"`
	Port     int               `yaml:"port,omitempty"`
	Path     string            `yaml:"path,omitempty"`
	Mode     string            `yaml:"mode,omitempty"`
	Time     int               `yaml:"time,omitempty"`
	Size     int               `yaml:"size,omitempty"`
	Keyfile  string            `yaml:"keyfile,omitempty"`
	Certfile string            `yaml:"certfile,omitempty"`
	Cafile   string            `yaml:"cafile,omitempty"`
	Options  map[string]string `yaml:"options,omitempty"`
	Spec     *string           `yaml:"spec,omitempty"`
	Note     string            `yaml:"note,omitempty"`
}

// yamlDoc is one parsed file with the line of every key path.
type yamlDoc struct {
	file  string
	lines map[string]int
}

func (d *yamlDoc) at(path string) int {
	for p := path; p != ""; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (d *yamlDoc) err(path, format string, a ...any) error {
	return configError{File: d.file, Line: d.at(path), Key: path, Msg: fmt.Sprintf(format, a...)}
}

// parseYAMLFile decodes one file strictly into v: every key must be a field
// of v's type. Errors name the file, line and key path.
func parseYAMLFile(file string, v any) (*yamlDoc, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("supervisor config: %w", err)
	}
	return parseYAML(file, data, v)
}

func parseYAML(file string, data []byte, v any) (*yamlDoc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	d := &yamlDoc{file: file, lines: map[string]int{}}
	if root.Kind == 0 || len(root.Content) == 0 {
		return d, configError{File: file, Msg: "empty configuration"}
	}
	var errs ConfigErrors
	checkKeys(d, root.Content[0], reflect.TypeOf(v).Elem(), "", &errs)
	if len(errs) > 0 {
		return d, errs
	}
	if err := root.Content[0].Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, fmt.Errorf("%s: %s", file, m))
			}
			return d, errs
		}
		return d, fmt.Errorf("%s: %w", file, err)
	}
	return d, nil
}

// checkKeys walks a node against the Go type it decodes into, recording
// the line of each key path and reporting keys the type does not have.
func checkKeys(d *yamlDoc, n *yaml.Node, t reflect.Type, path string, errs *ConfigErrors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if path != "" {
		if _, ok := d.lines[path]; !ok {
			d.lines[path] = n.Line
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
				*errs = append(*errs, configError{File: d.file, Line: n.Line, Key: path, Msg: "want a mapping"})
			}
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := k.Value
			if path != "" {
				kp = path + "." + k.Value
			}
			d.lines[kp] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, configError{File: d.file, Line: k.Line, Key: kp,
					Msg: fmt.Sprintf("unknown key %q (known: %s)", k.Value, strings.Join(names, ", "))})
				continue
			}
			checkKeys(d, val, ft, kp, errs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return // the decoder reports the type error with its line
		}
		for i, e := range n.Content {
			checkKeys(d, e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			kp := path + "." + n.Content[i].Value
			d.lines[kp] = n.Content[i].Line
			checkKeys(d, n.Content[i+1], t.Elem(), kp, errs)
		}
	}
}

// LoadYAML reads and validates a YAML configuration and its includes.
func LoadYAML(file string) (*Config, error) {
	var f yamlFile
	doc, err := parseYAMLFile(file, &f)
	if err != nil {
		return nil, err
	}
	if f.Version != 1 {
		return nil, doc.err("version", "version must be 1 (got %d)", f.Version)
	}
	c := &Config{Source: file}
	if err := f.Supervisor.apply(doc, &c.Settings); err != nil {
		return nil, err
	}
	type located struct {
		p   yamlProfile
		doc *yamlDoc
		key string
	}
	var profs []located
	for i, p := range f.Profiles {
		profs = append(profs, located{p, doc, fmt.Sprintf("profiles[%d]", i)})
	}
	// Includes: globs, sorted; a literal path must exist.
	type extra struct {
		m   yamlModule
		doc *yamlDoc
		key string
	}
	extras := map[string][]extra{}
	fragRefs := map[string]*yamlDoc{}
	var errs ConfigErrors
	for i, pat := range f.Include {
		if !filepath.IsAbs(pat) {
			pat = filepath.Join(filepath.Dir(file), pat)
		}
		matches, err := filepath.Glob(pat)
		if err != nil {
			errs = append(errs, doc.err(fmt.Sprintf("include[%d]", i), "bad glob %q: %v", pat, err))
			continue
		}
		if len(matches) == 0 && !strings.ContainsAny(pat, "*?[") {
			errs = append(errs, doc.err(fmt.Sprintf("include[%d]", i), "included file %s does not exist", pat))
			continue
		}
		sort.Strings(matches)
		for _, mf := range matches {
			var fr yamlFragment
			fd, err := parseYAMLFile(mf, &fr)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			switch {
			case fr.Profile != "" && len(fr.Profiles) > 0:
				errs = append(errs, fd.err("profile", "a fragment holds either profiles or profile+modules, not both"))
			case fr.Profile != "":
				if _, ok := fragRefs[fr.Profile]; !ok {
					fragRefs[fr.Profile] = fd
				}
				for j, m := range fr.Modules {
					extras[fr.Profile] = append(extras[fr.Profile], extra{m, fd, fmt.Sprintf("modules[%d]", j)})
				}
			case len(fr.Modules) > 0:
				errs = append(errs, fd.err("modules", "modules in a fragment need \"profile: NAME\""))
			default:
				for j, p := range fr.Profiles {
					profs = append(profs, located{p, fd, fmt.Sprintf("profiles[%d]", j)})
				}
			}
		}
	}
	known := map[string]bool{}
	for _, p := range profs {
		known[p.p.Name] = true
	}
	for _, name := range sortedKeys(fragRefs) {
		if !known[name] {
			errs = append(errs, fragRefs[name].err("profile", "profile %q is not defined in %s", name, file))
		}
	}
	where := map[*ModuleSpec]struct {
		doc *yamlDoc
		key string
	}{}
	seenProf := map[string]bool{}
	for _, lp := range profs {
		p := lp.p
		if p.Name == "" {
			errs = append(errs, lp.doc.err(lp.key+".name", "missing profile name"))
			continue
		}
		if seenProf[p.Name] {
			errs = append(errs, lp.doc.err(lp.key+".name", "duplicate profile name %q", p.Name))
		}
		seenProf[p.Name] = true
		c.Profiles = append(c.Profiles, ProfileSpec{Name: p.Name, Enabled: p.Enabled == nil || *p.Enabled})
		mods := make([]extra, 0, len(p.Modules))
		for j, m := range p.Modules {
			mods = append(mods, extra{m, lp.doc, fmt.Sprintf("%s.modules[%d]", lp.key, j)})
		}
		mods = append(mods, extras[p.Name]...)
		for _, ym := range mods {
			m, warn, err := ym.m.resolve(ym.doc, ym.key, p.Name, c.Settings)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if warn != "" {
				c.Warnings = append(c.Warnings, "module "+m.Name+": "+warn)
			}
			where[m] = struct {
				doc *yamlDoc
				key string
			}{ym.doc, ym.key}
			c.Modules = append(c.Modules, m)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	err = c.finish(func(m *ModuleSpec, key string) (string, int) {
		w := where[m]
		return w.doc.file, w.doc.at(w.key + "." + key)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func parseDuration(doc *yamlDoc, key, v string, def time.Duration) (time.Duration, error) {
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, doc.err(key, "%q is not a duration such as 500ms or 5s", v)
	}
	return d, nil
}

func parseOctal(doc *yamlDoc, key, v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o777 {
		return 0, doc.err(key, "%q is not an octal mode such as \"0660\"", v)
	}
	return int(n), nil
}

func checkRestarts(doc *yamlDoc, key string, v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < -1 || *v > 30 {
		return 0, doc.err(key, "%d is outside 0..30 (30 or -1: unlimited)", *v)
	}
	if *v == 30 {
		return -1, nil
	}
	return *v, nil
}

func (y yamlSupervisor) apply(doc *yamlDoc, s *Settings) error {
	*s = DefaultSettings()
	var err error
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&s.Socket, y.Socket)
	set(&s.SocketGroup, y.SocketGroup)
	set(&s.LogsDir, y.LogsDir)
	set(&s.TrapSocketDir, y.TrapSocketDir)
	set(&s.HTTPListen, y.HTTP.Listen)
	if y.HTTP.Metrics != nil {
		s.Metrics = *y.HTTP.Metrics
	}
	var mode, umask int
	if mode, err = parseOctal(doc, "supervisor.socket_mode", y.SocketMode, int(s.SocketMode)); err != nil {
		return err
	}
	s.SocketMode = os.FileMode(mode)
	if umask, err = parseOctal(doc, "supervisor.umask", y.Umask, s.Umask); err != nil {
		return err
	}
	s.Umask = umask
	for _, d := range []struct {
		key string
		v   string
		dst *time.Duration
	}{
		{"supervisor.stats_interval", y.StatsInterval, &s.StatsInterval},
		{"supervisor.stats_timeout", y.StatsTimeout, &s.StatsTimeout},
		{"supervisor.stop_timeout", y.StopTimeout, &s.StopTimeout},
		{"supervisor.restart_window", y.RestartWindow, &s.RestartWindow},
	} {
		if *d.dst, err = parseDuration(doc, d.key, d.v, *d.dst); err != nil {
			return err
		}
	}
	if s.StatsInterval < 10*time.Millisecond {
		return doc.err("supervisor.stats_interval", "must be at least 10ms")
	}
	if s.RestartWindow <= 0 {
		return doc.err("supervisor.restart_window", "must be positive")
	}
	s.RestartsPerMinute, err = checkRestarts(doc, "supervisor.restarts_per_minute", y.RestartsPerMinute, s.RestartsPerMinute)
	return err
}

var stopSignals = map[string]syscall.Signal{
	"SIGINT": syscall.SIGINT, "SIGTERM": syscall.SIGTERM, "SIGQUIT": syscall.SIGQUIT,
	"SIGHUP": syscall.SIGHUP, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2, "SIGKILL": syscall.SIGKILL,
}

func (y yamlModule) resolve(doc *yamlDoc, key, profile string, s Settings) (m *ModuleSpec, warn string, err error) {
	m, err = y.resolveSpec(doc, key, profile, s, &warn)
	return m, warn, err
}

func (y yamlModule) resolveSpec(doc *yamlDoc, key, profile string, s Settings, warn *string) (*ModuleSpec, error) {
	m := &ModuleSpec{
		Name: y.Name, Profile: profile, Enabled: y.Enabled == nil || *y.Enabled, Path: y.Path,
		PassInterfaces: y.PassInterfaces == nil || *y.PassInterfaces, Env: y.Env, Workdir: y.Workdir,
		Description: y.Description, StopSignal: syscall.SIGINT, Restart: RestartAlways,
	}
	if m.Name == "" {
		return nil, doc.err(key+".name", "missing module name")
	}
	if y.Path == "" {
		return nil, doc.err(key+".path", "module %s: missing path", m.Name)
	}
	var err error
	switch {
	case y.Params != nil && y.Args != nil:
		return nil, doc.err(key+".params", "module %s: give args or params, not both", m.Name)
	case y.Params != nil:
		m.Args, *warn, err = SplitParams(*y.Params)
		if err != nil {
			return nil, doc.err(key+".params", "module %s: %v", m.Name, err)
		}
		m.Params = *y.Params
	default:
		m.Args = y.Args
	}
	if m.RestartsPerMinute, err = checkRestarts(doc, key+".restarts_per_minute", y.RestartsPerMinute, s.RestartsPerMinute); err != nil {
		return nil, err
	}
	if m.StopTimeout, err = parseDuration(doc, key+".stop_timeout", y.StopTimeout, s.StopTimeout); err != nil {
		return nil, err
	}
	if y.StopSignal != "" {
		sig, ok := stopSignals[strings.ToUpper(y.StopSignal)]
		if !ok {
			return nil, doc.err(key+".stop_signal", "unknown signal %q (want SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2 or SIGKILL)", y.StopSignal)
		}
		m.StopSignal = sig
	}
	switch y.Restart {
	case "":
	case RestartAlways, RestartOnFailure, RestartNever:
		m.Restart = y.Restart
	default:
		return nil, doc.err(key+".restart", "%q is not always, on-failure or never", y.Restart)
	}
	for i, yi := range y.Interfaces {
		ik := fmt.Sprintf("%s.interfaces[%d]", key, i)
		ifc, err := yi.resolve()
		if err == nil {
			err = checkIfc(ifc)
		}
		if err != nil {
			return nil, doc.err(ik, "module %s: %v", m.Name, err)
		}
		m.Interfaces = append(m.Interfaces, ifc)
	}
	m.ServiceIFC = y.ServiceIFC == nil || *y.ServiceIFC
	if y.ServiceIFC == nil && len(m.Interfaces) == 0 && y.PassInterfaces == nil {
		m.ServiceIFC = false
	}
	return m, nil
}

var ifcKinds = map[string]byte{
	"tcp": trap.KindTCP, "tls": trap.KindTLS, "unix": trap.KindUNIX, "file": trap.KindFile, "blackhole": trap.KindBlackhole,
}

// resolve builds the IFC_SPEC text of a structured interface (spec §2.2).
func (y yamlInterface) resolve() (Interface, error) {
	ifc := Interface{Note: y.Note}
	switch y.Dir {
	case "in":
		ifc.In = true
	case "out":
	default:
		return ifc, fmt.Errorf("dir %q: want in or out", y.Dir)
	}
	k, ok := ifcKinds[y.Type]
	if !ok {
		return ifc, fmt.Errorf("type %q: want tcp, tls, unix, file or blackhole", y.Type)
	}
	ifc.Kind = k
	structured := y.Name != "" || y.Host != "" || y.Port != 0 || y.Path != "" || y.Mode != "" || y.Time != 0 ||
		y.Size != 0 || y.Keyfile != "" || y.Certfile != "" || y.Cafile != "" || len(y.Options) > 0
	if y.Spec != nil {
		if structured {
			return ifc, fmt.Errorf("spec excludes the structured fields (name, host, port, path, options, ...)")
		}
		ifc.Spec = *y.Spec
		return ifc, nil
	}
	var parts []string
	port := func() (string, error) {
		if y.Port < 1 || y.Port > 65535 {
			return "", fmt.Errorf("port %d: want 1..65535", y.Port)
		}
		return strconv.Itoa(y.Port), nil
	}
	switch k {
	case trap.KindUNIX:
		if y.Name == "" {
			return ifc, fmt.Errorf("a unix interface needs name")
		}
		parts = append(parts, y.Name)
	case trap.KindTCP, trap.KindTLS:
		p, err := port()
		if err != nil {
			return ifc, err
		}
		if ifc.In {
			host := y.Host
			if host == "" {
				host = "localhost"
			}
			parts = append(parts, host)
		}
		parts = append(parts, p)
		if k == trap.KindTLS {
			if y.Keyfile == "" || y.Certfile == "" || y.Cafile == "" {
				return ifc, fmt.Errorf("a tls interface needs keyfile, certfile and cafile")
			}
			parts = append(parts, y.Keyfile, y.Certfile, y.Cafile)
		}
	case trap.KindFile:
		if y.Path == "" {
			return ifc, fmt.Errorf("a file interface needs path")
		}
		parts = append(parts, y.Path)
		if y.Mode != "" {
			if y.Mode != "a" && y.Mode != "w" {
				return ifc, fmt.Errorf("mode %q: want a or w", y.Mode)
			}
			parts = append(parts, y.Mode)
		}
		if y.Time > 0 {
			parts = append(parts, "time="+strconv.Itoa(y.Time))
		}
		if y.Size > 0 {
			parts = append(parts, "size="+strconv.Itoa(y.Size))
		}
	}
	if k != trap.KindTLS && (y.Keyfile != "" || y.Certfile != "" || y.Cafile != "") {
		return ifc, fmt.Errorf("keyfile, certfile and cafile belong to tls interfaces")
	}
	keys := make([]string, 0, len(y.Options))
	for key := range y.Options {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		switch key {
		case "timeout", "buffer", "autoflush", "max_clients", "buffer_count", "buffer_size":
		default:
			return ifc, fmt.Errorf("unknown option %q (want timeout, buffer, autoflush, max_clients, buffer_count or buffer_size)", key)
		}
		parts = append(parts, key+"="+y.Options[key])
	}
	ifc.Spec = strings.Join(parts, ":")
	return ifc, nil
}
