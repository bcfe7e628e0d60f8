package supervisor

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flowgate/flowgate/trap"
)

// Config is a loaded, validated supervisor configuration: the global
// settings, the profiles and every module in configuration order (the
// order gives each module its idx).
type Config struct {
	Settings Settings
	Profiles []ProfileSpec
	Modules  []*ModuleSpec
	// Source is the file the configuration came from (YAML or XML template).
	Source string
	// XML is true when Source is a legacy XML template.
	XML bool
	// Warnings are problems that do not reject the configuration.
	Warnings []string
}

// Settings are the supervisor-wide settings (YAML "supervisor:").
type Settings struct {
	Socket            string
	SocketMode        os.FileMode
	SocketGroup       string
	LogsDir           string
	TrapSocketDir     string
	StatsInterval     time.Duration
	StatsTimeout      time.Duration
	StopTimeout       time.Duration
	RestartsPerMinute int // -1: unlimited
	RestartWindow     time.Duration
	Umask             int
	HTTPListen        string
	Metrics           bool
}

// Defaults of the settings (spec §1.4, §1.6, §1.7, §2.2).
const (
	DefaultSocket            = "/var/run/nemea-supervisor/nemea-supervisor.sock"
	DefaultLogsDir           = "/var/log/nemea-supervisor"
	DefaultStatsInterval     = 2 * time.Second
	DefaultStatsTimeout      = 500 * time.Millisecond
	DefaultStopTimeout       = 5 * time.Second
	DefaultRestartsPerMinute = 3
	DefaultRestartWindow     = time.Minute
)

// DefaultSettings returns the settings used where the file says nothing.
// The TRAP socket directory is $TRAP_SOCKET_DIR, else libtrap's default.
func DefaultSettings() Settings {
	dir := os.Getenv("TRAP_SOCKET_DIR")
	if dir == "" {
		dir = trap.DefaultSocketDir
	}
	return Settings{
		Socket: DefaultSocket, SocketMode: 0o660, LogsDir: DefaultLogsDir, TrapSocketDir: dir,
		StatsInterval: DefaultStatsInterval, StatsTimeout: DefaultStatsTimeout, StopTimeout: DefaultStopTimeout,
		RestartsPerMinute: DefaultRestartsPerMinute, RestartWindow: DefaultRestartWindow, Umask: 0o022, Metrics: true,
	}
}

// ProfileSpec is a named group of modules with its switch.
type ProfileSpec struct {
	Name    string
	Enabled bool
}

// Restart policies (spec §5.1).
const (
	RestartAlways    = "always"
	RestartOnFailure = "on-failure"
	RestartNever     = "never"
)

// ModuleSpec is one module as configured.
type ModuleSpec struct {
	Name    string
	Profile string
	Idx     int
	Enabled bool
	Path    string
	// Args are the module's own arguments (without argv[0] and -i).
	Args []string
	// Params is the legacy params string as written, "" when args were given.
	Params     string
	Interfaces []Interface
	// PassInterfaces adds "-i SPEC" to the command line (default true).
	PassInterfaces bool
	// ServiceIFC polls the module's service IFC.
	ServiceIFC        bool
	RestartsPerMinute int // -1: unlimited
	StopTimeout       time.Duration
	StopSignal        syscall.Signal
	Restart           string
	Env               map[string]string
	Workdir           string
	Description       string
}

// Interface is one TRAP interface of a module.
type Interface struct {
	In   bool
	Kind byte   // trap.KindTCP, ...
	Spec string // the IFC_SPEC text after "X:" ("" for a bare blackhole)
	Note string
}

// IFC returns the interface as one IFC_SPEC element ("u:name", "b:").
func (i Interface) IFC() string { return string(i.Kind) + ":" + i.Spec }

// Dir is "IN" or "OUT".
func (i Interface) Dir() string {
	if i.In {
		return "IN"
	}
	return "OUT"
}

// TypeName is the XML type name of the interface.
func (i Interface) TypeName() string {
	switch i.Kind {
	case trap.KindTCP:
		return "TCP"
	case trap.KindTLS:
		return "TLS"
	case trap.KindUNIX:
		return "UNIXSOCKET"
	case trap.KindFile:
		return "FILE"
	case trap.KindBlackhole:
		return "BLACKHOLE"
	}
	return string(i.Kind)
}

// IfcSpec is the -i argument: every input in order, then every output.
func (m *ModuleSpec) IfcSpec() string {
	var parts []string
	for _, in := range []bool{true, false} {
		for _, ifc := range m.Interfaces {
			if ifc.In == in {
				parts = append(parts, ifc.IFC())
			}
		}
	}
	return strings.Join(parts, ",")
}

// Argv is the child's argv: the module name, its args, then "-i SPEC"
// when it has interfaces and passes them (spec §1.2).
func (m *ModuleSpec) Argv() []string {
	argv := append([]string{m.Name}, m.Args...)
	if len(m.Interfaces) > 0 && m.PassInterfaces {
		argv = append(argv, "-i", m.IfcSpec())
	}
	return argv
}

// sameProcess reports the differences that need the module restarted on
// reload: path, args, interfaces, environment and the process settings.
func (m *ModuleSpec) changes(o *ModuleSpec) []string {
	var ch []string
	if m.Path != o.Path {
		ch = append(ch, "path")
	}
	if strings.Join(m.Args, "\x00") != strings.Join(o.Args, "\x00") || len(m.Args) != len(o.Args) {
		ch = append(ch, "args")
	}
	if len(m.Interfaces) != len(o.Interfaces) {
		ch = append(ch, "interfaces")
	} else {
		for i := range m.Interfaces {
			if m.Interfaces[i] != o.Interfaces[i] {
				ch = append(ch, "interfaces")
				break
			}
		}
	}
	if m.PassInterfaces != o.PassInterfaces {
		ch = append(ch, "pass_interfaces")
	}
	if fmt.Sprint(sortedEnv(m.Env)) != fmt.Sprint(sortedEnv(o.Env)) {
		ch = append(ch, "env")
	}
	if m.Workdir != o.Workdir {
		ch = append(ch, "workdir")
	}
	return ch
}

func sortedEnv(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

var moduleNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// configError is a problem at a place in a file.
type configError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e configError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return loc + ": " + e.Key + ": " + e.Msg
	}
	return loc + ": " + e.Msg
}

// ConfigErrors are all the errors found in a configuration.
type ConfigErrors []error

func (e ConfigErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n")
}

// checkIfc validates an interface with the trap package's IFC_SPEC parser
// and the direction rules.
func checkIfc(ifc Interface) error {
	if ifc.Spec == "" && ifc.Kind != trap.KindBlackhole {
		return fmt.Errorf("empty interface parameters")
	}
	sps, err := trap.ParseIFCSpec(ifc.IFC())
	if err != nil {
		return err
	}
	if len(sps) != 1 {
		return fmt.Errorf("%q holds %d interfaces, want one (a comma separates interfaces)", ifc.IFC(), len(sps))
	}
	sp := sps[0]
	switch {
	case ifc.In && (sp.Kind == trap.KindBlackhole || sp.Kind == trap.KindGenerator):
		return fmt.Errorf("interface type %q cannot be an input", sp.Kind)
	case !ifc.In && sp.Kind == trap.KindGenerator:
		return fmt.Errorf("interface type %q cannot be an output", sp.Kind)
	}
	if sp.Kind == trap.KindTCP || sp.Kind == trap.KindTLS {
		port := ""
		if len(sp.Params) == 1 {
			port = sp.Params[0]
		} else if len(sp.Params) >= 2 {
			if sp.Kind == trap.KindTCP || ifc.In {
				port = sp.Params[1]
			} else {
				port = sp.Params[0]
			}
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port %q is not a number in 1..65535", ifc.IFC(), port)
		}
	}
	if sp.Kind == trap.KindUNIX && (len(sp.Params) == 0 || sp.Params[0] == "") {
		return fmt.Errorf("%q: a UNIX socket interface needs a name", ifc.IFC())
	}
	return nil
}

// socketKey is what two outputs must not share: a UNIX name (cut at the
// first ':') or a TCP/TLS port. "" for other kinds.
func (i Interface) socketKey() string {
	if i.In {
		return ""
	}
	name, _, _ := strings.Cut(i.Spec, ":")
	switch i.Kind {
	case trap.KindUNIX:
		return "unix socket " + name
	case trap.KindTCP, trap.KindTLS:
		return "port " + name
	}
	return ""
}

// finish numbers the modules, checks names, conflicts and paths, and fills
// warnings. errAt gives the location of a module for error messages.
func (c *Config) finish(errAt func(m *ModuleSpec, key string) (string, int)) error {
	var errs ConfigErrors
	add := func(m *ModuleSpec, key, msg string) {
		f, l := errAt(m, key)
		errs = append(errs, configError{File: f, Line: l, Key: key, Msg: msg})
	}
	profEnabled := map[string]bool{}
	for _, p := range c.Profiles {
		profEnabled[p.Name] = p.Enabled
	}
	seen := map[string]bool{}
	owners := map[string]*ModuleSpec{}
	for i, m := range c.Modules {
		m.Idx = i
		if !moduleNameRE.MatchString(m.Name) {
			add(m, "name", fmt.Sprintf("module name %q must be 1 to 64 of A-Z a-z 0-9 _ . - (it names log files and metric labels)", m.Name))
		}
		if seen[m.Name] {
			add(m, "name", fmt.Sprintf("duplicate module name %q (names are unique across all profiles)", m.Name))
		}
		seen[m.Name] = true
		if m.Path == "" {
			add(m, "path", "missing path")
		} else if _, err := lookPath(m.Path); err != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("module %s: %v (it cannot start until the file exists)", m.Name, err))
		}
		on := m.Enabled && profEnabled[m.Profile]
		for _, ifc := range m.Interfaces {
			k := ifc.socketKey()
			if k == "" {
				continue
			}
			if o := owners[k]; o != nil {
				oOn := o.Enabled && profEnabled[o.Profile]
				if on && oOn {
					add(m, "interfaces", fmt.Sprintf("output %s is also an output of module %s", k, o.Name))
				} else {
					c.Warnings = append(c.Warnings, fmt.Sprintf("modules %s and %s both output on %s (not both enabled)", o.Name, m.Name, k))
				}
				continue
			}
			owners[k] = m
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Module returns the module of that name, or nil.
func (c *Config) Module(name string) *ModuleSpec {
	for _, m := range c.Modules {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Load reads a configuration: a legacy XML template when xml is true
// (includes expanded), else the YAML of spec §2.2.
func Load(path string, xml bool) (*Config, error) {
	if xml {
		return LoadXML(path)
	}
	return LoadYAML(path)
}
