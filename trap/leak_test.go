package trap

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// goroutinesSettle waits until the number of goroutines is back to base.
func goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	n := 0
	if testutil.Eventually(testutil.WaitTimeout, func() bool { n = runtime.NumGoroutine(); return n <= base }) {
		return
	}
	buf := make([]byte, 1<<16)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("%d goroutines left, %d before:\n%s", n, base, buf)
}

// Finalize stops every goroutine the context started: accept loops,
// client writers and watchers, autoflush, the service IFC, even when a
// client stopped reading and Finalize's ctx runs out.
func TestFinalizeLeavesNoGoroutines(t *testing.T) {
	tests := []struct {
		name    string
		stalled bool
	}{
		{"clients that read", false},
		{"a client that stopped reading", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			e := testEnv(t)
			c, _, err := Init(context.Background(), Module{Inputs: 1, Outputs: 2},
				[]string{"mod", "-i", "u:leakin,u:leakout:buffer_size=1000:buffer_count=2,t:0"}, WithSocketDir(e.socketDir))
			if err != nil {
				t.Fatal(err)
			}
			src, _ := newTestOutput(t, e, "u:leakin")
			src.SetDataFormat(FormatRaw, "")
			out := c.Output(0)
			out.SetDataFormat(FormatRaw, "")
			c.Output(1).SetDataFormat(FormatRaw, "")
			so := out.ifc.(*socketOutput)
			client, err := net.Dial("unix", so.addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			if !tt.stalled {
				go io.Copy(io.Discard, client)
			}
			waitClients(t, so, 1)
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			// The input connects and reads one message.
			go func() {
				// WAIT: this waits for the input to connect.
				if src.Send(ctx, []byte("x")) == nil {
					src.Flush(ctx)
				}
			}()
			in := c.Input(0)
			in.SetRequiredFormat(FormatRaw, "")
			if _, _, err := in.Recv(ctx); err != nil {
				t.Fatal(err)
			}
			// Sends and Finalize get a short context: a stalled client
			// blocks them until it runs out.
			short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancelShort()
			for i := 0; i < 2000; i++ {
				if out.Send(short, testMessage(i, 100)) != nil {
					break // the stalled client filled the ring
				}
			}
			c.Finalize(short)
			src.Close(short)
			client.Close()
			goroutinesSettle(t, base)
		})
	}
}
