package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var lookPath = exec.LookPath

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// procSample is one reading of a process's /proc files.
type procSample struct {
	utime, stime uint64 // jiffies
	start        uint64 // jiffies after boot (field 22)
	vsize        uint64 // bytes
	rss          uint64 // bytes (VmRSS)
}

// readProcStat reads fields 14, 15, 22 and 23 of /proc/<pid>/stat, parsed
// after the last ')' so a comm with spaces does not shift them, and VmRSS
// from /proc/<pid>/status.
func readProcStat(pid int) (procSample, error) {
	var s procSample
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return s, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state).
	if len(f) < 21 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	u := func(k int) uint64 { v, _ := strconv.ParseUint(f[k-3], 10, 64); return v }
	s.utime, s.stime, s.start, s.vsize = u(14), u(15), u(22), u(23)
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return s, err
	}
	if j := bytes.Index(st, []byte("\nVmRSS:")); j >= 0 {
		line := st[j+7:]
		if e := bytes.IndexByte(line, '\n'); e >= 0 {
			line = line[:e]
		}
		fs := strings.Fields(string(line))
		if len(fs) > 0 {
			kb, _ := strconv.ParseUint(fs[0], 10, 64)
			s.rss = kb * 1024
		}
	}
	return s, nil
}

// readCPUTotal sums every field of the first line of /proc/stat (jiffies).
func readCPUTotal() (uint64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var sum uint64
	for _, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		sum += n
	}
	return sum, nil
}

// moduleLogs opens the module's stdout and stderr files in append mode and
// writes the start marker lines of spec §1.3 to both.
func moduleLogs(dir, name, path string, argv []string, now time.Time) (stdout, stderr *os.File, err error) {
	if err := os.MkdirAll(dir, 0o775); err != nil {
		return nil, nil, err
	}
	open := func(suffix string) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, name+suffix), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	}
	if stdout, err = open("_stdout"); err != nil {
		return nil, nil, err
	}
	if stderr, err = open("_stderr"); err != nil {
		stdout.Close()
		return nil, nil, err
	}
	marker := fmt.Sprintf("---> %s\n%s [INFO] Supervisor - executed command: %s", now.Format(ctimeLayout), now.Format(ctimeLayout), path)
	for _, a := range argv[1:] {
		marker += "   " + a
	}
	marker += "\n"
	stdout.WriteString(marker)
	stderr.WriteString(marker)
	return stdout, stderr, nil
}

// ctimeLayout is asctime's format: "Mon Aug 14 22:19:40 2023".
const ctimeLayout = "Mon Jan _2 15:04:05 2006"

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error {
	return syscall.Kill(-pid, sig)
}

// newCmd prepares a module's process: argv[0] is the module name, a new
// session (its own process group), stdin from /dev/null, the supervisor's
// environment plus TRAP_SOCKET_DIR and the module's env.
func newCmd(m *ModuleSpec, trapDir string, stdout, stderr *os.File) *exec.Cmd {
	argv := m.Argv()
	cmd := &exec.Cmd{Path: m.Path, Args: argv, Stdout: stdout, Stderr: stderr}
	if p, err := lookPath(m.Path); err == nil {
		cmd.Path = p
	}
	cmd.Env = append(os.Environ(), "TRAP_SOCKET_DIR="+trapDir)
	cmd.Env = append(cmd.Env, sortedEnv(m.Env)...)
	cmd.Dir = m.Workdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}
