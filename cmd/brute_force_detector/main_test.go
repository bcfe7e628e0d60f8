package main

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowgate/flowgate/cmd/internal/detmod"
	"github.com/flowgate/flowgate/cmd/internal/dettest"
	"github.com/flowgate/flowgate/detectors/bruteforce"
	"github.com/flowgate/flowgate/internal/flowgen"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/unirec"
)

func TestMain(m *testing.M) { os.Exit(testutil.SocketDirMain(m)) }

func TestGoldenScenarios(t *testing.T) { dettest.Check(t, run, module.Name) }

// The whitelist is applied: whitelisting the attackers' victims (dst
// rules on the service port) silences every scenario.
func TestWhitelistSilences(t *testing.T) {
	wl := filepath.Join(t.TempDir(), "wl")
	if err := os.WriteFile(wl, []byte("# victims\ndst 192.168.30.0/24/22,23,3389\ndst 2001:db8:30::/48\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range dettest.Scenarios(t, module.Name) {
		if s.Name != "ssh_attack" {
			continue
		}
		s.Params = append(s.Params, "-w", wl)
		code, stderr, got := s.Run(t, run, module.Name)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if got != "" && strings.Count(got, "\n") > 1 {
			t.Fatalf("whitelisted victims still alerted:\n%s", got)
		}
	}
}

func TestExitCodes(t *testing.T) {
	s := dettest.Scenarios(t, module.Name)[0]
	tests := []struct {
		params []string
		code   int
		msg    string
	}{
		{nil, 3, "Detection mode is not set."},
		{[]string{"-S", "-x"}, 3, "unknown option"},
		{[]string{"-S", "-c", "/nonexistent/config.conf"}, 5, "configuration file"},
		{[]string{"-S", "-w", "/nonexistent/whitelist.wl"}, 5, "whitelist file"},
		{[]string{"-S", "--max-hosts", "0"}, 3, "at least 1"},
	}
	for _, tt := range tests {
		s.Params = tt.params
		code, stderr, _ := s.Run(t, run, module.Name)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tt.params, code, tt.code, stderr, tt.msg)
		}
	}
}

// A sender template without a field the detector reads fails at
// negotiation, naming it (ddos's input has no ports).
func TestMissingFieldNamed(t *testing.T) {
	dettest.CheckMissingField(t, run, module.Name, "ddos_detector", "flood_basic", "uint16 SRC_PORT", "-S")
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SIGUSR1 reloads the configuration and SIGUSR2 the whitelist; a file
// that cannot be read keeps what is in force, a bad line is named with
// its file and line and the rest loads.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cfgPath, wlPath := filepath.Join(dir, "bf.conf"), filepath.Join(dir, "bf.wl")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(cfgPath, "SSH_LIST_THRESHOLD = 40\n")
	write(wlPath, "src 10.0.0.0/8\n")
	var stderr syncBuf
	log := &syncWriter{w: &stderr}
	s := detmod.BruteForceSettings{Options: bruteforce.DefaultOptions(), Config: cfgPath, Wlist: wlPath}
	s.Options.Protocols[bruteforce.SSH] = true
	det, err := s.New(log)
	if err != nil {
		t.Fatal(err)
	}
	sigs, done := make(chan os.Signal), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { reload(s, det, log, sigs, done) })
	defer func() { close(done); wg.Wait() }()

	ten, _ := unirec.ParseIP("10.1.2.3")
	other, _ := unirec.ParseIP("192.0.2.1")
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(testutil.WaitTimeout); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s; stderr:\n%s", what, stderr.String())
			}
		}
	}
	if det.Config().Proto[bruteforce.SSH].ListThreshold != 40 || !wlOf(det).Whitelisted(ten, other, 1, 22) {
		t.Fatal("start-up files not applied")
	}

	write(cfgPath, "SSH_LIST_THRESHOLD = 12\nSSH_BOGUS = 1\n")
	sigs <- syscall.SIGUSR1
	wait("config not reloaded", func() bool { return det.Config().Proto[bruteforce.SSH].ListThreshold == 12 })
	wait("bad line not named", func() bool { return strings.Contains(stderr.String(), "bf.conf:2: unknown keyword SSH_BOGUS") })

	write(wlPath, "src 192.0.2.0/24\nsrc 10.0.0.0/33\n")
	sigs <- syscall.SIGUSR2
	wait("whitelist not reloaded", func() bool {
		return wlOf(det).Whitelisted(other, ten, 1, 22) && !wlOf(det).Whitelisted(ten, other, 1, 22)
	})
	wait("bad whitelist line not named", func() bool { return strings.Contains(stderr.String(), "bf.wl:2: bad prefix length") })

	os.Remove(cfgPath)
	os.Remove(wlPath)
	sigs <- syscall.SIGUSR1
	sigs <- syscall.SIGUSR2
	wait("failed reloads not reported", func() bool { return strings.Count(stderr.String(), "stays") == 2 })
	if det.Config().Proto[bruteforce.SSH].ListThreshold != 12 || !wlOf(det).Whitelisted(other, ten, 1, 22) {
		t.Fatal("a failed reload changed the settings")
	}
}

func wlOf(d *bruteforce.Detector) *bruteforce.Whitelist { return d.Whitelist() }

// Differential test against the C module on generated login traffic with
// random configurations and whitelists: first, continuing, end and
// timeout reports, list eviction, expiry, scans, IPv6.
func TestSameAlertsAsC(t *testing.T) {
	alerts := 0
	for seed := uint64(1); seed <= 8; seed++ {
		dir := t.TempDir()
		cfg, wl := flowgen.BruteForceConfig(seed)
		params := []string{"-S", "-R", "-T"}[:1+seed%3]
		if seed%4 == 3 {
			params = []string{"-T", "-R"}
		}
		if len(cfg) > 1 {
			p := filepath.Join(dir, "bf.conf")
			os.WriteFile(p, []byte(cfg), 0o644)
			params = append(params, "-c", p)
		}
		if wl != "" {
			p := filepath.Join(dir, "bf.wl")
			os.WriteFile(p, []byte(wl), 0o644)
			params = append(params, "-w", p)
		}
		out := dettest.CompareWithC(t, run, module.Name, dettest.Records(t, flowgen.FlowSpec, flowgen.BruteForceFlows(seed)), params...)
		alerts += max(strings.Count(out, "\n")-1, 0)
	}
	if alerts < 20 {
		t.Fatalf("only %d alerts over all seeds; the generator should make attacks", alerts)
	}
}

// The module itself reloads on the signals: a running module (waiting for
// a sender that never comes) reloads its configuration on SIGUSR1 and its
// whitelist on SIGUSR2, and stops when its context ends.
func TestReloadSignals(t *testing.T) {
	// The test process takes the signals too, so that one arriving before
	// the module listens cannot end the test binary.
	mine := make(chan os.Signal, 16)
	signal.Notify(mine, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(mine)

	dir := t.TempDir()
	cfg, wl := filepath.Join(dir, "bf.conf"), filepath.Join(dir, "bf.wl")
	os.WriteFile(cfg, []byte("SSH_LIST_THRESHOLD = 40\n"), 0o644)
	os.WriteFile(wl, []byte("src 10.0.0.0/8\n"), 0o644)
	t.Setenv("TRAP_SOCKET_DIR", dir)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuf
	done := make(chan int)
	go func() {
		var stdout bytes.Buffer
		done <- run(ctx, []string{module.Name, "-i", "u:nobody-sends,b:", "-S", "-c", cfg, "-w", wl}, &stdout, &stderr)
	}()
	for _, s := range []struct {
		sig  syscall.Signal
		want string
	}{{syscall.SIGUSR1, "Configuration reloaded from " + cfg}, {syscall.SIGUSR2, "Whitelist reloaded from " + wl + ": 1 rules"}} {
		deadline := time.Now().Add(testutil.WaitTimeout)
		for !strings.Contains(stderr.String(), s.want) {
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("no %q after %v; stderr:\n%s", s.want, s.sig, stderr.String())
			}
			syscall.Kill(os.Getpid(), s.sig)
			time.Sleep(50 * time.Millisecond)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("the module did not stop when its context ended")
	}
}
