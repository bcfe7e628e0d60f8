package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// TestMain lets the test binary act as the logreplay binary, with main's
// signal handling: LOGREPLAY_AS_PROCESS runs the module on its argv.
func TestMain(m *testing.M) {
	if os.Getenv("LOGREPLAY_AS_PROCESS") != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, append([]string{"logreplay"}, os.Args[1:]...), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(testutil.SocketDirMain(m))
}

// A real SIGTERM ends a logreplay process whose only client stopped
// reading, where the C logreplay has to be killed with SIGKILL.
func TestLogreplayProcessEndsOnSIGTERM(t *testing.T) {
	dir := testutil.ShortDir(t)
	csv := filepath.Join(dir, "many.csv")
	var b strings.Builder
	b.WriteString("uint32 PACKETS\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-i", "u:sig:buffer_count=2:buffer_size=200", "-f", csv, "-d")
	cmd.Env = append(os.Environ(), "LOGREPLAY_AS_PROCESS=1", "TRAP_SOCKET_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	sock := filepath.Join(dir, "trap-sig.sock")
	testutil.WaitFor(t, "logreplay's output socket", func() bool { return testutil.UnixListening(sock) })
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hello [8]byte
	if _, err := conn.Read(hello[:]); err != nil { // then never read again
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the sender block on the full ring
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatalf("logreplay still running %v after SIGTERM", testutil.WaitTimeout)
	}
}
