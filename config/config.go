package config

import (
	_ "embed"
	"fmt"
	"os"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/trap"
)

//go:embed default.yaml
var defaultYAML []byte

// Configuration is the daemon's whole configuration.
type Configuration struct {
	Log     LogConfig     `mapstructure:"log"`
	Metrics MetricsConfig `mapstructure:"metrics"`
	// SocketDir is where u: sockets live; empty means $TRAP_SOCKET_DIR,
	// else trap.DefaultSocketDir.
	SocketDir string         `mapstructure:"socket_dir"`
	Sources   []SourceConfig `mapstructure:"sources"`
	Outputs   []OutputConfig `mapstructure:"outputs"`
	// Detectors run in-process on the sources' records, each sending its
	// alerts to its own TRAP output IFC.
	Detectors []DetectorConfig `mapstructure:"detectors"`
}

// DetectorConfig is one entry of detectors:.
type DetectorConfig struct {
	// Type is the NEMEA module name (DetectorTypes).
	Type string `mapstructure:"type"`
	// Name identifies the detector in logs and metrics; default TYPE-INDEX.
	Name string `mapstructure:"name"`
	// Options are the module's own command-line options, as given to the
	// standalone binary (without -i), e.g. ["-n", "3", "--clock", "flow"].
	Options []string `mapstructure:"options"`
	// IFC is the TRAP output IFC_SPEC of the alerts (u:NAME, t:PORT, f:PATH, b:, ...).
	IFC string `mapstructure:"ifc"`
}

// DetectorTypes lists the detectors the daemon runs in-process.
func DetectorTypes() []string {
	return []string{"vportscan_detector", "haddrscan_detector", "amplification_detection", "brute_force_detector", "ipblacklistfilter", "ddos_detector"}
}

// LogConfig configures zap.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // console, json
}

// MetricsConfig configures the Prometheus endpoint.
type MetricsConfig struct {
	Listen string `mapstructure:"listen"` // host:port; "" disables
}

// Source types.
const (
	TypeCollector = "collector"
	TypeNfdump    = "nfdump"
	TypePcap      = "pcap"
	TypeCSV       = "csv"
	TypeTrap      = "trap"
)

// SourceTypes lists the allowed source types.
func SourceTypes() []string {
	return []string{TypeCollector, TypeNfdump, TypePcap, TypeCSV, TypeTrap, TypeSflow}
}

// SourceConfig is one entry of sources:. Which keys apply depends on Type
// (see sourceKeys).
type SourceConfig struct {
	Type string `mapstructure:"type"`
	Name string `mapstructure:"name"` // default: TYPE-INDEX

	// collector, sflow
	Listen           []string      `mapstructure:"listen"` // collector: udp://HOST:PORT, tcp://HOST:PORT; sflow: sflow://HOST:PORT
	Sockets          int           `mapstructure:"sockets"`
	ReceiveBuffer    int           `mapstructure:"receive_buffer"`
	TemplateLifetime time.Duration `mapstructure:"template_lifetime"`
	MaxExporters     int           `mapstructure:"max_exporters"`  // 0 = collector default
	ApplySampling    *bool         `mapstructure:"apply_sampling"` // default true
	ElementTable     string        `mapstructure:"element_table"`  // ipfixcol2 unirec-elements.txt; "" = built-in
	StateFile        string        `mapstructure:"state_file"`     // collector: template persistence; nfdump: files already read; "" = off
	// collector: sampling intervals for exporters that announce none, or
	// that override theirs (sampling: {default: N, exporters: {ADDR or
	// PREFIX: N}, override: BOOL}).
	SamplingOverrides *SamplingConfig `mapstructure:"sampling"`
	// sflow: agents tracked by the per-agent counters (0 = 4096)
	MaxAgents int `mapstructure:"max_agents"`

	// nfdump, pcap, csv
	Paths []string `mapstructure:"paths"`
	// nfdump: keep watching the paths for files nfcapd rotates in
	Follow bool `mapstructure:"follow"`
	// nfdump: goroutines decompressing blocks (0 = GOMAXPROCS, at most 4;
	// 1 = serial)
	DecodeWorkers int `mapstructure:"decode_workers"`
	// pcap
	Plugins []string `mapstructure:"plugins"`

	// trap: one input IFC_SPEC entry (u:NAME, t:HOST:PORT, f:PATTERN,
	// k:TOPIC:HOST:PORT:group=NAME, ...)
	IFC string `mapstructure:"ifc"`
}

// Sampling reports whether the collector applies sampling (default true).
func (s SourceConfig) Sampling() bool { return s.ApplySampling == nil || *s.ApplySampling }

// OutputConfig is one entry of outputs:.
type OutputConfig struct {
	// IFC is one TRAP output IFC_SPEC entry (u:NAME, t:PORT, f:PATH, b:, ...).
	IFC string `mapstructure:"ifc"`
	// Template is the UniRec field list the output carries; empty means
	// DefaultTemplate.
	Template string `mapstructure:"template"`
	// Filter, when set, is a unirecfilter expression (package filter):
	// only records that pass it go to this output, e.g.
	// "PROTOCOL == 6 && DST_PORT in [22, 3389]".
	Filter string `mapstructure:"filter"`
}

// DefaultTemplate is the template of outputs that name none: NEMEA's basic
// flow with TOS, TTL and the biflow reverse counters.
const DefaultTemplate = converters.BiflowTemplate

// DefaultOutputTimeout is the TRAP timeout of outputs whose IFC_SPEC sets
// none (see default.yaml for why HALF_WAIT).
const DefaultOutputTimeout = trap.HalfWait

// DefaultConfiguration returns the embedded default configuration (what
// flowgate runs with no arguments), without environment overrides.
func DefaultConfiguration() Configuration {
	c, err := parse(nil, false)
	if err != nil {
		panic(fmt.Sprintf("config: embedded default.yaml is invalid: %v", err)) // a build defect, caught by tests
	}
	return c
}

// SocketDirectory resolves SocketDir: the configured value, else
// $TRAP_SOCKET_DIR, else /var/run/libtrap.
func (c Configuration) SocketDirectory() string {
	if c.SocketDir != "" {
		return c.SocketDir
	}
	if d := os.Getenv("TRAP_SOCKET_DIR"); d != "" {
		return d
	}
	return trap.DefaultSocketDir
}
