package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/supervisor"
)

// supervisorBinaries builds the supervisor, supcli and the modules it runs.
func supervisorBinaries(t *testing.T) string {
	t.Helper()
	return commands(t, "supervisor", "supcli", "flowgate", "traffic_repeater", "logger")
}

// nemeaBin is the folder of the C NEMEA modules: $NEMEA_BIN, else
// shared/nemea-c/bin beside the repository; "" when absent.
func nemeaBin() string {
	if d := os.Getenv("NEMEA_BIN"); d != "" {
		return d
	}
	td, ok := testutil.FindShared("")
	if !ok {
		return ""
	}
	d := filepath.Join(filepath.Dir(filepath.Clean(td)), "nemea-c", "bin")
	if _, err := os.Stat(filepath.Join(d, "logger")); err != nil {
		return ""
	}
	return d
}

// nemeaLibs returns a folder for LD_LIBRARY_PATH in which the C modules
// find their libraries: where the shared folder was copied without
// symbolic links, libtrap.so.1 and its kind are small files holding the
// name of their target, and the loader cannot use them.
func nemeaLibs(t *testing.T, cbin string) string {
	t.Helper()
	src := filepath.Join(filepath.Dir(cbin), "lib")
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target := filepath.Join(src, e.Name())
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Size() < 256 {
			if b, err := os.ReadFile(target); err == nil {
				name := strings.TrimSpace(string(b))
				if _, err := os.Stat(filepath.Join(src, name)); err == nil && !strings.Contains(name, "/") {
					target = filepath.Join(src, name)
				}
			}
		}
		if err := os.Symlink(target, filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// supervisorChainYAML is the module graph: flowgate -> traffic_repeater ->
// logger (and the C logger on the same output when present), plus a module
// that exits at once and one that ignores SIGINT.
func supervisorChainYAML(dir, bin, cbin, clib, port, loggerArgs string) string {
	cLogger := ""
	if cbin != "" {
		cLogger = fmt.Sprintf(`      - name: c_logger
        path: %s/logger
        args: [-t]
        env: { LD_LIBRARY_PATH: %q }
        interfaces: [{dir: in, type: unix, name: e2e_rep}]
`, cbin, clib)
	}
	return fmt.Sprintf(`version: 1
supervisor:
  socket: %[1]s/ctl.sock
  logs_dir: %[1]s/logs
  trap_socket_dir: %[1]s
  stats_interval: 200ms
  stats_timeout: 500ms
  stop_timeout: 3s
profiles:
  - name: Sources
    modules:
      - name: flowgate
        path: %[2]s/flowgate
        args: [-l, "udp://127.0.0.1:%[3]s"]
        env: { FLOWGATE_METRICS_LISTEN: "" }
        service_ifc: false
        interfaces: [{dir: out, type: unix, name: e2e_fg, options: {autoflush: "100000"}}]
  - name: Processing
    modules:
      - name: repeater
        path: %[2]s/traffic_repeater
        interfaces:
          - {dir: in, type: unix, name: e2e_fg}
          - {dir: out, type: unix, name: e2e_rep, options: {autoflush: "100000"}}
  - name: Loggers
    modules:
      - name: logger
        path: %[2]s/logger
        args: [%[4]s]
        interfaces: [{dir: in, type: unix, name: e2e_rep}]
%[5]s  - name: Misbehaving
    modules:
      - name: crasher
        path: "false"
        restarts_per_minute: 2
      - name: stubborn
        path: /bin/sh
        args: [-c, "trap '' INT TERM; while :; do sleep 0.1; done"]
        stop_timeout: 1s
`, dir, bin, port, loggerArgs, cLogger)
}

// TestSupervisorRunsModuleChain is the acceptance 1: the chain runs
// under the supervisor binary, flows sent to flowgate show in the
// repeater's service-IFC counters on /v1/modules, a SIGKILLed module is
// back with a new PID within 3 s, a module that exits at once is
// auto-disabled, one that ignores SIGINT is killed after stop_timeout, and
// a reload that changes one module's args restarts only that module.
func TestSupervisorRunsModuleChain(t *testing.T) {
	netflow := testutil.SharedTestdata(t, "netflow")
	bin := supervisorBinaries(t)
	cbin := nemeaBin()
	clib := ""
	if cbin == "" {
		t.Log("C NEMEA modules not found (NEMEA_BIN or shared/nemea-c/bin): the chain runs without the C logger")
	} else {
		clib = nemeaLibs(t, cbin)
	}
	dir, err := os.MkdirTemp("", "supe2e")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("kept %s for inspection", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	port := freePort(t)
	cfg := filepath.Join(dir, "supervisor.yaml")
	os.WriteFile(cfg, []byte(supervisorChainYAML(dir, bin, cbin, clib, port, "-t")), 0o644)

	var stderr lockedBuffer
	sup := exec.Command(filepath.Join(bin, "supervisor"), "-c", cfg)
	sup.Stderr = &stderr
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sup.Wait() }()
	defer func() {
		if sup.ProcessState == nil {
			sup.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				sup.Process.Kill()
			}
		}
	}()
	c := supervisor.NewClient(filepath.Join(dir, "ctl.sock"))
	modules := func() map[string]supervisor.ModuleStatus {
		var list []supervisor.ModuleStatus
		if _, err := c.Do("GET", "/v1/modules", &list); err != nil {
			return nil
		}
		out := map[string]supervisor.ModuleStatus{}
		for _, m := range list {
			out[m.Name] = m
		}
		return out
	}
	t0 := time.Now()
	// waitFor polls the modules until cond holds. Its bound is generous
	// (testutil.WaitTimeout): how fast the supervisor reacts is logged,
	// not asserted, so that a loaded machine does not fail the test.
	waitFor := func(what string, cond func(map[string]supervisor.ModuleStatus) bool) map[string]supervisor.ModuleStatus {
		t.Helper()
		var ms map[string]supervisor.ModuleStatus
		if !testutil.Eventually(testutil.WaitTimeout, func() bool {
			ms = modules()
			return ms != nil && cond(ms)
		}) {
			t.Fatalf("timed out waiting for %s: %+v\nsupervisor: %s", what, ms, stderr.String())
		}
		t.Logf("%6.2fs %s", time.Since(t0).Seconds(), what)
		return ms
	}
	connectedIn := func(m supervisor.ModuleStatus) bool {
		return len(m.Inputs) == 1 && fmt.Sprint(m.Inputs[0]["ifc_state"]) == "1"
	}
	// The repeater takes its output format from its input, so the loggers
	// connect once the first flows went through: flows are sent twice,
	// the second time with every logger connected.
	waitFor("the repeater connected to flowgate", func(ms map[string]supervisor.ModuleStatus) bool {
		return connectedIn(ms["repeater"])
	})
	fgLog := filepath.Join(dir, "logs", "modules_logs", "flowgate_stderr")
	testutil.WaitFor(t, "flowgate collecting", func() bool {
		b, _ := os.ReadFile(fgLog)
		return bytes.Contains(b, []byte("running"))
	})
	f, err := os.Open(filepath.Join(netflow, "nfcapd171", "softflowd_v5.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := nfdumpCSVTotals(t, f)
	f.Close()
	dgrams, _ := capture(t, filepath.Join(netflow, "softflowd_v5.pcap"))
	send := func() {
		conn, err := net.Dial("udp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dgrams {
			conn.Write(d)
		}
		conn.Close()
	}
	counter := func(m supervisor.ModuleStatus) int {
		if len(m.Inputs) == 0 {
			return -1
		}
		var n int
		fmt.Sscan(fmt.Sprint(m.Inputs[0]["messages"]), &n)
		return n
	}
	send()
	loggers := []string{"logger"}
	if cbin != "" {
		loggers = append(loggers, "c_logger")
	}
	waitFor("the loggers connected", func(ms map[string]supervisor.ModuleStatus) bool {
		for _, l := range loggers {
			if !connectedIn(ms[l]) {
				return false
			}
		}
		return counter(ms["repeater"]) == want
	})
	send()
	ms := waitFor(fmt.Sprintf("2 x %d flows through the repeater, the second %d through each logger", want, want), func(ms map[string]supervisor.ModuleStatus) bool {
		if counter(ms["repeater"]) != 2*want {
			return false
		}
		for _, l := range loggers {
			if n := counter(ms[l]); n < want || n > 2*want {
				return false
			}
		}
		return true
	})
	for _, l := range loggers {
		t.Logf("%s received %d messages (service IFC)", l, counter(ms[l]))
	}
	want *= 2
	if out := ms["repeater"].Outputs; len(out) != 1 || fmt.Sprint(out[0]["sent-messages"]) != fmt.Sprint(want) {
		t.Errorf("repeater outputs %v, want %d sent", out, want)
	}
	// supcli -x, as munin runs it.
	x, err := exec.Command(filepath.Join(bin, "supcli"), "-s", filepath.Join(dir, "ctl.sock"), "-x").Output()
	if err != nil || !bytes.Contains(x, []byte(`"repeater": {"CPU-u": `)) ||
		!bytes.Contains(x, []byte(fmt.Sprintf(`"messages": %d`, want))) {
		t.Errorf("supcli -x: %v %s", err, x)
	}

	// A module that exits at once is auto-disabled.
	waitFor("crasher auto-disabled", func(ms map[string]supervisor.ModuleStatus) bool {
		return ms["crasher"].AutoDisabled.Disabled
	})
	if m := modules()["crasher"]; m.RestartsTotal != 2 || m.Status != "failed" {
		t.Errorf("crasher: %d restarts, status %s; want 2 and failed", m.RestartsTotal, m.Status)
	}

	// SIGKILL: back with a new PID.
	old := ms["repeater"].PID
	syscall.Kill(old, syscall.SIGKILL)
	killed := time.Now()
	waitFor("the repeater back", func(ms map[string]supervisor.ModuleStatus) bool {
		return ms["repeater"].PID != 0 && ms["repeater"].PID != old
	})
	t.Logf("repeater back after %v", time.Since(killed).Round(time.Millisecond))

	// A module that ignores SIGINT is killed after its stop_timeout (1 s).
	stub := modules()["stubborn"].PID
	start := time.Now()
	if _, err := c.Do("POST", "/v1/modules/stubborn/disable", nil); err != nil {
		t.Fatal(err)
	}
	waitFor("stubborn stopped", func(ms map[string]supervisor.ModuleStatus) bool { return ms["stubborn"].PID == 0 })
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("stubborn stopped after %v, before its stop_timeout", el)
	}
	if m := modules()["stubborn"]; m.LastExit == nil || m.LastExit.Signal != "SIGKILL" {
		t.Errorf("stubborn last exit %+v, want SIGKILL", m.LastExit)
	}
	if left := groupMembers(stub); len(left) > 0 {
		t.Errorf("stubborn's process group survived: %v", left)
	}

	// A reload that changes the logger's args restarts the logger only.
	before := modules()
	os.WriteFile(cfg, []byte(supervisorChainYAML(dir, bin, cbin, clib, port, "-t, -v")), 0o644)
	var res supervisor.ReloadResult
	if _, err := c.Do("POST", "/v1/reload", &res); err != nil || !res.Applied || len(res.Modified) != 1 || res.Modified[0].Name != "logger" {
		t.Fatalf("reload: %v %+v", err, res)
	}
	after := waitFor("the logger restarted", func(ms map[string]supervisor.ModuleStatus) bool {
		return ms["logger"].PID != 0 && ms["logger"].PID != before["logger"].PID
	})
	for _, name := range []string{"flowgate", "repeater", "c_logger"} {
		if b, ok := before[name]; ok && after[name].PID != b.PID {
			t.Errorf("%s restarted by the reload (pid %d -> %d)", name, b.PID, after[name].PID)
		}
	}
	if got := strings.Join(after["logger"].Args, " "); got != "logger -t -v -i u:e2e_rep" {
		t.Errorf("logger argv after reload %q", got)
	}
	var metrics bytes.Buffer
	if err := c.Stream("/metrics", &metrics); err != nil || !strings.Contains(metrics.String(),
		`nemea_ifc_messages_total{module="repeater",dir="out",idx="0",type="u",id="e2e_rep"}`) {
		t.Errorf("/metrics: %v\n%s", err, metrics.String())
	}

	// SIGTERM stops every child before the supervisor exits.
	var pids []int
	for _, m := range modules() {
		if m.PID != 0 {
			pids = append(pids, m.PID)
		}
	}
	sup.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("supervisor exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("supervisor did not exit on SIGTERM")
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("module pid %d still runs after the supervisor exited", pid)
		}
	}
	ev, _ := os.ReadFile(filepath.Join(dir, "logs", "modules_events"))
	for _, line := range []string{"[START] Starting module repeater.", "Module: crasher was restarted 2 times per minute and it is down again. I set it disabled.",
		"Stopping module stubborn... sending SIGKILL", "[RELOAD] Reload applied: 0 inserted, 0 removed, 1 modified"} {
		if !bytes.Contains(ev, []byte(line)) {
			t.Errorf("modules_events lacks %q", line)
		}
	}
	if t.Failed() {
		t.Logf("events:\n%s", ev)
	}
}

// groupMembers lists the live (not zombie) processes of a process group.
func groupMembers(pgid int) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 2 && f[2] == fmt.Sprint(pgid) && f[0] != "Z" {
			out = append(out, e.Name()+" "+string(b[:i+1]))
		}
	}
	return out
}
