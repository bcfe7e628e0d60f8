package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigErrorsExitNonZeroNamingFileLineKey(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nprofiles:\n  - name: p\n    modules:\n      - name: m\n        path: /bin/true\n        interfaces:\n          - {dir: in, type: unix, spec: \"x:timeout=SOON\"}\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"check", "-c", bad}, &out, &errb); code != 4 || !strings.Contains(errb.String(), bad+":8: profiles[0].modules[0].interfaces[0]: module m:") {
		t.Errorf("check of an invalid IFC: exit %d\n%s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"-c", bad}, &out, &errb); code != 4 {
		t.Errorf("start with an invalid config: exit %d, want 4", code)
	}
	if code := run([]string{"-c", bad, "-T", bad}, &out, &errb); code != 2 {
		t.Errorf("-c and -T: exit %d, want 2", code)
	}
}

func TestImportXML(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "t.xml")
	os.WriteFile(tpl, []byte(`<nemea-supervisor><modules><name>Loggers</name><enabled>true</enabled>
<module><name>lg</name><enabled>true</enabled><path>/usr/bin/nemea/logger</path><params>-t -a /data/alerts.log</params>
<trapinterfaces><interface><type>TCP</type><direction>IN</direction><params>localhost,12004</params></interface></trapinterfaces>
</module></modules></nemea-supervisor>
`), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"import-xml", tpl}, &out, &errb); code != 0 {
		t.Fatalf("import-xml: exit %d: %s", code, errb.String())
	}
	y := filepath.Join(dir, "out.yaml")
	os.WriteFile(y, out.Bytes(), 0o644)
	var o2 bytes.Buffer
	if code := run([]string{"check", "-c", y}, &o2, &errb); code != 0 || !strings.Contains(o2.String(), "1 profiles, 1 modules: OK") {
		t.Errorf("the imported YAML does not check: %d %s %s\n%s", code, o2.String(), errb.String(), out.String())
	}
	for _, want := range []string{"# params: -t -a /data/alerts.log", "host: localhost", "port: 12004"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("imported YAML lacks %q:\n%s", want, out.String())
		}
	}
}
