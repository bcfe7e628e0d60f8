package trap

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// sendAll sends msgs and closes the output.
func sendAll(t *testing.T, out *Output, msgs [][]byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	for _, m := range msgs {
		if err := out.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func manyMessages(n int) [][]byte {
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = testMessage(i, 20+i%90)
	}
	return msgs
}

func TestSocketOutputFanOut(t *testing.T) {
	msgs := manyMessages(3000)
	tests := []struct {
		name string
		spec string
	}{
		{"default buffers", "u:fan"},
		{"small containers and ring", "u:fan:buffer_size=600:buffer_count=3"},
		{"unbuffered", "u:fan:buffer=off"},
		{"tcp", "t:0:buffer_size=2000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), tc.spec)
			if err := out.SetDataFormat(FormatRaw, ""); err != nil {
				t.Fatal(err)
			}
			var streams []<-chan []byte
			for range 3 {
				streams = append(streams, recordAll(outputDial(t, so)))
			}
			waitClients(t, so, 3)
			sendAll(t, out, msgs)
			first := <-streams[0]
			for i, ch := range streams[1:] {
				if b := <-ch; !bytes.Equal(b, first) {
					t.Fatalf("client %d got %d bytes, client 0 got %d", i+1, len(b), len(first))
				}
			}
			h, got, _ := decodeStream(t, first)
			if h.Format != FormatRaw {
				t.Errorf("hello format %v", h.Format)
			}
			equalMessages(t, got, msgs)
		})
	}
}

func TestSocketOutputContainerLimits(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		sizes     []int
		wantConts int
		dropped   uint64
	}{
		// 14 + 2*(2+40) = 98 <= 100; a third message does not fit.
		{"message appended while it fits", "u:lim:buffer_size=100", []int{40, 40, 40}, 2, 0},
		{"message larger than a container dropped", "u:lim:buffer_size=100", []int{40, 85, 40}, 1, 1},
		{"payload never above 100000", "u:lim:buffer_size=500000", []int{60000, 39998, 1}, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), tc.spec)
			out.SetDataFormat(FormatRaw, "")
			rec := recordAll(outputDial(t, so))
			var msgs [][]byte
			for i, n := range tc.sizes {
				msgs = append(msgs, testMessage(i, n))
			}
			sendAll(t, out, msgs)
			raw := <-rec
			_, got, seqs := decodeStream(t, raw)
			if len(seqs) != tc.wantConts {
				t.Errorf("%d containers, want %d", len(seqs), tc.wantConts)
			}
			if len(got)+int(tc.dropped) != len(msgs) {
				t.Errorf("%d messages arrived, %d dropped, of %d", len(got), tc.dropped, len(msgs))
			}
			if d := so.stats().DroppedMessages; d != tc.dropped {
				t.Errorf("dropped counter %d, want %d", d, tc.dropped)
			}
		})
	}
}

// A client that leaves in the middle of a container does not disturb the
// others.
func TestSocketOutputClientLeavesMidBuffer(t *testing.T) {
	msgs := manyMessages(2000)
	out, so := newTestOutput(t, testEnv(t), "u:leave:buffer_size=1000:buffer_count=4")
	out.SetDataFormat(FormatRaw, "")
	good := recordAll(outputDial(t, so))
	quitter := outputDial(t, so)
	waitClients(t, so, 2)
	go func() {
		io.ReadFull(quitter, make([]byte, 500))
		quitter.Close()
	}()
	sendAll(t, out, msgs)
	_, got, _ := decodeStream(t, <-good)
	equalMessages(t, got, msgs)
}

// setFormat with a new spec disconnects clients after the data of the old
// format; a reconnecting input gets the new hello and FORMAT_CHANGED.
func TestSocketOutputFormatChangeReconnects(t *testing.T) {
	e := testEnv(t)
	out, so := newTestOutput(t, e, "u:fmt")
	in, _ := newTestInput(t, e, "u:fmt")
	in.SetRequiredFormat(FormatUniRec, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	const specA, specB = "uint8 A", "uint8 A,uint16 B"
	steps := []struct {
		spec string
		msg  []byte
	}{
		{specA, []byte{1}},
		{specB, []byte{2, 3, 0}},
		{specA, []byte{4}},
	}
	for i, st := range steps {
		if err := out.SetDataFormat(FormatUniRec, st.spec); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() {
			// Under WAIT the send waits until the input has reconnected.
			if err := out.Send(ctx, st.msg); err != nil {
				errc <- err
				return
			}
			errc <- out.Flush(ctx)
		}()
		m, changed, err := in.Recv(ctx)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("step %d send: %v", i, err)
		}
		if _, s := in.DataFormat(); s != st.spec || !bytes.Equal(m, st.msg) || !changed {
			t.Errorf("step %d: spec %q msg % x changed %v, want %q % x true", i, s, m, changed, st.spec, st.msg)
		}
	}
	if c := so.stats().Clients; c != 1 {
		t.Errorf("%d clients after reconnects, want 1", c)
	}
}

// Without clients, NO_WAIT and HALF_WAIT accept and lose the data (and
// count it); WAIT blocks until ctx ends.
func TestSocketOutputWithoutClients(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		wantErr error
		dropped uint64
	}{
		{"no wait drops and counts", "u:nc:timeout=NO_WAIT", nil, 5},
		{"microsecond timeout drops and counts", "u:nc:timeout=1000", nil, 5},
		{"half wait drops and counts", "u:nc:timeout=HALF_WAIT", nil, 5},
		{"wait blocks until the context ends", "u:nc", ErrTerminated, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), tc.spec)
			out.SetDataFormat(FormatRaw, "")
			// WAIT ends with the context; the others must not wait for it.
			d := testutil.WaitTimeout
			if tc.wantErr != nil {
				d = 100 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), d)
			defer cancel()
			var err error
			for i := 0; i < 5 && err == nil; i++ {
				err = out.Send(ctx, testMessage(i, 30))
			}
			if err == nil {
				err = out.Flush(ctx)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("send: %v, want %v", err, tc.wantErr)
			}
			if d := so.stats().DroppedMessages; d != tc.dropped {
				t.Errorf("dropped %d, want %d", d, tc.dropped)
			}
		})
	}
}

// A WAIT send blocked for lack of clients goes through once one connects.
func TestSocketOutputWaitResumesWhenClientConnects(t *testing.T) {
	out, so := newTestOutput(t, testEnv(t), "u:wait")
	out.SetDataFormat(FormatRaw, "")
	errc := make(chan error, 1)
	go func() { errc <- out.Send(context.Background(), []byte("hello")) }()
	rec := recordAll(outputDial(t, so))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, got, _ := decodeStream(t, <-rec)
	equalMessages(t, got, [][]byte{[]byte("hello")})
}

// Under NO_WAIT a client that does not read falls behind the ring; it then
// jumps to the newest container and the skipped messages are counted.
func TestSocketOutputNoWaitSkipsLaggingClient(t *testing.T) {
	out, so := newTestOutput(t, testEnv(t), "u:lag:timeout=NO_WAIT:buffer_size=4000:buffer_count=2")
	out.SetDataFormat(FormatRaw, "")
	slow := outputDial(t, so)
	waitClients(t, so, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	// Far more than the socket buffers hold, so the writer must fall behind.
	msgs := manyMessages(40000)
	for _, m := range msgs {
		if err := out.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	skipped := so.stats().PerClient
	rec := recordAll(slow)
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, got, _ := decodeStream(t, <-rec)
	if len(got) >= len(msgs) || len(got) == 0 {
		t.Fatalf("lagging client got %d of %d messages", len(got), len(msgs))
	}
	// What arrived is an in-order subsequence of what was sent.
	j := 0
	for _, m := range got {
		for j < len(msgs) && !bytes.Equal(msgs[j], m) {
			j++
		}
		if j == len(msgs) {
			t.Fatal("received messages out of order or corrupted")
		}
	}
	if len(skipped) != 1 {
		t.Fatalf("per-client stats %+v", skipped)
	}
	if s := so.stats(); s.SentMessages != uint64(len(msgs)) {
		t.Errorf("sent counter %d, want %d", s.SentMessages, len(msgs))
	}
}

// Before SetDataFormat a client gets 8 zero bytes and the connection closes
// (output_fmt_unknown.server_to_client.bin).
func TestSocketOutputRefusesClientsBeforeFormat(t *testing.T) {
	out, so := newTestOutput(t, testEnv(t), "u:unset")
	_ = out
	got := <-recordAll(outputDial(t, so))
	want := golden(t, "output_fmt_unknown.server_to_client.bin")
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x, want % x", got, want)
	}
}

// The UNIX socket is world-writable while open and removed on close; a
// stale file is replaced.
func TestSocketOutputUnixSocketFile(t *testing.T) {
	e := testEnv(t)
	path := unixSocketPath(e.socketDir, "file")
	stale, err := net.Listen("unix", path) // left behind by a dead process
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	out, _ := newTestOutput(t, e, "u:file")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v, want a socket with 0666", st.Mode())
	}
	if err := out.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file still there after close: %v", err)
	}
}

func TestSocketSpecErrors(t *testing.T) {
	tests := []struct {
		spec  string
		input bool
	}{
		{"u", false},
		{"u:a/b", false},
		{"t:70000", false},
		{"t:1:2", false},
		{"t:x", true},
		{"t:0", true},
		{"t:h:1:2", true},
		{"T:1:key", false},
		{"T:1:/nonexistent/key:/nonexistent/cert:/nonexistent/ca", false},
		{"T:1:/nonexistent/key:/nonexistent/cert:/nonexistent/ca", true},
		{"u:x:max_clients=zero", false},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			sp := mustSpec(t, tc.spec)
			var err error
			if tc.input {
				_, err = newSocketInput(sp, testEnv(t))
			} else {
				_, err = newSocketOutput(sp, testEnv(t))
			}
			if !errors.Is(err, ErrBadParams) {
				t.Errorf("got %v, want ErrBadParams", err)
			}
		})
	}
}

// WAIT and HALF_WAIT wait while the ring is full onto a client that does
// not read; the wait ends with the context.
func TestSocketOutputBlocksOnSlowClient(t *testing.T) {
	for _, spec := range []string{"u:slow:buffer_size=4000:buffer_count=2", "u:slow:timeout=HALF_WAIT:buffer_size=4000:buffer_count=2"} {
		t.Run(spec, func(t *testing.T) {
			out, so := newTestOutput(t, testEnv(t), spec)
			out.SetDataFormat(FormatRaw, "")
			outputDial(t, so) // connected, never reads
			waitClients(t, so, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			msg := testMessage(0, 1000)
			var err error
			// Far beyond what socket buffers and the ring can hold.
			for i := 0; i < 100000 && err == nil; i++ {
				err = out.Send(ctx, msg)
			}
			if !errors.Is(err, ErrTerminated) {
				t.Fatalf("send: %v, want ErrTerminated once the ring is full", err)
			}
			if d := so.stats().DroppedMessages; d != 0 {
				t.Errorf("dropped %d, want 0", d)
			}
		})
	}
}

// A client that connects late starts at the ring head (trap-wire.md §5.3):
// it gets the container being filled when it connected and everything
// after, never the containers finished before, and the sequence numbers
// go on counting every message the output accepted.
func TestSocketOutputLateClientStartsAtRingHead(t *testing.T) {
	msgs := manyMessages(30)
	out, so := newTestOutput(t, testEnv(t), "u:late")
	out.SetDataFormat(FormatRaw, "")
	early := recordAll(outputDial(t, so))
	waitClients(t, so, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	for _, m := range msgs[:10] {
		out.Send(ctx, m)
	}
	out.Flush(ctx) // container 0: messages 0-9, finished before the late client
	for _, m := range msgs[10:15] {
		out.Send(ctx, m)
	}
	late := recordAll(outputDial(t, so))
	waitClients(t, so, 2)
	for _, m := range msgs[15:20] {
		out.Send(ctx, m)
	}
	out.Flush(ctx) // container 1: messages 10-19, active when the late client came
	for _, m := range msgs[20:] {
		out.Send(ctx, m)
	}
	if err := out.Close(ctx); err != nil { // container 2: messages 20-29
		t.Fatal(err)
	}
	_, got, seqs := decodeStream(t, <-early)
	equalMessages(t, got, msgs)
	if want := []uint64{0, 10, 20}; !slices.Equal(seqs, want) {
		t.Errorf("early client: sequence numbers %v, want %v", seqs, want)
	}
	_, got, seqs = decodeStream(t, <-late)
	equalMessages(t, got, msgs[10:])
	if want := []uint64{10, 20}; !slices.Equal(seqs, want) {
		t.Errorf("late client: sequence numbers %v, want %v", seqs, want)
	}
}

// HALF_WAIT waits for a slow client only while it is connected: once it
// leaves, the blocked sender goes on (and loses the data, as no client
// remains), where WAIT would wait for a new client.
func TestSocketOutputHalfWaitReleasedWhenClientLeaves(t *testing.T) {
	out, so := newTestOutput(t, testEnv(t), "u:hw:timeout=HALF_WAIT:buffer_size=4000:buffer_count=2")
	out.SetDataFormat(FormatRaw, "")
	slow := outputDial(t, so) // connected, never reads
	waitClients(t, so, 1)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	go func() {
		// Leave once the sender is stuck on the full ring.
		for so.stats().Buffers < 2 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		slow.Close()
	}()
	msg := testMessage(0, 1000)
	for i := 0; i < 20000; i++ {
		if err := out.Send(ctx, msg); err != nil {
			t.Fatalf("send %d: %v; want the sender released when the client left", i, err)
		}
	}
	if so.stats().DroppedMessages == 0 {
		t.Error("no message counted as dropped after the client left")
	}
}
