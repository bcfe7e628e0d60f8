package supervisor

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitParams(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{`-o plain "with spaces" 'with "quotes" inside'`, []string{"-o", "plain", "with spaces", `with "quotes" inside`}, ""},
		{"  -a   -b  ", []string{"-a", "-b"}, ""},
		{"", nil, ""},
		{"a\tb c", []string{"a\tb", "c"}, ""},
		{"ab'c'", nil, "middle of a word"},
		{`ab"c"`, nil, "middle of a word"},
		{"'abc", nil, "unterminated"},
		{`"abc`, nil, "unterminated"},
		{"''", nil, "empty"},
		{`""`, nil, "empty"},
		{`"it's"`, nil, "apostrophe inside"},
		{`'a'b`, nil, "follows the closing"},
	} {
		got, _, err := SplitParams(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrParams) {
				t.Errorf("SplitParams(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitParams(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestArgvInputsFirstAndLegacyComma(t *testing.T) {
	dir := t.TempDir()
	xml := `<nemea-supervisor>
  <modules>
    <name>Example profile</name>
    <enabled>true</enabled>
    <module>
      <name>traffic_repeater_example</name>
      <enabled>true</enabled>
      <path>/usr/bin/nemea/traffic_repeater</path>
      <params>-v param_arg "param in quotes" 'param in apostrophes'</params>
      <module-restarts>0</module-restarts>
      <trapinterfaces>
        <interface><type>UNIXSOCKET</type><direction>OUT</direction><params>trafrep_example_output</params></interface>
        <interface><type>TCP</type><direction>IN</direction><params>localhost,7600</params></interface>
        <interface><type>BLACKHOLE</type><direction>OUT</direction></interface>
      </trapinterfaces>
    </module>
  </modules>
</nemea-supervisor>
`
	p := filepath.Join(dir, "t.xml")
	os.WriteFile(p, []byte(xml), 0o644)
	c, err := LoadXML(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"traffic_repeater_example", "-v", "param_arg", "param in quotes", "param in apostrophes", "-i",
		"t:localhost:7600,u:trafrep_example_output,b:"}
	if got := c.Modules[0].Argv(); !reflect.DeepEqual(got, want) {
		t.Errorf("argv %q\nwant %q", got, want)
	}
	if c.Modules[0].RestartsPerMinute != 0 {
		t.Errorf("module-restarts %d", c.Modules[0].RestartsPerMinute)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestYAMLErrorsNameFileLineAndKey(t *testing.T) {
	head := "version: 1\nprofiles:\n  - name: p\n    modules:\n      - name: m\n        path: /bin/true\n"
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown top key", "version: 1\nbogus: 2\n", `main.yaml:2: bogus: unknown key "bogus"`},
		{"unknown module key", head + "        colour: red\n", `main.yaml:7: profiles[0].modules[0].colour: unknown key "colour"`},
		{"unknown interface key", head + "        interfaces:\n          - {dir: out, type: unix, name: x, colour: 1}\n",
			`main.yaml:8: profiles[0].modules[0].interfaces[0].colour: unknown key`},
		{"bad interface", head + "        interfaces:\n          - {dir: out, type: unix, spec: \"x:timeout=SOON\"}\n",
			`main.yaml:8: profiles[0].modules[0].interfaces[0]: module m: `},
		{"bad port", head + "        interfaces:\n          - {dir: in, type: tcp, port: 70000}\n", `main.yaml:8: profiles[0].modules[0].interfaces[0]: module m: port 70000`},
		{"blackhole input", head + "        interfaces:\n          - {dir: in, type: blackhole}\n", "cannot be an input"},
		{"restarts range", head + "        restarts_per_minute: 31\n", `main.yaml:7: profiles[0].modules[0].restarts_per_minute: 31 is outside 0..30`},
		{"args and params", head + "        args: [a]\n        params: b\n", "give args or params, not both"},
		{"bad params", head + "        params: \"'x\"\n", `main.yaml:7: profiles[0].modules[0].params: module m: bad params: unterminated`},
		{"duplicate module", head + "      - name: m\n        path: /bin/true\n", `main.yaml:7: name: duplicate module name "m"`},
		{"bad name", "version: 1\nprofiles:\n  - name: p\n    modules:\n      - name: a/b\n        path: /bin/true\n", `main.yaml:5: name: module name "a/b"`},
		{"wrong type", "version: 1\nsupervisor:\n  restarts_per_minute: many\n", "main.yaml: line 3: cannot unmarshal"},
		{"bad duration", "version: 1\nsupervisor:\n  stop_timeout: soon\n", `main.yaml:3: supervisor.stop_timeout: "soon" is not a duration`},
		{"version", "version: 2\n", "main.yaml:1: version: version must be 1"},
		{"syntax", "version: 1\nprofiles: [\n", "main.yaml: yaml:"},
		{"duplicate output", head + "        interfaces: [{dir: out, type: tcp, port: 12004}]\n      - name: n\n        path: /bin/true\n        interfaces: [{dir: out, type: tcp, port: 12004}]\n",
			"output port 12004 is also an output of module m"},
		{"missing include", "version: 1\ninclude: [nothere.yaml]\n", "main.yaml:2: include[0]: included file"},
		{"fragment unknown profile", "version: 1\ninclude: [frag.yaml]\n", `frag.yaml:1: profile: profile "zz" is not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"main.yaml": tc.text, "frag.yaml": "profile: zz\nmodules: []\n"})
			_, err := LoadYAML(filepath.Join(dir, "main.yaml"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestYAMLFullExampleAndFragments(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.yaml": `version: 1
supervisor:
  logs_dir: /tmp/logs
  stats_interval: 1s
  restarts_per_minute: 30
  http: { listen: "127.0.0.1:0" }
include: [frag.d/*.yaml]
profiles:
  - name: Data sources
    modules:
      - name: flow_meter
        enabled: false
        path: /usr/bin/nemea/flow_meter
        args: [-I, eth0]
        interfaces:
          - { dir: out, type: unix, name: flow_data_source }
  - name: Detectors
    enabled: true
    modules:
      - name: dnstunnel_detection
        path: /usr/bin/nemea/dnstunnel_detection
        restarts_per_minute: 5
        stop_timeout: 10s
        env: { LANG: C }
        interfaces:
          - { dir: in,  type: unix, name: flow_data_source }
          - { dir: out, type: tcp,  port: 12004 }
          - { dir: out, type: unix, name: dnstunnel_sdmoutput, options: { timeout: NO_WAIT } }
`,
		"frag.d/b.yaml": `profile: Detectors
modules:
  - name: second
    path: /bin/true
`,
		"frag.d/a.yaml": `profiles:
  - name: Loggers
    modules:
      - name: dnstunnel_logger
        path: /usr/bin/nemea/logger
        params: "-t -T -a /data/alerts.log"
        interfaces:
          - { dir: in, type: tcp, host: localhost, port: 12004 }
`,
		"frag.d/skip.txt": "not yaml",
	})
	c, err := LoadYAML(filepath.Join(dir, "main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range c.Modules {
		names = append(names, m.Profile+"/"+m.Name)
	}
	want := []string{"Data sources/flow_meter", "Detectors/dnstunnel_detection", "Detectors/second", "Loggers/dnstunnel_logger"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("modules %q, want %q", names, want)
	}
	dns := c.Module("dnstunnel_detection")
	if got := dns.IfcSpec(); got != "u:flow_data_source,t:12004,u:dnstunnel_sdmoutput:timeout=NO_WAIT" {
		t.Errorf("dnstunnel -i %q", got)
	}
	if dns.RestartsPerMinute != 5 || dns.StopTimeout.String() != "10s" || dns.Env["LANG"] != "C" {
		t.Errorf("dnstunnel settings %+v", dns)
	}
	if c.Module("second").RestartsPerMinute != -1 || c.Settings.StatsInterval.String() != "1s" {
		t.Errorf("restarts 30 should mean unlimited: %d", c.Module("second").RestartsPerMinute)
	}
	if c.Module("second").ServiceIFC {
		t.Error("a module without interfaces is polled")
	}
	lg := c.Module("dnstunnel_logger")
	if strings.Join(lg.Argv(), " ") != "dnstunnel_logger -t -T -a /data/alerts.log -i t:localhost:12004" {
		t.Errorf("logger argv %q", lg.Argv())
	}
}

func TestXMLValidationRules(t *testing.T) {
	mod := func(inner string) string {
		return "<nemea-supervisor>\n<modules>\n<name>p</name>\n<enabled>true</enabled>\n<module>\n" + inner + "</module>\n</modules>\n</nemea-supervisor>\n"
	}
	base := "<name>m</name>\n<enabled>true</enabled>\n<path>/bin/true</path>\n"
	for _, tc := range []struct{ name, text, want string }{
		{"root", "<supervisor/>\n", "root element must be <nemea-supervisor>"},
		{"empty root", "<nemea-supervisor></nemea-supervisor>\n", "is empty"},
		{"unexpected element", mod(base + "<colour>red</colour>\n"), "t.xml:9: colour: unexpected element <colour> in <module>"},
		{"twice", mod(base + "<name>n</name>\n"), `t.xml:9: name: too many <name> elements in <module>`},
		{"missing path", mod("<name>m</name>\n<enabled>true</enabled>\n"), "t.xml:5: path: <module> needs a non-empty <path>"},
		{"enabled case", mod("<name>m</name>\n<enabled>True</enabled>\n<path>/bin/true</path>\n"), `t.xml:7: enabled: <enabled> must be exactly true or false`},
		{"restarts junk", mod(base + "<module-restarts>3x</module-restarts>\n"), "t.xml:9: module-restarts: <module-restarts> must be an integer in 0..30"},
		{"no direction", mod(base + "<trapinterfaces><interface><type>TCP</type><params>1</params></interface></trapinterfaces>\n"), "needs a non-empty <direction>"},
		{"bad type", mod(base + "<trapinterfaces><interface><type>tcp</type><direction>IN</direction><params>1</params></interface></trapinterfaces>\n"), `interface type "tcp" is not`},
		{"bad ifc", mod(base + "<trapinterfaces><interface><type>UNIXSOCKET</type><direction>OUT</direction><params>x:buffer=maybe</params></interface></trapinterfaces>\n"), "t.xml:9: interface: module m:"},
		{"syntax", "<nemea-supervisor>\n<modules>\n</nemea-supervisor>\n", "t.xml:3: XML syntax error"},
		{"duplicate profile", "<nemea-supervisor>\n<modules><name>p</name><enabled>true</enabled></modules>\n<modules><name>p</name><enabled>true</enabled></modules>\n</nemea-supervisor>\n", `t.xml:3: name: duplicate profile name "p"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"t.xml": tc.text})
			_, err := LoadXML(filepath.Join(dir, "t.xml"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestXMLIncludesSortedAndOnlySup(t *testing.T) {
	sup := func(name string) string {
		return "<module>\n  <name>" + name + "</name>\n  <enabled>true</enabled>\n  <path>/bin/true</path>\n</module>\n"
	}
	dir := writeFiles(t, map[string]string{
		"template.xml": `<?xml version="1.0"?>
<nemea-supervisor>
  <!-- include warning.sup -->
  <modules>
    <name>Detectors</name>
    <enabled>true</enabled>
    <!-- include detectors -->
  </modules>
  <modules>
    <name>Loggers</name>
    <enabled>false</enabled>
    <!-- include loggers/logger.sup -->
    <!-- include loggers/notes.txt -->
  </modules>
</nemea-supervisor>
`,
		"warning.sup":        "<!-- generated -->\n",
		"detectors/b.sup":    sup("b_det"),
		"detectors/a.sup":    sup("a_det"),
		"detectors/c.sup~":   sup("backup_copy"),
		"loggers/logger.sup": sup("lg") + "<bogus/>\n",
		"loggers/notes.txt":  "<bogus/>",
	})
	_, err := LoadXML(filepath.Join(dir, "template.xml"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "loggers/logger.sup")+":6: bogus: unexpected element") {
		t.Fatalf("error %v: want the included file and its line", err)
	}
	os.WriteFile(filepath.Join(dir, "loggers/logger.sup"), []byte(sup("lg")), 0o644)
	c, err := LoadXML(filepath.Join(dir, "template.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range c.Modules {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "a_det,b_det,lg" {
		t.Errorf("modules %v, want a_det,b_det,lg", names)
	}
	if c.Profiles[1].Enabled {
		t.Error("Loggers profile enabled")
	}
	// A missing include is an error naming it.
	os.WriteFile(filepath.Join(dir, "template.xml"), []byte("<nemea-supervisor>\n  <!-- include gone.sup -->\n</nemea-supervisor>\n"), 0o644)
	if _, err := LoadXML(filepath.Join(dir, "template.xml")); err == nil || !strings.Contains(err.Error(), "template.xml:2: include:") {
		t.Errorf("missing include: %v", err)
	}
}

func TestImportXMLRoundTrip(t *testing.T) {
	dir := writeFiles(t, map[string]string{"t.xml": `<nemea-supervisor>
  <supervisor><module-restarts>4</module-restarts></supervisor>
  <modules>
    <name>Detectors</name>
    <enabled>true</enabled>
    <module>
      <name>dnstunnel_detection</name>
      <enabled>true</enabled>
      <path>/usr/bin/nemea/dnstunnel_detection</path>
      <params>-d "a b"</params>
      <trapinterfaces>
        <interface><type>UNIXSOCKET</type><direction>IN</direction><params>flow_data_source</params></interface>
        <interface><type>TCP</type><direction>OUT</direction><params>12004</params><note>to the logger</note></interface>
        <interface><type>UNIXSOCKET</type><direction>OUT</direction><params>dnstunnel_sdmoutput:timeout=NO_WAIT</params></interface>
        <interface><type>FILE</type><direction>OUT</direction><params>/data/x.trapcap:w:time=5</params></interface>
        <interface><type>TCP</type><direction>IN</direction><params>collector,7600</params></interface>
      </trapinterfaces>
    </module>
    <module>
      <name>ipfixcol</name>
      <enabled>false</enabled>
      <path>ipfixcol2</path>
      <module-restarts>30</module-restarts>
      <trap-args-ignore/>
      <trapinterfaces>
        <interface><type>TLS</type><direction>OUT</direction><params>4000:k.pem:c.pem:ca.pem</params></interface>
      </trapinterfaces>
    </module>
  </modules>
</nemea-supervisor>
`})
	c, err := LoadXML(filepath.Join(dir, "t.xml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := RenderYAML(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `# params: -d "a b"`) {
		t.Errorf("the original params are not kept as a comment:\n%s", out)
	}
	yp := filepath.Join(dir, "out.yaml")
	os.WriteFile(yp, out, 0o644)
	back, err := LoadYAML(yp)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i, m := range c.Modules {
		b := back.Modules[i]
		if !reflect.DeepEqual(m.Argv(), b.Argv()) || m.Enabled != b.Enabled || m.RestartsPerMinute != b.RestartsPerMinute ||
			m.PassInterfaces != b.PassInterfaces || !reflect.DeepEqual(m.Interfaces, b.Interfaces) {
			t.Errorf("module %s differs after import:\n%+v\n%+v\n%s", m.Name, m, b, out)
		}
	}
	if back.Settings.RestartsPerMinute != 4 {
		t.Errorf("global restarts %d", back.Settings.RestartsPerMinute)
	}
}
