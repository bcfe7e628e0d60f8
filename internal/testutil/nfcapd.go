package testutil

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nfcapdSentinel is a datagram nfcapd reads and discards (no NetFlow
// version it knows). Once nfcapd has taken it off its socket, it has
// finished with every datagram sent before it: nfcapd reads and processes
// one datagram at a time.
var nfcapdSentinel = []byte{0, 0, 0, 0}

// NfcapdFiles sends dgrams to a private nfcapd (the installed one; the test
// is skipped without it) on a loopback UDP port and returns the files it
// wrote, in a temporary folder of the test, once it has stored them all
// and ended. It waits on conditions, not on time:
//   - the port: a free one, and nfcapd's own socket on it in
//     /proc/net/udp (when another process took the port first, nfcapd
//     exits and the next free port is tried);
//   - the end: nfcapd has read a sentinel sent after dgrams (its receive
//     queue is empty), so it has processed all of them; then SIGTERM, and
//     nfcapd writes its file and exits.
//
// nfcapd runs with TZ=UTC and one file an hour (a run across the hour
// gives two files).
func NfcapdFiles(t testing.TB, dgrams [][]byte) []string {
	t.Helper()
	if _, err := exec.LookPath("nfcapd"); err != nil {
		t.Skip("nfcapd not installed")
	}
	dir := t.TempDir()
	var (
		cmd    *exec.Cmd
		exited chan struct{}
		stderr bytes.Buffer
		sock   UDPSocket
	)
	for attempt := 1; ; attempt++ {
		port, err := freeUDPPort()
		if err != nil {
			t.Fatal(err)
		}
		stderr.Reset()
		cmd = exec.Command("nfcapd", "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", dir, "-t", "3600")
		cmd.Env = append(os.Environ(), "TZ=UTC")
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting nfcapd: %v", err)
		}
		exited = make(chan struct{})
		go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(cmd, exited)
		bound := false
		WaitFor(t, "nfcapd to bind its port or exit", func() bool {
			select {
			case <-exited:
				return true
			default:
			}
			s, ok, err := OwnedUDPSocket(cmd.Process.Pid, port)
			if err != nil {
				t.Fatal(err)
			}
			sock, bound = s, ok
			return ok
		})
		if bound {
			break
		}
		if attempt == 5 {
			t.Fatalf("nfcapd exited before binding a port, %d times; last: %s", attempt, stderr.String())
		}
		t.Logf("nfcapd exited before binding port %d (taken meanwhile?), trying another: %s", port, stderr.String())
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(WaitTimeout):
			cmd.Process.Kill()
			<-exited
			t.Fatalf("nfcapd did not end within %v of SIGTERM", WaitTimeout)
		}
	}
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(sock.Port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, b := range append(dgrams[:len(dgrams):len(dgrams)], nfcapdSentinel) {
		if _, err := c.Write(b); err != nil {
			t.Fatalf("sending to nfcapd: %v", err)
		}
	}
	WaitFor(t, "nfcapd to read all datagrams", func() bool {
		s, ok, err := OwnedUDPSocket(cmd.Process.Pid, sock.Port)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("nfcapd closed its socket early: %s", stderr.String())
		}
		sock = s
		return s.RxQueue == 0
	})
	if sock.Drops != 0 {
		t.Fatalf("nfcapd's socket dropped %d datagrams", sock.Drops)
	}
	stopped = true
	stop()
	all, err := filepath.Glob(filepath.Join(dir, "nfcapd.*"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), "nfcapd.current.") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatalf("nfcapd wrote no file in %s: %s", dir, stderr.String())
	}
	return files
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort() (int, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free UDP port: %w", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}
