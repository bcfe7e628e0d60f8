package supervisor

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestModuleKilledComesBackWithNewPID(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("svc", "serve", "        interfaces: [{dir: out, type: unix, name: svcout}]\n", ""))
	var pid int
	e.waitFor("svc running with service stats", func() bool {
		m := e.module("svc")
		pid = m.PID
		return m.Status == "running" && m.ServiceIFC.Connected && len(m.Outputs) == 1
	})
	m := e.module("svc")
	if id := m.Outputs[0]["ifc_id"]; id != "svcout" {
		t.Errorf("output ifc_id %v, want svcout", id)
	}
	if m.Args[0] != "svc" || strings.Join(m.Args[1:], " ") != "-i u:svcout" {
		t.Errorf("argv %q, want [svc -i u:svcout]", m.Args)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	e.waitFor("svc back with a new pid", func() bool {
		m := e.module("svc")
		return m.PID != 0 && m.PID != pid
	})
	m = e.module("svc")
	if m.RestartsTotal != 1 || m.LastExit == nil || m.LastExit.Signal != "SIGKILL" {
		t.Errorf("after SIGKILL: restarts %d, last exit %+v", m.RestartsTotal, m.LastExit)
	}
	// The module's logs hold the start markers.
	b, err := os.ReadFile(filepath.Join(e.dir, "logs", "modules_logs", "svc_stdout"))
	if err != nil || bytes.Count(b, []byte("---> ")) != 2 || !bytes.Contains(b, []byte("[INFO] Supervisor - executed command: ")) {
		t.Errorf("svc_stdout: %v\n%s", err, b)
	}
	ev, _ := os.ReadFile(filepath.Join(e.dir, "logs", "modules_events"))
	for _, want := range []string{"[START] Starting module svc.", "[RESTART] Restarting module svc", "killed by SIGKILL"} {
		if !bytes.Contains(ev, []byte(want)) {
			t.Errorf("modules_events lacks %q:\n%s", want, ev)
		}
	}
}

func TestModuleExitingAtOnceIsAutoDisabled(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("crash", "exit", "", "        restarts_per_minute: 2\n"))
	e.waitFor("crash auto-disabled", func() bool { return e.module("crash").AutoDisabled.Disabled })
	m := e.module("crash")
	if m.Status != "failed" || m.RestartsTotal != 2 || m.LastExit == nil || m.LastExit.Code != 1 {
		t.Errorf("status %s, restarts %d, last exit %+v; want failed after 1 start + 2 restarts with code 1", m.Status, m.RestartsTotal, m.LastExit)
	}
	if !strings.Contains(m.AutoDisabled.Reason, "restarted 2 times") {
		t.Errorf("reason %q", m.AutoDisabled.Reason)
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, "logs", "modules_events"))
	if !bytes.Contains(b, []byte("Module: crash was restarted 2 times per minute and it is down again. I set it disabled.")) {
		t.Errorf("events lack the auto-disable line:\n%s", b)
	}
	// Enabling clears the auto-disable and starts it again.
	if err := e.sup.Enable("crash"); err != nil {
		t.Fatal(err)
	}
	if m := e.module("crash"); m.AutoDisabled.Disabled {
		t.Error("still auto-disabled after enable")
	}
}

func TestRestartLimitZeroRunsOnce(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("once", "exit", "", "        restarts_per_minute: 0\n"))
	e.waitFor("once auto-disabled", func() bool { return e.module("once").AutoDisabled.Disabled })
	if m := e.module("once"); m.RestartsTotal != 0 {
		t.Errorf("restarts %d, want 0", m.RestartsTotal)
	}
}

func TestModuleIgnoringSIGINTIsKilled(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("stubborn", "ignore", "", "        stop_timeout: 500ms\n"))
	var pid int
	e.waitFor("stubborn running", func() bool { pid = e.module("stubborn").PID; return pid != 0 })
	e.waitFor("stubborn ignoring SIGINT", func() bool {
		b, _ := os.ReadFile(filepath.Join(e.dir, "logs", "modules_logs", "stubborn_stdout"))
		return bytes.Contains(b, []byte("fake module ignoring SIGINT"))
	})
	start := time.Now()
	if err := e.sup.Disable("stubborn"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("stopping", func() bool { return e.module("stubborn").Status == "stopping" || !alive(pid) })
	e.waitFor("stubborn stopped", func() bool { return e.module("stubborn").PID == 0 })
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Errorf("stopped after %v, before stop_timeout 500ms", el)
	}
	if m := e.module("stubborn"); m.LastExit == nil || m.LastExit.Signal != "SIGKILL" {
		t.Errorf("last exit %+v, want SIGKILL", m.LastExit)
	}
	if alive(pid) {
		t.Error("process still alive")
	}
}

func TestRestartRequestDoesNotCount(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("r", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", ""))
	var pid int
	// Polled: the module has set up its signal handling by then.
	e.waitFor("r running", func() bool { m := e.module("r"); pid = m.PID; return m.ServiceIFC.Connected })
	if err := e.sup.Restart("r"); err != nil {
		t.Fatal(err)
	}
	e.waitFor("r restarted", func() bool { m := e.module("r"); return m.PID != 0 && m.PID != pid })
	if m := e.module("r"); m.RestartsTotal != 0 || m.LastExit == nil || m.LastExit.Code != 0 {
		t.Errorf("restarts %d, last exit %+v; want 0 and a clean exit on SIGINT", m.RestartsTotal, m.LastExit)
	}
	if err := e.sup.Restart("nosuch"); err == nil {
		t.Error("restart of an unknown module accepted")
	}
}

func TestReloadRestartsOnlyChangedModules(t *testing.T) {
	mods := func(bArgs string) string {
		return `  - name: p
    modules:
` + fakeYAML("a", "serve", "        interfaces: [{dir: out, type: unix, name: ra}]\n", "") +
			fakeYAML("b", "serve", "        interfaces: [{dir: out, type: unix, name: rb}]\n", "        args: ["+bArgs+"]\n") +
			fakeYAML("c", "serve", "        interfaces: [{dir: out, type: unix, name: rc}]\n", "")
	}
	e := startEnv(t, mods("-v"))
	pids := map[string]int{}
	e.waitFor("all running", func() bool {
		for _, n := range []string{"a", "b", "c"} {
			if pids[n] = e.module(n).PID; pids[n] == 0 {
				return false
			}
		}
		return true
	})
	e.writeConfig(mods("-vv") + "  - name: q\n    modules:\n" + fakeYAML("d", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", ""))
	res := e.sup.Reload(false)
	if !res.Applied || len(res.Modified) != 1 || res.Modified[0].Name != "b" || res.Modified[0].Changes[0] != "args" ||
		len(res.Inserted) != 1 || res.Unmodified != 2 {
		t.Fatalf("reload result %+v", res)
	}
	e.waitFor("b restarted and d started", func() bool {
		b := e.module("b")
		return b.PID != 0 && b.PID != pids["b"] && e.module("d").PID != 0
	})
	for _, n := range []string{"a", "c"} {
		if p := e.module(n).PID; p != pids[n] {
			t.Errorf("module %s restarted by the reload: pid %d -> %d", n, pids[n], p)
		}
	}
	if got := e.module("b").Args; strings.Join(got, " ") != "b -vv -i u:rb" {
		t.Errorf("b argv %q", got)
	}
	// A broken config is rejected and changes nothing.
	os.WriteFile(e.cfgPath, []byte("version: 1\nprofiles:\n  - name: p\n    bogus: 1\n"), 0o644)
	res = e.sup.Reload(false)
	if res.Applied || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "bogus") {
		t.Errorf("broken reload: %+v", res)
	}
	if len(e.sup.Modules()) != 4 {
		t.Errorf("modules after rejected reload: %d", len(e.sup.Modules()))
	}
}

func TestServiceIFCFailuresAreMarked(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("garbage", "garbage", "        service_ifc: true\n", "")+
		fakeYAML("hang", "hang", "        service_ifc: true\n", "")+
		fakeYAML("midclose", "midclose", "        service_ifc: true\n", "")+
		fakeYAML("good", "serve", "        interfaces: [{dir: out, type: blackhole}]\n", ""))
	want := map[string]string{"garbage": SvcGarbage, "hang": SvcHang, "midclose": SvcClosed}
	e.waitFor("every failure marked and the good module polled", func() bool {
		for name, kind := range want {
			if m := e.module(name); m.ServiceIFC.State != kind || m.Status != "running" {
				return false
			}
		}
		return e.module("good").ServiceIFC.Connected
	})
	// The hanging module does not stall the others: the good one keeps
	// getting fresh statistics.
	first := *e.module("good").ServiceIFC.LastOK
	e.waitFor("fresh stats of the good module", func() bool {
		return e.module("good").ServiceIFC.LastOK.After(first)
	})
	if !e.sup.Healthy() {
		t.Error("control loop not healthy")
	}
	for name := range want {
		t.Logf("%s: %s", name, e.module(name).ServiceIFC.Error)
	}
	// Failed exchanges back off: no stream of reconnects to a module that
	// answers garbage.
	n := 0
	for _, ev := range e.sup.Events().Recent(0) {
		if ev.Module == "garbage" && strings.HasPrefix(ev.Detail, "Disconnecting") {
			n++
		}
	}
	if n > 6 {
		t.Errorf("%d disconnects from the garbage module: the retries do not back off", n)
	}
}

func TestCompatStatsAndInfoJSON(t *testing.T) {
	e := startEnv(t, `  - name: p
    modules:
`+fakeYAML("run", "serve", "        interfaces: [{dir: out, type: unix, name: cx}]\n", "")+
		fakeYAML("off", "serve", "        interfaces: [{dir: in, type: tcp, port: 12004}, {dir: out, type: blackhole}]\n", "        enabled: false\n"))
	e.waitFor("run polled", func() bool { return e.module("run").ServiceIFC.Connected })
	x, err := e.client.Legacy(codeStats)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasSuffix(x, []byte("\n")) || !bytes.Contains(x, []byte(`"CPU-u": `)) {
		t.Errorf("-x output %q: want jansson separators and no newline", x)
	}
	var stats map[string]map[string]any
	if err := json.Unmarshal(x, &stats); err != nil {
		t.Fatalf("-x: %v: %s", err, x)
	}
	if len(stats) != 1 || stats["run"] == nil {
		t.Fatalf("-x lists %v, want only the running module", stats)
	}
	checkKeys := func(obj map[string]any, keys ...string) {
		t.Helper()
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("key %q missing in %v", k, obj)
			}
		}
	}
	checkKeys(stats["run"], "CPU-u", "CPU-s", "MEM-vms", "MEM-rss", "inputs", "outputs")
	outs := stats["run"]["outputs"].([]any)
	if len(outs) != 1 {
		t.Fatalf("outputs %v", outs)
	}
	o := outs[0].(map[string]any)
	checkKeys(o, "type", "ID", "cli-num", "sent-msg", "drop-msg", "buffers", "autoflush")
	if o["type"] != "u" || o["ID"] != "cx" {
		t.Errorf("output %v", o)
	}
	if mem := stats["run"]["MEM-rss"].(float64); mem <= 0 {
		t.Errorf("MEM-rss %v", mem)
	}
	i, _ := e.client.Legacy(codeInfo)
	if !bytes.HasSuffix(i, []byte("}\n")) {
		t.Errorf("-i output does not end with a newline: %q", i)
	}
	var info map[string]map[string]any
	if err := json.Unmarshal(i, &info); err != nil {
		t.Fatal(err)
	}
	checkKeys(info["off"], "CPU-u", "CPU-s", "MEM-vms", "MEM-rss", "inputs", "outputs", "idx", "params", "path", "status")
	if info["off"]["status"] != "stopped" || info["off"]["idx"].(float64) != 1 || info["off"]["params"] != "none" {
		t.Errorf("-i off: %v", info["off"])
	}
	ins := info["off"]["inputs"].([]any)
	if len(ins) != 1 || ins[0].(map[string]any)["ID"] != "12004" || ins[0].(map[string]any)["is-conn"].(float64) != 0 {
		t.Errorf("-i synthesised inputs of a stopped module: %v", ins)
	}
	// Nothing running: -x prints nothing at all.
	e.sup.Disable("run")
	e.waitFor("run stopped", func() bool { return e.module("run").PID == 0 })
	if x, _ := e.client.Legacy(codeStats); len(x) != 0 {
		t.Errorf("-x with nothing running: %q", x)
	}
}
