package trap

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
)

// sendBatched sends msgs through SendFixed in runs of up to k messages of
// equal length (others, such as the end-of-stream byte, one by one with
// Send), then closes the output.
func sendBatched(t *testing.T, out *Output, msgs [][]byte, k int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	for i := 0; i < len(msgs); {
		j := i + 1
		for j < len(msgs) && j-i < k && len(msgs[j]) == len(msgs[i]) {
			j++
		}
		var batch []byte
		for _, m := range msgs[i:j] {
			batch = append(batch, m...)
		}
		n, err := out.SendFixed(ctx, batch, len(msgs[i]))
		if err != nil || n != j-i {
			t.Fatalf("SendFixed of %d messages: sent %d, %v", j-i, n, err)
		}
		i = j
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// Batches give the same byte stream as the C libtrap output did for one
// send per message: over a UNIX socket, buffered and not, and into files.
func TestSendFixedMatchesGoldenStreams(t *testing.T) {
	for _, tc := range []struct{ opts, golden string }{
		{"buffer=on", "sock_basic_flows_bufon.server_to_client.bin"},
		{"buffer=off", "sock_basic_flows_bufoff.server_to_client.bin"},
	} {
		t.Run("socket "+tc.opts, func(t *testing.T) {
			hello, msgs := readTrapcap(t, filepath.Join(sharedTestdata(t), "basic_flows.trapcap"))
			want := golden(t, tc.golden)
			out, so := newTestOutput(t, testEnv(t), "u:batched:"+tc.opts)
			if err := out.SetDataFormat(hello.Format, hello.Spec); err != nil {
				t.Fatal(err)
			}
			got := recordAll(outputDial(t, so))
			sendBatched(t, out, msgs, 7)
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("stream differs from %s: got %d bytes, want %d", tc.golden, len(b), len(want))
			}
		})
	}
	for _, g := range []struct{ name, buffer string }{
		{"basic_flows.trapcap", ""},
		{"basic_flows_bufoff.trapcap", ":buffer=off"},
	} {
		t.Run("file "+g.name, func(t *testing.T) {
			want := readGolden(t, g.name)
			h, bufs := splitTrapcap(t, want)
			var msgs [][]byte
			for _, b := range bufs {
				msgs = append(msgs, b...)
			}
			path := filepath.Join(t.TempDir(), "out.trapcap")
			out, err := OpenOutput(mustSpec(t, "f:"+path+g.buffer), t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := out.SetDataFormat(h.Format, h.Spec); err != nil {
				t.Fatal(err)
			}
			sendBatched(t, out, msgs, 5)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output differs from golden %s: %d vs %d bytes", g.name, len(got), len(want))
			}
		})
	}
}

func TestSendFixedCountsAndRejectsBadBatches(t *testing.T) {
	out, err := OpenOutput(mustSpec(t, "b:"), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := out.SendFixed(ctx, make([]byte, 20), 10); !errors.Is(err, ErrFormatNotSet) {
		t.Errorf("before SetDataFormat: %v, want ErrFormatNotSet", err)
	}
	if err := out.SetDataFormat(FormatRaw, ""); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ n, size int }{{25, 10}, {10, 0}, {10, -1}, {2 * (MaxMessage + 1), MaxMessage + 1}} {
		if _, err := out.SendFixed(ctx, make([]byte, bad.n), bad.size); !errors.Is(err, ErrBadParams) {
			t.Errorf("%d bytes of %d-byte messages: %v, want ErrBadParams", bad.n, bad.size, err)
		}
	}
	if n, err := out.SendFixed(ctx, make([]byte, 30), 10); n != 3 || err != nil {
		t.Errorf("SendFixed = %d, %v, want 3 messages", n, err)
	}
	if n, err := out.SendFixed(ctx, nil, 10); n != 0 || err != nil {
		t.Errorf("empty SendFixed = %d, %v", n, err)
	}
	if err := out.Send(ctx, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if got := out.Stats().SentMessages; got != 4 {
		t.Errorf("blackhole counted %d messages, want 4", got)
	}
}
