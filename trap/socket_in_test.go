package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

func TestSocketInputWithoutOutput(t *testing.T) {
	tests := []struct {
		name    string
		timeout Timeout
		cancel  bool
		want    error
	}{
		{"no wait times out at once", NoWait, false, ErrTimeout},
		{"microsecond timeout expires", Timeout(30000), false, ErrTimeout},
		{"wait ends with the context", Wait, true, ErrTerminated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, si := newTestInput(t, testEnv(t), "u:nobody")
			in.SetTimeout(tc.timeout)
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancel {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			defer cancel()
			_, _, err := in.Recv(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if si.stats().Connected {
				t.Error("reported connected")
			}
		})
	}
}

// A hello-only stream: NO_WAIT returns the timeout while connected, and a
// later container is still read whole.
func TestSocketInputNoWaitKeepsConnection(t *testing.T) {
	e := testEnv(t)
	out, so := newTestOutput(t, e, "u:nw:timeout=NO_WAIT")
	out.SetDataFormat(FormatRaw, "")
	in, si := newTestInput(t, e, "u:nw:timeout=NO_WAIT")
	in.SetRequiredFormat(FormatRaw, "")
	ctx := context.Background()
	// Connecting yields the hello; no data is there yet.
	for so.stats().Clients == 0 {
		if _, _, err := in.Recv(ctx); !errors.Is(err, ErrTimeout) {
			t.Fatalf("idle recv: %v, want ErrTimeout", err)
		}
	}
	if !si.stats().Connected {
		t.Fatal("not connected")
	}
	if err := out.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	out.Flush(ctx)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		m, _, err := in.Recv(ctx)
		if err == nil {
			if string(m) != "x" {
				t.Fatalf("got %q", m)
			}
			return
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("message never arrived")
}

// Garbage from an output gives a clear error, never a panic, and the input
// reconnects afterwards.
func TestSocketInputRejectsGarbage(t *testing.T) {
	good := golden(t, "sock_basic_flows_bufon.server_to_client.bin")
	_, want := readTrapcap(t, filepath.Join(sharedTestdata(t), "basic_flows.trapcap"))
	hello := good[:8+149]
	oversized := append(bytes.Clone(hello), 0, 0x01, 0x86, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0) // P = 100001
	tests := []struct {
		name   string
		stream []byte
		want   error
	}{
		{"payload above the C receiver's buffer", oversized, ErrIO},
		{"unknown data type in hello", []byte{7, 0, 0, 0, 0, 0, 0, 0}, ErrBadHello},
		{"absurd specifier length", []byte{2, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff}, ErrBadHello},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := testEnv(t)
			newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "junk"), tc.stream, good)
			in, si := newTestInput(t, e, "u:junk")
			in.SetRequiredFormat(FormatUniRec, "")
			ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
			defer cancel()
			_, _, err := in.Recv(ctx)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if si.garbage.Load() != 1 {
				t.Errorf("garbage counter %d, want 1", si.garbage.Load())
			}
			got, _ := recvAll(t, in, 5*time.Second)
			equalMessages(t, got, want)
		})
	}
}

// libtrap's receiver ignores the sequence number and the message count
// (trap-wire.md §5.1); so do we. This rebuilds the idea of
// synthetic_strings_seqcount from sock_strings_bufon.
func TestSocketInputIgnoresSequenceAndCount(t *testing.T) {
	stream := bytes.Clone(golden(t, "sock_strings_bufon.server_to_client.bin"))
	_, want := readTrapcap(t, filepath.Join(sharedTestdata(t), "strings.trapcap"))
	h, err := ReadHello(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	off := HelloHeaderSize + len(h.Spec)
	binary.LittleEndian.PutUint64(stream[off+4:], 987654321)
	binary.LittleEndian.PutUint16(stream[off+12:], 0)
	e := testEnv(t)
	newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "seq"), stream)
	in, si := newTestInput(t, e, "u:seq")
	in.SetRequiredFormat(FormatUniRec, "")
	got, _ := recvAll(t, in, 5*time.Second)
	equalMessages(t, got, want)
	if si.containerSeq() != 987654321 {
		t.Errorf("sequence %d", si.containerSeq())
	}
}

// Autoflush sends a non-empty container on its own while a client is
// connected.
func TestSocketOutputAutoflush(t *testing.T) {
	e := testEnv(t)
	out, so := newTestOutput(t, e, "u:af:autoflush=20000")
	out.SetDataFormat(FormatRaw, "")
	in, _ := newTestInput(t, e, "u:af")
	in.SetRequiredFormat(FormatRaw, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- out.Send(ctx, []byte("flushed by timer")) }()
	m, _, err := in.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m) != "flushed by timer" {
		t.Fatalf("got %q", m)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if so.stats().Autoflushes == 0 {
		t.Error("autoflush counter is 0")
	}
}

// Clients beyond max_clients are turned away.
func TestSocketOutputMaxClients(t *testing.T) {
	out, so := newTestOutput(t, testEnv(t), "u:max:max_clients=2")
	out.SetDataFormat(FormatRaw, "")
	a, b := recordAll(outputDial(t, so)), recordAll(outputDial(t, so))
	waitClients(t, so, 2)
	extra := <-recordAll(outputDial(t, so))
	if len(extra) != 0 {
		t.Errorf("third client got % x, want nothing", extra)
	}
	sendAll(t, out, [][]byte{[]byte("m")})
	for _, ch := range []<-chan []byte{a, b} {
		_, got, _ := decodeStream(t, <-ch)
		equalMessages(t, got, [][]byte{[]byte("m")})
	}
}

// Per-client statistics name a UNIX client by its PID, as libtrap does.
func TestSocketOutputClientStats(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peer PIDs come from SO_PEERCRED, Linux only")
	}
	out, so := newTestOutput(t, testEnv(t), "u:stats")
	out.SetDataFormat(FormatRaw, "")
	outputDial(t, so)
	waitClients(t, so, 1)
	st := so.stats()
	if len(st.PerClient) != 1 || st.PerClient[0].ID != strconv.Itoa(os.Getpid()) {
		t.Errorf("per-client stats %+v, want the id %d", st.PerClient, os.Getpid())
	}
	if st.Kind != KindUNIX || st.ID != "stats" || st.Clients != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Autoflush runs only while a client is connected (trap-wire.md §5.2): a
// message sent with nobody listening stays in the active container instead
// of being flushed into the void, and the first client to connect gets it.
func TestSocketOutputNoAutoflushWithoutClients(t *testing.T) {
	e := testEnv(t)
	out, so := newTestOutput(t, e, "u:afnc:timeout=NO_WAIT:autoflush=1000")
	out.SetDataFormat(FormatRaw, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	if err := out.Send(ctx, []byte("kept for the first client")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // fifty autoflush periods
	if st := so.stats(); st.Autoflushes != 0 || st.Buffers != 0 || st.DroppedMessages != 0 {
		t.Fatalf("without clients: %d autoflushes, %d buffers, %d dropped; want none", st.Autoflushes, st.Buffers, st.DroppedMessages)
	}
	in, _ := newTestInput(t, e, "u:afnc")
	in.SetRequiredFormat(FormatRaw, "")
	m, _, err := in.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m) != "kept for the first client" {
		t.Fatalf("got %q", m)
	}
}
