package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// SIGTERM (a cancelled ctx) must end logreplay even when its WAIT output
// cannot deliver: no client ever connects, or the only client stopped
// reading. The C logreplay hangs in both cases (trap-wire.md §5.3); ours
// gives the client a short grace period and exits.
func TestLogreplayEndsOnSignalWhenOutputCannotDeliver(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TRAP_SOCKET_DIR", dir)
	csv := filepath.Join(dir, "many.csv")
	var b strings.Builder
	b.WriteString("ipaddr SRC_IP,uint32 PACKETS\n")
	for i := range 20000 {
		fmt.Fprintf(&b, "10.0.0.1,%d\n", i)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		stalledClient bool
	}{
		{"no client connects", false},
		{"client stops reading", true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("stall%d", i)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan int, 1)
			var out bytes.Buffer
			go func() {
				// Tiny containers and ring, so the sender blocks early.
				done <- run(ctx, []string{"logreplay", "-i", "u:" + name + ":buffer_count=2:buffer_size=200", "-f", csv, "-d"}, &out, &out)
			}()
			if tt.stalledClient {
				path := filepath.Join(dir, "trap-"+name+".sock")
				var conn net.Conn
				for try := 0; ; try++ {
					c, err := net.Dial("unix", path)
					if err == nil {
						conn = c
						break
					}
					if try == 500 {
						t.Fatalf("output socket never appeared: %v", err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				defer conn.Close()
				conn.(*net.UnixConn).SetReadBuffer(1024)
				// Read the hello only, then never again.
				var hello [8]byte
				if _, err := conn.Read(hello[:]); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(200 * time.Millisecond) // let the sender block
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("exit %d after the signal, want %d: %s", code, exitOK, out.String())
				}
			case <-time.After(testutil.WaitTimeout):
				t.Fatal("logreplay did not end after the signal (Finalize waits for a client forever)")
			}
		})
	}
}
