package trap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// Our output, fed the messages of a captured .trapcap, must put on the
// wire exactly what libtrap's logreplay put on it.
func TestSocketOutputMatchesGoldenStream(t *testing.T) {
	tests := []struct {
		name    string
		trapcap string
		opts    string
		golden  string
		tcp     bool
	}{
		{"basic flows buffered", "basic_flows.trapcap", "buffer=on", "sock_basic_flows_bufon.server_to_client.bin", false},
		{"basic flows unbuffered", "basic_flows.trapcap", "buffer=off", "sock_basic_flows_bufoff.server_to_client.bin", false},
		{"strings buffered", "strings.trapcap", "buffer=on", "sock_strings_bufon.server_to_client.bin", false},
		{"strings unbuffered", "strings.trapcap", "buffer=off", "sock_strings_bufoff.server_to_client.bin", false},
		{"arrays buffered", "arrays.trapcap", "buffer=on", "sock_arrays_bufon.server_to_client.bin", false},
		{"arrays unbuffered", "arrays.trapcap", "buffer=off", "sock_arrays_bufoff.server_to_client.bin", false},
		{"strings buffered over TCP", "strings.trapcap", "buffer=on", "tcp_strings_bufon.server_to_client.bin", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hello, msgs := readTrapcap(t, filepath.Join(sharedTestdata(t), tc.trapcap))
			want := golden(t, tc.golden)
			spec := "u:golden:" + tc.opts
			if tc.tcp {
				spec = "t:0:" + tc.opts
			}
			out, so := newTestOutput(t, testEnv(t), spec)
			if err := out.SetDataFormat(hello.Format, hello.Spec); err != nil {
				t.Fatal(err)
			}
			got := recordAll(outputDial(t, so))
			sendAll(t, out, msgs)
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("stream differs from %s: got %d bytes, want %d\ngot  % x\nwant % x", tc.golden, len(b), len(want), head(b), head(want))
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 200)] }

// fakeOutput is a raw server that plays one canned stream per connection
// (then closes its side) and records what each client wrote.
type fakeOutput struct {
	ln       net.Listener
	received chan int // bytes each client sent before closing
}

func newFakeOutput(t *testing.T, network, addr string, streams ...[]byte) *fakeOutput {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeOutput{ln: ln, received: make(chan int, len(streams)+1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for _, s := range streams {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write(s)
			switch cc := c.(type) {
			case *net.UnixConn:
				cc.CloseWrite()
			case *net.TCPConn:
				cc.CloseWrite()
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				f.received <- int(n)
			}()
		}
	}()
	return f
}

// recvAll reads messages from in until the end-of-stream message.
func recvAll(t *testing.T, in *Input, timeout time.Duration) (msgs [][]byte, changed []bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		m, fc, err := in.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(msgs), err)
		}
		msgs = append(msgs, bytes.Clone(m))
		changed = append(changed, fc)
		if IsEOS(m) {
			return msgs, changed
		}
	}
}

func equalMessages(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d differs:\ngot  % x\nwant % x", i, got[i], want[i])
		}
	}
}

// Our input, served libtrap's captured streams, yields the trapcap's
// messages and writes nothing to the socket (input_*.client_to_server.bin
// are empty).
func TestSocketInputReadsGoldenStream(t *testing.T) {
	tests := []struct {
		stream, trapcap string
		tcp             bool
	}{
		{"sock_basic_flows_bufon.server_to_client.bin", "basic_flows.trapcap", false},
		{"sock_basic_flows_bufoff.server_to_client.bin", "basic_flows.trapcap", false},
		{"sock_strings_bufon.server_to_client.bin", "strings.trapcap", false},
		{"sock_strings_bufoff.server_to_client.bin", "strings.trapcap", false},
		{"sock_arrays_bufon.server_to_client.bin", "arrays.trapcap", false},
		{"sock_arrays_bufoff.server_to_client.bin", "arrays.trapcap", false},
		{"tcp_strings_bufon.server_to_client.bin", "strings.trapcap", true},
		{"synthetic_strings_seqcount.server_to_client.bin", "strings.trapcap", false},
		{"session_buffered.server_to_client.bin", "basic_flows.trapcap", true},
	}
	for _, tc := range tests {
		t.Run(tc.stream, func(t *testing.T) {
			dir := sharedTestdata(t)
			if _, err := os.Stat(filepath.Join(dir, tc.stream)); os.IsNotExist(err) {
				t.Skipf("%s is not in the golden set", tc.stream)
			}
			hello, want := readTrapcap(t, filepath.Join(dir, tc.trapcap))
			stream := golden(t, tc.stream)
			e := testEnv(t)
			var in *Input
			var fake *fakeOutput
			if tc.tcp {
				fake = newFakeOutput(t, "tcp", "127.0.0.1:0", stream)
				in, _ = newTestInput(t, e, fmt.Sprintf("t:127.0.0.1:%d", fake.ln.Addr().(*net.TCPAddr).Port))
			} else {
				fake = newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "fake_in"), stream)
				in, _ = newTestInput(t, e, "u:fake_in")
			}
			in.SetRequiredFormat(FormatUniRec, "")
			got, changed := recvAll(t, in, 5*time.Second)
			equalMessages(t, got, want)
			if f, s := in.DataFormat(); f != hello.Format || s != hello.Spec {
				t.Errorf("negotiated %v %q, want %v %q", f, s, hello.Format, hello.Spec)
			}
			// logger requires "": the sender's spec is a superset, so the
			// first message comes with FORMAT_CHANGED, later ones without.
			if !changed[0] || changed[1] {
				t.Errorf("formatChanged flags %v..., want true then false", changed[:2])
			}
			in.Close()
			if n := <-fake.received; n != 0 {
				t.Errorf("input wrote %d bytes to the output, want 0", n)
			}
		})
	}
}

// An output whose format is not set answers with 8 zero bytes and closes
// (output_fmt_unknown); the input retries and then reads the real stream.
func TestSocketInputRetriesWhenFormatUnknown(t *testing.T) {
	unknown := golden(t, "output_fmt_unknown.server_to_client.bin")
	stream := golden(t, "sock_basic_flows_bufon.server_to_client.bin")
	_, want := readTrapcap(t, filepath.Join(sharedTestdata(t), "basic_flows.trapcap"))
	e := testEnv(t)
	fake := newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "unk"), unknown, unknown, stream)
	in, _ := newTestInput(t, e, "u:unk")
	in.SetRequiredFormat(FormatUniRec, "")
	got, _ := recvAll(t, in, 5*time.Second)
	equalMessages(t, got, want)
	in.Close()
	for range 3 {
		if n := <-fake.received; n != 0 {
			t.Errorf("input wrote %d bytes, want 0", n)
		}
	}
}

// A format change shows as a disconnect; after reconnecting the input
// reports FORMAT_CHANGED with the first message of the new format.
func TestSocketInputFormatChangeAfterReconnect(t *testing.T) {
	first := golden(t, "fmtchange_first_conn.server_to_client.bin")
	const spec2 = "ipaddr SRC_IP,uint16 SRC_PORT"
	const spec3 = "ipaddr SRC_IP,uint16 SRC_PORT,uint8 PROTOCOL"
	// 2001:db8::2, port 2, protocol 17 in the 3-field layout.
	rec := []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 17}
	payload := AppendMessage(nil, rec)
	second := AppendHello(nil, Hello{Format: FormatUniRec, Spec: spec3})
	hdr := make([]byte, ContainerHeaderSize)
	PutContainerHeader(hdr, uint32(len(payload)), 1, 1)
	second = append(append(second, hdr...), payload...)

	e := testEnv(t)
	newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "fc"), first, second)
	in, _ := newTestInput(t, e, "u:fc")
	in.SetRequiredFormat(FormatUniRec, spec2)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	steps := []struct {
		spec    string
		changed bool
		size    int
	}{
		{spec2, false, 18},
		{spec3, true, 19},
	}
	for i, st := range steps {
		m, fc, err := in.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if _, s := in.DataFormat(); s != st.spec || fc != st.changed || len(m) != st.size {
			t.Errorf("message %d: spec %q changed %v size %d, want %q %v %d", i, s, fc, len(m), st.spec, st.changed, st.size)
		}
	}
	// Nothing more will come: a NO_WAIT-like short timeout ends the wait.
	in.SetTimeout(Timeout(50000))
	if _, _, err := in.Recv(ctx); !errors.Is(err, ErrTimeout) {
		t.Errorf("after the stream: %v, want ErrTimeout", err)
	}
}

// An output that dies in the middle of a container: the input discards the
// partial buffer (no message of it is delivered, none is garbled), then
// reconnects and reads the next connection whole (trap-wire.md §5.4).
func TestSocketInputDiscardsBufferCutByDisconnect(t *testing.T) {
	stream := golden(t, "sock_basic_flows_bufon.server_to_client.bin")
	_, want := readTrapcap(t, filepath.Join(sharedTestdata(t), "basic_flows.trapcap"))
	h, err := ReadHello(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	helloLen := HelloHeaderSize + len(h.Spec)
	tests := []struct {
		name string
		cut  int // bytes of the first connection's stream sent before it dies
	}{
		{"inside the container header", helloLen + 7},
		{"inside the payload", helloLen + ContainerHeaderSize + 200},
		{"one byte short of the end", len(stream) - 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEnv(t)
			name := fmt.Sprintf("cut%d", i)
			newFakeOutput(t, "unix", unixSocketPath(e.socketDir, name), stream[:tt.cut], stream)
			in, si := newTestInput(t, e, "u:"+name)
			si.retryInterval = 10 * time.Millisecond
			in.SetRequiredFormat(FormatUniRec, "")
			got, _ := recvAll(t, in, 5*time.Second)
			equalMessages(t, got, want)
		})
	}
}
