package trap

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Every message a socket output accepts is either in a container some
// client received whole, or in the dropped counter: never both, never
// neither, whatever the clients do.
func TestSocketOutputCountsEveryLoss(t *testing.T) {
	// partial reads the hello and n bytes of what follows, then closes.
	partial := func(n int64) func(net.Conn) {
		return func(c net.Conn) {
			r := bufio.NewReader(c)
			var hdr [HelloHeaderSize]byte
			if _, err := io.ReadFull(r, hdr[:]); err == nil {
				io.CopyN(io.Discard, r, int64(binary.BigEndian.Uint32(hdr[4:]))+n)
			}
			c.Close()
		}
	}
	drain := func(c net.Conn) { io.Copy(io.Discard, c) }
	idle := func(net.Conn) {} // connected, never reads

	tests := []struct {
		name        string
		opts        string
		clients     []func(net.Conn)
		closeWithin time.Duration
		someDropped bool // false: nothing may be dropped
	}{
		{"no client", "timeout=NO_WAIT", nil, time.Second, true},
		{"only client leaves mid-container", "timeout=HALF_WAIT", []func(net.Conn){partial(ContainerHeaderSize + 100)}, 2 * time.Second, true},
		{"one of two clients leaves mid-container", "timeout=HALF_WAIT", []func(net.Conn){drain, partial(ContainerHeaderSize + 100)}, testutil.WaitTimeout, false},
		{"client that never reads, NO_WAIT", "timeout=NO_WAIT", []func(net.Conn){idle}, 50 * time.Millisecond, true},
		{"every client gets everything, WAIT", "timeout=WAIT", []func(net.Conn){drain, drain}, testutil.WaitTimeout, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), "u:drops:"+tc.opts)
			if err := out.SetDataFormat(FormatRaw, ""); err != nil {
				t.Fatal(err)
			}
			for _, client := range tc.clients {
				go client(outputDial(t, so))
			}
			waitClients(t, so, len(tc.clients))
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			msg := make([]byte, 100)
			const n = 20000 // about 20 containers, a third of the ring
			for i := range n {
				binary.BigEndian.PutUint32(msg, uint32(i))
				if err := out.Send(ctx, msg); err != nil {
					t.Fatal(err)
				}
			}
			cctx, ccancel := context.WithTimeout(context.Background(), tc.closeWithin)
			defer ccancel()
			so.close(cctx)
			so.mu.Lock()
			accepted, dropped, delivered := so.accepted, so.dropped, so.deliveredMsgs
			so.mu.Unlock()
			if accepted != n {
				t.Fatalf("accepted %d, want %d", accepted, n)
			}
			if dropped+delivered != accepted {
				t.Errorf("dropped %d + delivered %d != accepted %d", dropped, delivered, accepted)
			}
			if tc.someDropped && dropped == 0 {
				t.Error("messages were lost but the dropped counter is 0")
			}
			if !tc.someDropped && dropped != 0 {
				t.Errorf("dropped %d, but a client received every message", dropped)
			}
			if st := so.stats(); st.DroppedMessages != dropped {
				t.Errorf("stats report %d dropped, counter %d", st.DroppedMessages, dropped)
			}
		})
	}
}

// The end-of-stream message is a marker, not a record: closing an output
// that no client ever read counts its records as dropped, not the EOS.
func TestSocketOutputEOSIsNoDroppedRecord(t *testing.T) {
	for _, n := range []int{0, 3} {
		t.Run(strconv.Itoa(n)+" records", func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), "u:eosdrop:timeout=NO_WAIT")
			if err := out.SetDataFormat(FormatRaw, ""); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := range n {
				if err := out.Send(ctx, testMessage(i, 30)); err != nil {
					t.Fatal(err)
				}
			}
			if err := out.SendEOS(ctx); err != nil {
				t.Fatal(err)
			}
			so.close(ctx)
			if st := so.stats(); st.DroppedMessages != uint64(n) || st.SentMessages != uint64(n+1) {
				t.Errorf("%d records and the EOS sent: %d messages accepted, %d dropped; want %d and %d", n, st.SentMessages, st.DroppedMessages, n+1, n)
			}
		})
	}
}
