package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

func TestDefaultConfigurationIsTheDocumentedDaemon(t *testing.T) {
	c := DefaultConfiguration()
	var listens []string
	for _, s := range c.Sources {
		if s.Type != TypeCollector {
			t.Errorf("default source %s has type %s", s.Name, s.Type)
		}
		if !s.Sampling() || s.TemplateLifetime != 30*time.Minute || s.ReceiveBuffer != 16<<20 {
			t.Errorf("source %s: sampling %v lifetime %v rcvbuf %d", s.Name, s.Sampling(), s.TemplateLifetime, s.ReceiveBuffer)
		}
		if !strings.HasPrefix(s.StateFile, "/var/lib/flowgate/") {
			t.Errorf("source %s: state file %q", s.Name, s.StateFile)
		}
		listens = append(listens, s.Listen...)
	}
	if got, want := strings.Join(listens, " "), "udp://:4739 tcp://:4739 udp://:2055"; got != want {
		t.Errorf("listen = %s, want %s", got, want)
	}
	if len(c.Outputs) != 1 || c.Outputs[0].IFC != "u:flowgate:timeout=HALF_WAIT" {
		t.Fatalf("outputs = %+v", c.Outputs)
	}
	got, err := unirec.ParseTemplate(c.Outputs[0].Template)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := unirec.ParseTemplate(DefaultTemplate)
	if !got.Equal(want) {
		t.Errorf("default template %s, want %s", got, want)
	}
	for _, f := range []string{"TOS", "TTL", "BYTES_REV", "PACKETS_REV", "TCP_FLAGS_REV"} {
		if _, ok := got.Lookup(f); !ok {
			t.Errorf("default template lacks %s", f)
		}
	}
	if c.Metrics.Listen != "127.0.0.1:9464" || c.Log.Level != "info" || c.Log.Format != "console" {
		t.Errorf("metrics %q log %+v", c.Metrics.Listen, c.Log)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "flowgate.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMergesFileAndEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		env   map[string]string
		check func(t *testing.T, c Configuration)
	}{
		{
			name: "file replaces the outputs list and keeps default sources",
			file: "outputs:\n  - ifc: f:/tmp/x.trapcap\n",
			check: func(t *testing.T, c Configuration) {
				if len(c.Outputs) != 1 || c.Outputs[0].IFC != "f:/tmp/x.trapcap" || c.Outputs[0].Template != DefaultTemplate {
					t.Errorf("outputs %+v", c.Outputs)
				}
				if len(c.Sources) != 2 {
					t.Errorf("sources %d, want the 2 defaults", len(c.Sources))
				}
			},
		},
		{
			name: "environment overrides a scalar from the file",
			file: "log:\n  level: warn\n",
			env:  map[string]string{"FLOWGATE_LOG_LEVEL": "debug", "FLOWGATE_METRICS_LISTEN": ""},
			check: func(t *testing.T, c Configuration) {
				if c.Log.Level != "debug" || c.Metrics.Listen != "" {
					t.Errorf("log.level %q metrics.listen %q", c.Log.Level, c.Metrics.Listen)
				}
			},
		},
		{
			name: "environment replaces the sources list with YAML",
			env:  map[string]string{"FLOWGATE_SOURCES": "- type: csv\n  paths: [a.csv]\n- {type: collector, listen: ['udp://127.0.0.1:9995'], apply_sampling: false}"},
			check: func(t *testing.T, c Configuration) {
				if len(c.Sources) != 2 || c.Sources[0].Type != TypeCSV || c.Sources[0].Paths[0] != "a.csv" {
					t.Fatalf("sources %+v", c.Sources)
				}
				s := c.Sources[1]
				if s.Name != "collector-1" || s.Sampling() || s.Sockets < 1 {
					t.Errorf("collector defaults: name %q sampling %v sockets %d", s.Name, s.Sampling(), s.Sockets)
				}
			},
		},
		{
			name: "socket dir from the file",
			file: "socket_dir: /tmp/sock\n",
			check: func(t *testing.T, c Configuration) {
				if c.SocketDirectory() != "/tmp/sock" {
					t.Errorf("socket dir %q", c.SocketDirectory())
				}
			},
		},
		{
			name: "durations and sizes parse",
			file: "sources:\n  - type: collector\n    listen: [udp://127.0.0.1:0]\n    template_lifetime: 1m30s\n    sockets: 4\n    receive_buffer: 1048576\n",
			check: func(t *testing.T, c Configuration) {
				s := c.Sources[0]
				if s.TemplateLifetime != 90*time.Second || s.Sockets != 4 || s.ReceiveBuffer != 1<<20 {
					t.Errorf("%+v", s)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestSocketDirectoryFollowsTrapSocketDir(t *testing.T) {
	t.Setenv("TRAP_SOCKET_DIR", "/tmp/trapdir")
	if d := DefaultConfiguration().SocketDirectory(); d != "/tmp/trapdir" {
		t.Errorf("socket dir %q, want $TRAP_SOCKET_DIR", d)
	}
	t.Setenv("TRAP_SOCKET_DIR", "")
	if d := DefaultConfiguration().SocketDirectory(); d != "/var/run/libtrap" {
		t.Errorf("socket dir %q, want /var/run/libtrap", d)
	}
}

func TestLoadRejectsWithKeyAndAllowedValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want []string // every fragment must appear in the error
	}{
		{"unknown top-level key", "sourcez: []\n", nil, []string{"sourcez: unknown key", "allowed here: log, metrics, socket_dir, sources, outputs"}},
		{"unknown key in a source names the type's keys", "sources:\n  - type: collector\n    listen: [udp://:1]\n    lisen: [udp://:2]\n", nil,
			[]string{"sources[0].lisen: unknown key", "listen, sockets, receive_buffer", "state_file"}},
		{"key of another source type", "sources:\n  - type: nfdump\n    paths: [x]\n    sockets: 2\n", nil, []string{"sources[0].sockets: unknown key", "allowed here: type, name, paths, follow, state_file"}},
		{"follow belongs to nfdump sources", "sources:\n  - type: pcap\n    paths: [x]\n    follow: true\n", nil, []string{"sources[0].follow: unknown key"}},
		{"bad source type", "sources:\n  - type: jflow\n", nil, []string{`sources[0].type: "jflow" is not one of collector, nfdump, pcap, csv, trap, sflow`}},
		{"bad log level", "log:\n  level: loud\n", nil, []string{`log.level: "loud" is not one of debug, info, warn, error`}},
		{"bad log level from the environment", "", map[string]string{"FLOWGATE_LOG_LEVEL": "chatty"}, []string{`log.level: "chatty"`}},
		{"misspelt environment variable", "", map[string]string{"FLOWGATE_LOG_LEVLE": "debug"}, []string{"unknown environment variable FLOWGATE_LOG_LEVLE", "FLOWGATE_LOG_LEVEL"}},
		{"bad listen scheme", "sources:\n  - type: collector\n    listen: [sctp://:4739]\n", nil, []string{"sources[0].listen[0]", "want udp://HOST:PORT or tcp://HOST:PORT"}},
		{"bad listen port", "sources:\n  - type: collector\n    listen: [udp://:99999]\n", nil, []string{"sources[0].listen[0]", "0 to 65535"}},
		{"collector without listen", "sources:\n  - type: collector\n", nil, []string{"sources[0].listen: a collector needs"}},
		{"file source without paths", "sources:\n  - type: pcap\n", nil, []string{"sources[0].paths"}},
		{"unknown pcap plugin", "sources:\n  - type: pcap\n    paths: [a]\n    plugins: [ftp]\n", nil, []string{`sources[0].plugins[0]: "ftp" is not one of`, "http"}},
		{"negative receive buffer", "sources:\n  - type: collector\n    listen: [udp://:1]\n    receive_buffer: -1\n", nil, []string{"sources[0].receive_buffer: -1 is not from 0"}},
		{"negative exporter table", "sources:\n  - type: collector\n    listen: [udp://:1]\n    max_exporters: -5\n", nil, []string{"sources[0].max_exporters: -5 is negative"}},
		{"duplicate names", "sources:\n  - {type: csv, name: a, paths: [x]}\n  - {type: csv, name: a, paths: [y]}\n", nil, []string{`sources[1].name: "a" is already the name of sources[0]`}},
		{"no outputs", "outputs: []\n", nil, []string{"outputs: at least one output"}},
		{"bad IFC", "outputs:\n  - ifc: 'x:1'\n", nil, []string{"outputs[0].ifc"}},
		{"two IFCs in one output", "outputs:\n  - ifc: 'u:a,u:b'\n", nil, []string{"outputs[0].ifc", "one interface per output"}},
		{"bad template", "outputs:\n  - ifc: 'b:'\n    template: 'uint99 X'\n", nil, []string{"outputs[0].template"}},
		{"filter syntax error names the column", "outputs:\n  - ifc: 'b:'\n    filter: 'PROTOCOL == 6 &&'\n", nil, []string{"outputs[0].filter: filter: column 17"}},
		{"filter on a field the output lacks", "outputs:\n  - ifc: 'b:'\n    template: 'uint16 DST_PORT'\n    filter: 'DST_PORT == 22 || PROTOCOL == 6'\n", nil,
			[]string{"outputs[0].filter: column 19: PROTOCOL is not in the template"}},
		{"bad metrics address", "metrics:\n  listen: nonsense\n", nil, []string{"metrics.listen"}},
		{"not YAML", "sources: [\n", nil, []string{"YAML"}},
		{"several problems at once", "log:\n  level: x\n  format: y\n", nil, []string{"log.level", "log.format", "console, json"}},
		{"duration without a unit", "sources:\n  - type: collector\n    listen: [udp://:1]\n    template_lifetime: 30\n", nil,
			[]string{"sources[0].template_lifetime", "30", "30s", "30m"}},
		{"duration as a numeric string", "sources:\n  - type: collector\n    listen: [udp://:1]\n    template_lifetime: '1800'\n", nil,
			[]string{"sources[0].template_lifetime", "1800", "30s"}},
		{"duration from the environment", "", map[string]string{"FLOWGATE_SOURCES": "[{type: collector, listen: ['udp://:1'], template_lifetime: 60}]"},
			[]string{"sources[0].template_lifetime", "60", "30s"}},
		{"wrong-typed value names key, value and type", "sources:\n  - type: collector\n    listen: [udp://:1]\n    sockets: many\n", nil,
			[]string{`sources[0].sockets: "many" is not an integer`}},
		{"wrong-typed boolean", "sources:\n  - type: collector\n    listen: [udp://:1]\n    apply_sampling: perhaps\n", nil,
			[]string{`sources[0].apply_sampling: "perhaps" is not a boolean`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := writeFile(t, tc.file)
			_, err := Load(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") && !strings.HasPrefix(tc.name, "several") {
				t.Errorf("error %q is not one line", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v", err)
	}
}

func TestParseListen(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr string
		ok                bool
	}{
		{"udp://:4739", "udp", ":4739", true},
		{"tcp://[::1]:4739", "tcp", "[::1]:4739", true},
		{"udp://127.0.0.1:0", "udp", "127.0.0.1:0", true},
		{"udp:4739", "", "", false},
		{"udp://4739", "", "", false},
		{"http://:80", "", "", false},
	} {
		n, a, err := ParseListen(tc.in)
		if (err == nil) != tc.ok || n != tc.network || a != tc.addr {
			t.Errorf("ParseListen(%q) = %q, %q, %v", tc.in, n, a, err)
		}
	}
}

// FuzzLoad: any file content yields a configuration or an error, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add(string(defaultYAML))
	f.Add("sources:\n  - type: collector\n    listen: [udp://:1]\n")
	f.Add("outputs: 5\n")
	f.Add("log: [1, 2]\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err == nil && (len(c.Sources) == 0 || len(c.Outputs) == 0) {
			t.Errorf("accepted a configuration without sources or outputs")
		}
	})
}

func TestNfdumpSourceFollowsWithStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(path, []byte("sources:\n  - type: nfdump\n    paths: [/var/cache/nfdump]\n    follow: true\n    state_file: /var/lib/flowgate/nfdump.state\n"), 0o644)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Sources[0]
	if !s.Follow || s.StateFile != "/var/lib/flowgate/nfdump.state" {
		t.Errorf("source = %+v, want follow with the state file", s)
	}
}

func TestNfdumpSourceDecodeWorkers(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want int
		bad  bool
	}{{"", 0, false}, {"1", 1, false}, {"4", 4, false}, {"-1", 0, true}, {"33", 0, true}} {
		text := "sources:\n  - type: nfdump\n    paths: [/var/cache/nfdump]\n"
		if tc.val != "" {
			text += "    decode_workers: " + tc.val + "\n"
		}
		path := filepath.Join(t.TempDir(), "f.yaml")
		os.WriteFile(path, []byte(text), 0o644)
		cfg, err := Load(path)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "decode_workers") {
				t.Errorf("decode_workers %s: error %v, want one naming decode_workers", tc.val, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("decode_workers %q: %v", tc.val, err)
		}
		if got := cfg.Sources[0].DecodeWorkers; got != tc.want {
			t.Errorf("decode_workers %q: %d, want %d", tc.val, got, tc.want)
		}
	}
}

func TestDetectorsSection(t *testing.T) {
	c, err := Load(writeFile(t, `
detectors:
  - type: vportscan_detector
    ifc: u:vportscan
  - type: HADDRSCAN_DETECTOR
    name: sweeps
    options: ["-n", "3", "--clock", "flow"]
    ifc: f:/tmp/alerts.trapcap
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Detectors) != 2 || c.Detectors[0].Name != "vportscan_detector-0" || c.Detectors[1].Type != "haddrscan_detector" ||
		strings.Join(c.Detectors[1].Options, " ") != "-n 3 --clock flow" {
		t.Fatalf("detectors %+v", c.Detectors)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"detectors:\n  - {type: nope, ifc: b:}", `detectors[0].type: "nope" is not one of vportscan_detector, haddrscan_detector, amplification_detection, brute_force_detector, ipblacklistfilter, ddos_detector`},
		{"detectors:\n  - {type: vportscan_detector}", "detectors[0].ifc: required"},
		{"detectors:\n  - {type: vportscan_detector, ifc: 'u:a,u:b'}", "one interface per detector"},
		{"detectors:\n  - {type: vportscan_detector, ifc: b:, threshold: 3}", "detectors[0].threshold: unknown key; allowed here: type, name, options, ifc"},
		{"detectors:\n  - {type: vportscan_detector, ifc: b:}\n  - {type: haddrscan_detector, name: vportscan_detector-0, ifc: b:}", `detectors[1].name: "vportscan_detector-0" is already`},
	} {
		if _, err := Load(writeFile(t, tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %q", tt.yaml, err, tt.want)
		}
	}
}
