package supervisor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
)

// The test binary doubles as the modules the supervisor runs: with
// SUPTEST_MODULE set it behaves as that kind of module instead of running
// the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SUPTEST_MODULE"); mode != "" {
		os.Exit(fakeModule(mode, os.Args))
	}
	os.Exit(m.Run())
}

// fakeModule is a module for the supervisor's tests:
//   - serve: a Go TRAP module (its -i interfaces, service IFC) that stops on SIGINT;
//   - exit: exits 1 at once;
//   - ignore: ignores SIGINT and SIGTERM, sleeps;
//   - garbage, hang, midclose: a service IFC that answers junk, never
//     answers, or closes in the middle of a reply.
func fakeModule(mode string, argv []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dir := os.Getenv("TRAP_SOCKET_DIR")
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fake module: exiting at once")
		return 1
	case "ignore":
		stop()
		signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
		fmt.Println("fake module ignoring SIGINT")
		time.Sleep(time.Hour)
		return 0
	case "serve":
		spec := ""
		for i, a := range argv {
			if a == "-i" && i+1 < len(argv) {
				spec = argv[i+1]
			}
		}
		sps, err := trap.ParseIFCSpec(spec)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mod := trap.Module{Name: "fake", Outputs: len(sps)}
		c, _, err := trap.Init(ctx, mod, []string{argv[0], "-i", spec})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("fake module serving", spec)
		<-ctx.Done()
		c.Finalize(context.Background())
		return 0
	case "garbage", "hang", "midclose":
		path := trap.ServiceSocketPath(dir, os.Getpid())
		ln, err := net.Listen("unix", path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go misbehave(mode, c)
			}
		}()
		<-ctx.Done()
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown SUPTEST_MODULE", mode)
	return 2
}

func misbehave(mode string, c net.Conn) {
	defer c.Close()
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		switch mode {
		case "garbage":
			c.Write([]byte("HTTP/1.0 400 nonsense\r\n\r\n"))
		case "hang":
			time.Sleep(time.Hour)
		case "midclose":
			body := []byte(`{"in_cnt": 0, "out_cnt": 0, "in": [], "out": []}` + "\x00")
			var h [8]byte
			h[0] = 12
			binary.LittleEndian.PutUint32(h[4:], uint32(len(body)))
			c.Write(h[:])
			c.Write(body[:10])
			return
		}
	}
}

// env is a supervisor set up in temporary directories.
type env struct {
	t       *testing.T
	dir     string
	cfgPath string
	sup     *Supervisor
	cancel  context.CancelFunc
	done    chan error
	sock    string
	client  *Client
}

func shortDir(t testing.TB) string { return testutil.ShortDir(t) }

// selfPath is the test binary, run as the fake modules.
func selfPath(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeYAML renders a module of the test binary in the given mode.
func fakeYAML(name, mode, ifcs string, extra string) string {
	return fmt.Sprintf(`      - name: %s
        path: %s
        env: { SUPTEST_MODULE: %s }
%s%s`, name, os.Args[0], mode, ifcs, extra)
}

// startEnv writes the configuration (profiles text under "profiles:") and
// runs a supervisor on it with its control socket.
func startEnv(t *testing.T, profiles string) *env {
	t.Helper()
	dir := shortDir(t)
	e := &env{t: t, dir: dir, cfgPath: filepath.Join(dir, "sup.yaml"), sock: filepath.Join(dir, "ctl.sock")}
	e.writeConfig(profiles)
	cfg, err := LoadYAML(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	e.sup, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	ln, err := ListenControl(e.sock, 0o600, "")
	if err != nil {
		t.Fatal(err)
	}
	srvCtx, srvCancel := context.WithCancel(context.Background())
	go e.sup.ServeControl(srvCtx, ln)
	go func() { e.done <- e.sup.Run(ctx) }()
	e.client = NewClient(e.sock)
	t.Cleanup(func() {
		e.stop()
		srvCancel()
	})
	return e
}

func (e *env) writeConfig(profiles string) {
	e.t.Helper()
	abs, _ := filepath.Abs(os.Args[0])
	profiles = strings.ReplaceAll(profiles, os.Args[0], abs)
	// stop_timeout is generous: a module that stops on SIGINT must never
	// be killed because a loaded machine made it slow (a test of the
	// timeout sets a short one on its module).
	cfg := fmt.Sprintf(`version: 1
supervisor:
  socket: %s
  logs_dir: %s
  trap_socket_dir: %s
  stats_interval: 100ms
  stats_timeout: 300ms
  stop_timeout: 30s
profiles:
%s`, filepath.Join(e.dir, "ctl.sock"), filepath.Join(e.dir, "logs"), e.dir, profiles)
	if err := os.WriteFile(filepath.Join(e.dir, "sup.yaml"), []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case <-e.done:
	case <-time.After(testutil.WaitTimeout):
		e.t.Error("supervisor did not stop")
	}
}

// waitFor polls cond until it holds; after testutil.WaitTimeout the
// test fails. How fast the supervisor is is never asserted: a loaded
// machine makes it slow, not wrong.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	if !testutil.Eventually(testutil.WaitTimeout, cond) {
		b, _ := json.MarshalIndent(e.sup.Modules(), "", " ")
		e.t.Fatalf("still waiting for %s after %v; modules:\n%s", what, testutil.WaitTimeout, b)
	}
}

func (e *env) module(name string) ModuleStatus {
	e.t.Helper()
	m, ok := e.sup.Module(name)
	if !ok {
		e.t.Fatalf("no module %s", name)
	}
	return m
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }
