package supervisor

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHTTPAPI(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("api", "serve", "        interfaces: [{dir: out, type: unix, name: apiout}]\n", "")+
		fakeYAML("idle", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", "        enabled: false\n"))
	srv := httptest.NewServer(e.sup.Handler())
	defer srv.Close()
	e.waitFor("api polled", func() bool { return e.module("api").ServiceIFC.Connected })
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	post := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Post(srv.URL+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := get("/v1/modules")
	var mods []map[string]any
	if err := json.Unmarshal(b, &mods); code != 200 || err != nil || len(mods) != 2 {
		t.Fatalf("/v1/modules: %d %v %s", code, err, b)
	}
	for _, k := range []string{"name", "profile", "idx", "enabled", "profile_enabled", "effective_enabled", "status", "pid",
		"started_at", "restarts_in_window", "restarts_total", "last_exit", "auto_disabled", "service_ifc", "cpu", "mem",
		"inputs", "outputs", "args", "path"} {
		if _, ok := mods[0][k]; !ok {
			t.Errorf("module object lacks %q", k)
		}
	}
	outs := mods[0]["outputs"].([]any)
	if len(outs) != 1 {
		t.Fatalf("outputs %v", outs)
	}
	// The raw service-IFC object, every key.
	for _, k := range []string{"ifc_id", "ifc_type", "num_clients", "sent-messages", "dropped-messages", "buffers", "autoflushes", "client_stats_arr"} {
		if _, ok := outs[0].(map[string]any)[k]; !ok {
			t.Errorf("raw output lacks %q", k)
		}
	}
	if code, _ := get("/v1/modules/nosuch"); code != 404 {
		t.Errorf("unknown module: %d", code)
	}
	pid := e.module("api").PID
	if code, b := post("/v1/modules/api/restart"); code != 202 {
		t.Fatalf("restart: %d %s", code, b)
	}
	e.waitFor("api restarted", func() bool { p := e.module("api").PID; return p != 0 && p != pid })
	if code, b := post("/v1/modules/idle/restart"); code != 409 || !strings.Contains(string(b), "not enabled and running") {
		t.Errorf("restart of a disabled module: %d %s", code, b)
	}
	if code, _ := post("/v1/modules/idle/enable"); code != 202 {
		t.Errorf("enable: %d", code)
	}
	e.waitFor("idle running", func() bool { return e.module("idle").PID != 0 })
	if code, _ := post("/v1/profiles/p/disable"); code != 202 {
		t.Errorf("profile disable: %d", code)
	}
	e.waitFor("profile stopped", func() bool { return e.module("idle").PID == 0 && e.module("api").PID == 0 })
	post("/v1/profiles/p/enable")
	e.waitFor("api polled again", func() bool { return e.module("api").ServiceIFC.Connected })

	code, b = get("/metrics")
	if code != 200 {
		t.Fatalf("/metrics %d", code)
	}
	for _, want := range []string{
		`nemea_module_up{module="api",profile="p"} 1`,
		`nemea_module_restarts_total{module="api"} 0`,
		`nemea_ifc_clients{module="api",dir="out",idx="0",type="u",id="apiout"} 0`,
		`nemea_ifc_messages_total{module="api",dir="out",idx="0",type="u",id="apiout"} 0`,
		`nemea_service_ifc_up{module="api"} 1`,
		"# TYPE nemea_module_cpu_seconds_total counter",
		`nemea_supervisor_reload_success 1`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	code, b = post("/v1/reload?dry_run=1")
	var res ReloadResult
	if json.Unmarshal(b, &res); code != 200 || !res.DryRun || res.Unmodified != 2 {
		t.Errorf("dry-run reload: %d %s", code, b)
	}
	if code, b := get("/v1/events"); code != 200 || !bytes.Contains(b, []byte(`"event":"START"`)) {
		t.Errorf("/v1/events: %d %s", code, b)
	}
	if code, b := get("/v1/logs/api?tail=2"); code != 200 || bytes.Count(b, []byte("\n")) != 2 {
		t.Errorf("/v1/logs tail: %d %q", code, b)
	}
	if code, b := get("/"); code != 200 || !bytes.Contains(b, []byte("<title>NEMEA supervisor</title>")) {
		t.Errorf("status page: %d", code)
	}
	if code, b := get("/app.js"); code != 200 || !bytes.Contains(b, []byte("v1/modules")) {
		t.Errorf("app.js: %d", code)
	}
}

func TestSupcli(t *testing.T) {
	e := startEnv(t, `  - name: Detectors
    modules:
`+fakeYAML("det", "serve", "        interfaces: [{dir: out, type: unix, name: clidet}]\n", "")+
		fakeYAML("off", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", "        enabled: false\n"))
	e.waitFor("det polled", func() bool { return e.module("det").ServiceIFC.Connected })
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := RunCLI(append([]string{"-s", e.sock}, args...), &out, &errb, false)
		return code, out.String(), errb.String()
	}
	code, out, _ := run("-x")
	if code != 0 || !strings.HasPrefix(out, `{"det": {"CPU-u": `) || strings.HasSuffix(out, "\n") {
		t.Errorf("-x: %d %q", code, out)
	}
	code, out, _ = run("-i")
	if code != 0 || !strings.Contains(out, `"off": {`) || !strings.HasSuffix(out, "}\n") {
		t.Errorf("-i: %d %q", code, out)
	}
	if code, out, _ := run("-x", "-i"); code != 1 || !strings.Contains(out, "more than one parameter") {
		t.Errorf("-x -i: %d %q", code, out)
	}
	code, out, _ = run("status")
	if code != 0 || !strings.Contains(out, "Profile: Detectors") || !strings.Contains(out, "| det ") || !strings.Contains(out, "running") {
		t.Errorf("status: %d\n%s", code, out)
	}
	code, out, _ = run("status", "-l")
	if code != 0 || !strings.Contains(out, "IFC service: connected") || !strings.Contains(out, "IFC 0:  OUT; u; clidet; num of clients: 0") {
		t.Errorf("status -l: %d\n%s", code, out)
	}
	if code, out, _ := run("config"); code != 0 || !strings.Contains(out, "IFC 0:  OUT; UNIXSOCKET; clidet; none") {
		t.Errorf("config: %d\n%s", code, out)
	}
	if code, out, _ := run("config", "--rendered"); code != 0 || !strings.Contains(out, "name: clidet") {
		t.Errorf("config --rendered: %d\n%s", code, out)
	}
	if code, _, errs := run("enable", "nosuch"); code != ExitRejected || !strings.Contains(errs, "unknown name") {
		t.Errorf("enable nosuch: %d %s", code, errs)
	}
	if code, _, _ := run("start", "off"); code != 0 {
		t.Errorf("start off: %d", code)
	}
	e.waitFor("off running", func() bool { return e.module("off").PID != 0 })
	if code, out, _ := run("reload"); code != 0 || !strings.Contains(out, "Unmodified modules:\t2") {
		t.Errorf("reload: %d %q", code, out)
	}
	os.WriteFile(e.cfgPath, []byte("version: 1\nprofiles: 3\n"), 0o644)
	if code, _, errs := run("-r"); code != ExitRejected || !strings.Contains(errs, "[RELOAD] Rejected") {
		t.Errorf("-r with a broken config: %d %q", code, errs)
	}
	if code, out, _ := run("logs", "det", "-n", "1"); code != 0 || !strings.Contains(out, "fake module serving u:clidet") {
		t.Errorf("logs: %d %q", code, out)
	}
	if code, out, _ := run("stats", "--prom"); code != 0 || !strings.Contains(out, "nemea_module_up") {
		t.Errorf("stats --prom: %d", code)
	}
	if code, out, _ := run("info"); code != 0 || !strings.Contains(out, "Number of loaded modules: 2") {
		t.Errorf("info: %d %q", code, out)
	}
	// No supervisor: the C client's message and a failure.
	var o, eb bytes.Buffer
	gone := filepath.Join(e.dir, "gone.sock")
	if code := RunCLI([]string{"-s", gone, "-x"}, &o, &eb, false); code != 1 || eb.String() != "[ERROR] Could not connect to supervisor!\n" {
		t.Errorf("-x without supervisor: %d %q", code, eb.String())
	}
	if code := RunCLI([]string{"-s", gone, "status"}, &o, &eb, false); code != ExitConnect {
		t.Errorf("status without supervisor: %d", code)
	}
}
