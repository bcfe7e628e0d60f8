// Package supervisor runs a graph of NEMEA modules (C, Python or Go alike):
// it starts them with the command line the C Nemea-Supervisor builds,
// restarts those that die within a per-minute limit, stops them with a
// signal and then SIGKILL to their process group, polls their service IFC
// for interface counters, samples CPU and memory, writes the module and
// event logs, reloads its configuration, and serves the legacy control
// socket, an HTTP/JSON API, Prometheus metrics and a status page
// (spec/supervisor.md).
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/trap"
)

// Version is reported by the info views and the API.
const Version = "1.0.0"

// tickInterval is how often the control loop reconciles desired and actual
// state when nothing else wakes it.
const tickInterval = 100 * time.Millisecond

// restartDelay is the least time between a module's death and its restart
// (the C supervisor restarts at the next period).
const restartDelay = 300 * time.Millisecond

// ExitInfo is how a module's process ended, or why it could not start.
type ExitInfo struct {
	Code    int       `json:"code"`
	Signal  string    `json:"signal,omitempty"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
	Runtime float64   `json:"runtime_s"`
}

func (e *ExitInfo) String() string {
	switch {
	case e.Error != "":
		return "failed to start: " + e.Error
	case e.Signal != "":
		return fmt.Sprintf("killed by %s after %.2f s", e.Signal, e.Runtime)
	}
	return fmt.Sprintf("exited with code %d after %.2f s", e.Code, e.Runtime)
}

// svcState is what the last service IFC poll of a module found.
type svcState struct {
	pid       int // the process that answered
	connected bool
	lastOK    time.Time
	errKind   string
	err       string
	inCnt     int
	outCnt    int
	in, out   []map[string]any
}

// module is the runtime state of one configured module.
type module struct {
	spec         *ModuleSpec
	enabled      bool
	autoDisabled bool
	autoReason   string
	autoAt       time.Time
	removed      bool
	restartReq   bool
	completed    bool

	cmd          *exec.Cmd
	pid          int
	startedAt    time.Time
	stopping     bool
	stopDeadline time.Time
	killed       bool

	startsSinceEnable int
	restarts          []time.Time
	restartsTotal     int
	lastExit          *ExitInfo

	svc        svcState
	lastIn     []map[string]any // the last known interface stats of a stopped module
	lastOut    []map[string]any
	pollCh     chan struct{}
	pollCancel context.CancelFunc

	prevU, prevS   uint64
	cpuU, cpuS     int
	userS, sysS    float64
	vms, rss       uint64
	statsAt        time.Time
	svcWarnedAfter bool
}

type exitEvent struct {
	m     *module
	cmd   *exec.Cmd
	err   error
	state *os.ProcessState
}

// Supervisor runs the modules of one configuration.
type Supervisor struct {
	log    *zap.Logger
	events *EventLog

	mu       sync.Mutex
	cfg      *Config
	mods     []*module
	byName   map[string]*module
	profiles map[string]bool
	shutdown bool
	cpuTotal uint64

	wake    chan struct{}
	exits   chan exitEvent
	started time.Time
	tick    atomic.Int64 // unix nanoseconds of the last control-loop pass

	reloadMu       sync.Mutex
	lastReloadOK   atomic.Bool
	lastReloadTime atomic.Int64

	pollers sync.WaitGroup
}

// New prepares a supervisor for cfg. Logs go to cfg.Settings.LogsDir, which
// is created if needed; log may be nil.
func New(cfg *Config, log *zap.Logger) (*Supervisor, error) {
	if log == nil {
		log = zap.NewNop()
	}
	dir := cfg.Settings.LogsDir
	if err := os.MkdirAll(filepath.Join(dir, "modules_logs"), 0o775); err != nil {
		return nil, fmt.Errorf("supervisor: logs directory: %w", err)
	}
	ev, err := openEventLog(dir)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		log: log, events: ev, cfg: cfg, byName: map[string]*module{}, profiles: map[string]bool{},
		wake: make(chan struct{}, 1), exits: make(chan exitEvent, 64), started: time.Now(),
	}
	for _, p := range cfg.Profiles {
		s.profiles[p.Name] = p.Enabled
	}
	for _, spec := range cfg.Modules {
		m := &module{spec: spec, enabled: spec.Enabled}
		s.mods = append(s.mods, m)
		s.byName[spec.Name] = m
	}
	for _, w := range cfg.Warnings {
		log.Warn("supervisor config", zap.String("warning", w))
	}
	s.lastReloadOK.Store(true)
	s.lastReloadTime.Store(time.Now().UnixNano())
	return s, nil
}

// Events returns the event log.
func (s *Supervisor) Events() *EventLog { return s.events }

// Config returns the loaded configuration.
func (s *Supervisor) Config() *Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

func (s *Supervisor) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run runs the control loop until ctx ends, then stops every module (each
// with its stop signal, then SIGKILL after its stop_timeout) and returns.
func (s *Supervisor) Run(ctx context.Context) error {
	defer s.events.Close()
	ticker := time.NewTicker(tickInterval)
	defer ticker.Stop()
	interval := s.Config().Settings.StatsInterval
	stats := time.NewTicker(interval)
	defer stats.Stop()
	statLog := time.NewTicker(time.Minute)
	defer statLog.Stop()
	s.writeStatisticsLegend()
	s.reconcile()
	s.sample()
	done := ctx.Done()
	var deadline <-chan time.Time
	for {
		select {
		case <-done:
			s.mu.Lock()
			s.shutdown = true
			var longest time.Duration
			for _, m := range s.mods {
				longest = max(longest, m.spec.StopTimeout)
			}
			s.mu.Unlock()
			s.events.Add("", "SHUTDOWN", 0, "stopping every module")
			done = nil
			deadline = time.After(longest + 2*time.Second)
		case <-deadline:
			s.log.Error("supervisor: modules still running at exit", zap.Strings("modules", s.runningNames()))
			s.pollers.Wait()
			return nil
		case ev := <-s.exits:
			s.handleExit(ev)
		case <-s.wake:
		case <-ticker.C:
		case <-stats.C:
			s.sample()
			if iv := s.Config().Settings.StatsInterval; iv != interval {
				interval = iv
				stats.Reset(iv)
			}
		case <-statLog.C:
			s.writeStatistics()
		}
		s.reconcile()
		if done == nil && len(s.runningNames()) == 0 {
			s.pollers.Wait()
			return nil
		}
	}
}

// Healthy reports whether the control loop ticked recently enough.
func (s *Supervisor) Healthy() bool {
	iv := s.Config().Settings.StatsInterval
	return time.Since(time.Unix(0, s.tick.Load())) < 3*max(iv, time.Second)
}

func (s *Supervisor) runningNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.mods {
		if m.pid != 0 {
			out = append(out, m.spec.Name)
		}
	}
	return out
}

func (m *module) wanted(s *Supervisor) bool {
	return !s.shutdown && !m.removed && m.enabled && s.profiles[m.spec.Profile] && !m.autoDisabled && !m.completed && !m.restartReq
}

// reconcile starts, restarts, auto-disables and stops modules so that
// what runs matches what is wanted.
func (s *Supervisor) reconcile() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.tick.Store(now.UnixNano())
	for _, m := range s.mods {
		want := m.wanted(s)
		switch {
		case want && m.pid == 0:
			if m.lastExit != nil && now.Sub(m.lastExit.At) < restartDelay && m.startsSinceEnable > 0 {
				continue
			}
			s.startOrDisable(m, now)
		case !want && m.pid != 0 && !m.stopping:
			m.stopping, m.stopDeadline = true, now.Add(m.spec.StopTimeout)
			s.events.Add(m.spec.Name, "STOP", m.pid, fmt.Sprintf("Stopping module %s... sending %s", m.spec.Name, sigName(m.spec.StopSignal)))
			if err := signalGroup(m.pid, m.spec.StopSignal); err != nil {
				s.log.Warn("supervisor: signalling module", zap.String("module", m.spec.Name), zap.Error(err))
			}
		case m.stopping && m.pid != 0 && !m.killed && !now.Before(m.stopDeadline):
			m.killed = true
			s.events.Add(m.spec.Name, "STOP", m.pid, fmt.Sprintf("Stopping module %s... sending SIGKILL", m.spec.Name))
			signalGroup(m.pid, syscall.SIGKILL)
		}
	}
}

func sigName(sig syscall.Signal) string {
	for name, s := range stopSignals {
		if s == sig {
			return name
		}
	}
	return sig.String()
}

// startOrDisable applies the restart policy (spec §1.6, §5.1) to a module
// that should run and does not, then starts it.
func (s *Supervisor) startOrDisable(m *module, now time.Time) {
	name := m.spec.Name
	if m.startsSinceEnable > 0 {
		switch {
		case m.spec.Restart == RestartNever,
			m.spec.Restart == RestartOnFailure && m.lastExit != nil && m.lastExit.Error == "" && m.lastExit.Signal == "" && m.lastExit.Code == 0:
			m.completed = true
			s.events.Add(name, "COMPLETED", 0, fmt.Sprintf("Module %s completed (restart: %s); not restarting it.", name, m.spec.Restart))
			return
		}
		window := s.cfg.Settings.RestartWindow
		kept := m.restarts[:0]
		for _, t := range m.restarts {
			if now.Sub(t) < window {
				kept = append(kept, t)
			}
		}
		m.restarts = kept
		if limit := m.spec.RestartsPerMinute; limit >= 0 && len(m.restarts) >= limit {
			m.autoDisabled, m.autoAt = true, now
			m.autoReason = fmt.Sprintf("restarted %d times within %v and down again", limit, window)
			if m.lastExit != nil {
				m.autoReason += " (last: " + m.lastExit.String() + ")"
			}
			s.events.Add(name, "RESTART", 0, fmt.Sprintf("Module: %s was restarted %d times per minute and it is down again. I set it disabled.", name, limit))
			return
		}
		m.restarts = append(m.restarts, now)
		m.restartsTotal++
		s.events.Add(name, "RESTART", 0, "Restarting module "+name)
	} else {
		s.events.Add(name, "START", 0, "Starting module "+name+".")
	}
	m.startsSinceEnable++
	s.spawn(m, now)
}

// spawn starts the module's process. A failure to start counts as a death.
func (s *Supervisor) spawn(m *module, now time.Time) {
	fail := func(err error) {
		m.lastExit = &ExitInfo{Code: -1, Error: err.Error(), At: now}
		s.events.Add(m.spec.Name, "ERROR", 0, fmt.Sprintf("Module %s failed to start: %v", m.spec.Name, err))
	}
	argv := m.spec.Argv()
	stdout, stderr, err := moduleLogs(filepath.Join(s.cfg.Settings.LogsDir, "modules_logs"), m.spec.Name, m.spec.Path, argv, now)
	if err != nil {
		fail(fmt.Errorf("cannot open module log: %w", err))
		return
	}
	cmd := newCmd(m.spec, s.cfg.Settings.TrapSocketDir, stdout, stderr)
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		fail(err)
		return
	}
	m.cmd, m.pid, m.startedAt = cmd, cmd.Process.Pid, now
	m.stopping, m.killed = false, false
	m.prevU, m.prevS, m.cpuU, m.cpuS = 0, 0, 0, 0
	m.svc = svcState{}
	m.svcWarnedAfter = false
	s.log.Info("supervisor: started module", zap.String("module", m.spec.Name), zap.Int("pid", m.pid), zap.Strings("argv", argv))
	go func() {
		err := cmd.Wait()
		s.exits <- exitEvent{m: m, cmd: cmd, err: err, state: cmd.ProcessState}
	}()
	if m.spec.ServiceIFC {
		ctx, cancel := context.WithCancel(context.Background())
		m.pollCh, m.pollCancel = make(chan struct{}, 1), cancel
		s.pollers.Add(1)
		go s.pollLoop(ctx, m, m.pid, now, m.pollCh, s.cfg.Settings.TrapSocketDir, s.cfg.Settings.StatsTimeout)
	}
}

// handleExit records a module's death, cleans its sockets and stops its
// poller.
func (s *Supervisor) handleExit(ev exitEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := ev.m
	if m.cmd != ev.cmd {
		return
	}
	now := time.Now()
	ex := &ExitInfo{At: now, Runtime: now.Sub(m.startedAt).Seconds()}
	if ws, ok := ev.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ex.Signal, ex.Code = sigName(ws.Signal()), -1
	} else {
		ex.Code = ev.state.ExitCode()
	}
	m.lastExit = ex
	pid := m.pid
	s.events.Add(m.spec.Name, "STOP", pid, fmt.Sprintf("%s (PID %d) %s", m.spec.Name, pid, ex))
	if m.stopping {
		// Whatever is left of the process group goes too.
		signalGroup(pid, syscall.SIGKILL)
	}
	s.cleanSockets(m, pid)
	if m.pollCancel != nil {
		m.pollCancel()
		m.pollCancel, m.pollCh = nil, nil
	}
	if m.svc.pid == pid && (m.svc.in != nil || m.svc.out != nil) {
		m.lastIn, m.lastOut = m.svc.in, m.svc.out
	}
	m.svc = svcState{}
	stopped := m.stopping
	m.cmd, m.pid, m.stopping, m.killed = nil, 0, false, false
	m.cpuU, m.cpuS, m.vms, m.rss = 0, 0, 0, 0
	m.restartReq = false
	if stopped {
		// Stopped on purpose (disable, profile, restart, reload): the next
		// start is a first start, not a restart.
		m.startsSinceEnable, m.restarts = 0, nil
	}
	if m.removed {
		s.dropModule(m)
	}
	s.poke()
}

// cleanSockets removes the UNIX output sockets and the service socket a
// dead module leaves behind (spec §1.7, §5.4).
func (s *Supervisor) cleanSockets(m *module, pid int) {
	dir := s.cfg.Settings.TrapSocketDir
	var paths []string
	for _, ifc := range m.spec.Interfaces {
		if !ifc.In && ifc.Kind == trap.KindUNIX {
			name, _, _ := strings.Cut(ifc.Spec, ":")
			paths = append(paths, filepath.Join(dir, "trap-"+name+".sock"))
		}
	}
	if m.spec.ServiceIFC {
		paths = append(paths, trap.ServiceSocketPath(dir, pid))
	}
	for _, p := range paths {
		if err := os.Remove(p); err == nil {
			s.events.Add(m.spec.Name, "CLEAN", pid, fmt.Sprintf("Deleting socket %s - module %s", p, m.spec.Name))
		}
	}
}

func (s *Supervisor) dropModule(m *module) {
	for i, x := range s.mods {
		if x == m {
			s.mods = append(s.mods[:i], s.mods[i+1:]...)
			break
		}
	}
	if s.byName[m.spec.Name] == m {
		delete(s.byName, m.spec.Name)
	}
}

// pollLoop owns the service IFC connection of one process. It connects
// 0.5, 1, 2, 4 and 8 s after the start, then every 30 s, and asks for
// statistics on every trigger, each exchange bounded by timeout, so a
// module that hangs or answers garbage delays nobody else.
func (s *Supervisor) pollLoop(ctx context.Context, m *module, pid int, started time.Time, trigger <-chan struct{}, dir string, timeout time.Duration) {
	defer s.pollers.Done()
	path := trap.ServiceSocketPath(dir, pid)
	schedule := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	var conn *svcConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	attempt, next := 0, started.Add(schedule[0])
	backoff := func(now time.Time) {
		if attempt < len(schedule) {
			next = now.Add(schedule[attempt])
		} else {
			next = now.Add(30 * time.Second)
		}
		attempt++
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-trigger:
		}
		now := time.Now()
		if conn == nil {
			if now.Before(next) {
				continue
			}
			c, err := dialService(path, timeout)
			if err != nil {
				backoff(now)
				s.setSvc(m, pid, nil, &SvcError{Kind: SvcConnect, Msg: err.Error()})
				continue
			}
			conn = c
			s.events.Add(m.spec.Name, "SERVICE", pid, "Connected to module "+m.spec.Name+".")
		}
		st, err := conn.Query(timeout)
		if err != nil {
			// The next connects back off as after failed connects, so a
			// module that keeps answering garbage costs a try every 30 s.
			conn.Close()
			conn = nil
			backoff(now)
			s.events.Add(m.spec.Name, "SERVICE", pid, fmt.Sprintf("Disconnecting from module %s: %v", m.spec.Name, err))
		}
		if err == nil {
			attempt = 0
		}
		s.setSvc(m, pid, st, err)
	}
}

func (s *Supervisor) setSvc(m *module, pid int, st *ServiceStats, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.pid != pid {
		return
	}
	now := time.Now()
	if err != nil {
		var se *SvcError
		kind := SvcIO
		if errors.As(err, &se) {
			kind = se.Kind
		}
		m.svc.connected = false
		m.svc.errKind, m.svc.err = kind, err.Error()
		if kind == SvcConnect && m.svc.lastOK.IsZero() && now.Sub(m.startedAt) > time.Minute && !m.svcWarnedAfter {
			m.svcWarnedAfter = true
			s.events.Add(m.spec.Name, "SERVICE", pid, fmt.Sprintf("Error while connecting to module %s with socket %q", m.spec.Name, trap.ServiceSocketPath(s.cfg.Settings.TrapSocketDir, pid)))
		}
		return
	}
	if m.svc.pid == pid && m.svc.inCnt != st.InCnt {
		s.events.Add(m.spec.Name, "SERVICE", pid, fmt.Sprintf("Number of %q input interfaces has changed (%d -> %d).", m.spec.Name, m.svc.inCnt, st.InCnt))
	}
	if m.svc.pid == pid && m.svc.outCnt != st.OutCnt {
		s.events.Add(m.spec.Name, "SERVICE", pid, fmt.Sprintf("Number of %q output interfaces has changed (%d -> %d).", m.spec.Name, m.svc.outCnt, st.OutCnt))
	}
	m.svc = svcState{pid: pid, connected: true, lastOK: now, inCnt: st.InCnt, outCnt: st.OutCnt, in: st.In, out: st.Out}
}

// sample reads CPU and memory of every running module (spec §1.8) and
// triggers the service IFC polls.
func (s *Supervisor) sample() {
	total, terr := readCPUTotal()
	type job struct {
		m   *module
		pid int
	}
	s.mu.Lock()
	var jobs []job
	for _, m := range s.mods {
		if m.pid != 0 {
			jobs = append(jobs, job{m, m.pid})
			if m.pollCh != nil {
				select {
				case m.pollCh <- struct{}{}:
				default:
				}
			}
		}
	}
	s.mu.Unlock()
	samples := make([]procSample, len(jobs))
	oks := make([]bool, len(jobs))
	for i, j := range jobs {
		var err error
		samples[i], err = readProcStat(j.pid)
		oks[i] = err == nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	diff := total - s.cpuTotal
	if terr != nil || s.cpuTotal == 0 || total <= s.cpuTotal {
		diff = 0
	}
	s.cpuTotal = total
	now := time.Now()
	for i, j := range jobs {
		m, ps := j.m, samples[i]
		if !oks[i] || m.pid != j.pid {
			continue
		}
		if diff > 0 {
			m.cpuU = int(100 * (ps.utime - min(m.prevU, ps.utime)) / diff)
			m.cpuS = int(100 * (ps.stime - min(m.prevS, ps.stime)) / diff)
		}
		m.prevU, m.prevS = ps.utime, ps.stime
		m.userS, m.sysS = float64(ps.utime)/clockTicks, float64(ps.stime)/clockTicks
		m.vms, m.rss, m.statsAt = ps.vsize, ps.rss, now
	}
}

// ErrUnknown is returned for a module or profile name not in the
// configuration.
var ErrUnknown = errors.New("unknown name")

// ErrRejected is returned for a request that cannot be applied now.
var ErrRejected = errors.New("rejected")

// Enable sets a module's switch on. It clears an auto-disable and resets the
// restart window (spec §5.13).
func (s *Supervisor) Enable(name string) error {
	return s.setEnabled(name, true)
}

// Disable sets a module's switch off; it is stopped.
func (s *Supervisor) Disable(name string) error {
	return s.setEnabled(name, false)
}

func (s *Supervisor) setEnabled(name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byName[name]
	if m == nil || m.removed {
		return fmt.Errorf("%w: module %q", ErrUnknown, name)
	}
	if on {
		if err := s.conflict(m); err != nil {
			return err
		}
		if !m.enabled || m.autoDisabled || m.completed {
			m.startsSinceEnable, m.restarts = 0, nil
		}
		m.enabled, m.autoDisabled, m.autoReason, m.completed = true, false, "", false
		s.events.Add(name, "ENABLED", m.pid, "Module "+name+" enabled.")
	} else {
		m.enabled = false
		s.events.Add(name, "DISABLED", m.pid, "Module "+name+" disabled.")
	}
	s.poke()
	return nil
}

// conflict rejects enabling a module whose UNIX output name or TCP port is
// an output of another effectively enabled module (spec §5.4).
func (s *Supervisor) conflict(m *module) error {
	for _, ifc := range m.spec.Interfaces {
		k := ifc.socketKey()
		if k == "" {
			continue
		}
		for _, o := range s.mods {
			if o == m || !o.enabled || !s.profiles[o.spec.Profile] || o.removed {
				continue
			}
			for _, oi := range o.spec.Interfaces {
				if oi.socketKey() == k {
					return fmt.Errorf("%w: module %s outputs on %s, which enabled module %s already uses", ErrRejected, m.spec.Name, k, o.spec.Name)
				}
			}
		}
	}
	return nil
}

// SetProfile sets a profile's switch.
func (s *Supervisor) SetProfile(name string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.profiles[name]; !ok {
		return fmt.Errorf("%w: profile %q", ErrUnknown, name)
	}
	s.profiles[name] = on
	s.events.Add("", "PROFILE", 0, fmt.Sprintf("Profile %q %s.", name, map[bool]string{true: "enabled", false: "disabled"}[on]))
	s.poke()
	return nil
}

// Restart stops a running, enabled module and starts it again. It resets
// the restart counter and does not count toward the limit.
func (s *Supervisor) Restart(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byName[name]
	if m == nil || m.removed {
		return fmt.Errorf("%w: module %q", ErrUnknown, name)
	}
	if m.pid == 0 || !m.wanted(s) {
		return fmt.Errorf("%w: module %s is not enabled and running", ErrRejected, name)
	}
	m.restartReq = true
	s.events.Add(name, "RESTART", m.pid, "Restart of module "+name+" requested.")
	s.poke()
	return nil
}
