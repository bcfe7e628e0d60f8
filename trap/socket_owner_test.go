package trap

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func openUnixOutput(t *testing.T, dir, name string) (*Output, error) {
	t.Helper()
	sps, err := ParseIFCSpec("u:" + name)
	if err != nil {
		t.Fatal(err)
	}
	return OpenOutput(sps[0], dir, zap.NewNop())
}

// A second output on a live socket fails naming it, and the first one
// stays reachable; a stale socket file is replaced; a file that is not a
// socket is left alone.
func TestUnixOutputSocketOwnership(t *testing.T) {
	dir := t.TempDir()
	first, err := openUnixOutput(t, dir, "owned")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(context.Background())
	path := unixSocketPath(dir, "owned")
	_, err = openUnixOutput(t, dir, "owned")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "live") {
		t.Fatalf("second output on a live socket: %v, want an error naming %s", err, path)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the first output is no longer reachable: %v", err)
	}
	c.Close()

	// A stale socket: its listener is gone, the file stayed.
	stale := unixSocketPath(dir, "stale")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	o, err := openUnixOutput(t, dir, "stale")
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	o.Close(context.Background())

	// Not a socket: refused, and kept.
	plain := unixSocketPath(dir, "plain")
	os.WriteFile(plain, []byte("data"), 0o644)
	if _, err := openUnixOutput(t, dir, "plain"); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("regular file at the socket path: %v", err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "data" {
		t.Error("the regular file was touched")
	}
}

// Closing an output does not delete a socket file another process put at
// its path since.
func TestUnixOutputCloseLeavesAnotherProcessesSocket(t *testing.T) {
	dir := t.TempDir()
	o, err := openUnixOutput(t, dir, "taken")
	if err != nil {
		t.Fatal(err)
	}
	path := unixSocketPath(dir, "taken")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("closing the output removed the other socket: %v", err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the other socket is unreachable: %v", err)
	}
	c.Close()
}
