package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// repeatBatches forwards in to out a container at a time, as
// traffic_repeater does, then closes out.
func repeatBatches(t *testing.T, in *Input, out *Output) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	for {
		b, changed, err := in.RecvBatch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if changed {
			if err := out.SetDataFormat(in.DataFormat()); err != nil {
				t.Fatal(err)
			}
		}
		if err := out.SendBatch(ctx, b); err != nil {
			t.Fatal(err)
		}
		if b.EndOfStream() {
			if err := out.SendEOS(ctx); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// Whole buffers of a libtrap capture, forwarded with RecvBatch and
// SendBatch, put on the wire exactly what libtrap's logreplay put on it.
func TestBatchRepeatMatchesGoldenStream(t *testing.T) {
	tests := []struct{ trapcap, opts, golden string }{
		{"basic_flows.trapcap", "buffer=on", "sock_basic_flows_bufon.server_to_client.bin"},
		{"basic_flows.trapcap", "buffer=off", "sock_basic_flows_bufoff.server_to_client.bin"},
		{"basic_flows_bufoff.trapcap", "buffer=on", "sock_basic_flows_bufon.server_to_client.bin"},
		{"strings.trapcap", "buffer=on", "sock_strings_bufon.server_to_client.bin"},
		{"strings.trapcap", "buffer=off", "sock_strings_bufoff.server_to_client.bin"},
		{"arrays.trapcap", "buffer=on", "sock_arrays_bufon.server_to_client.bin"},
		{"arrays.trapcap", "buffer=off", "sock_arrays_bufoff.server_to_client.bin"},
	}
	for _, tc := range tests {
		t.Run(tc.trapcap+" "+tc.opts, func(t *testing.T) {
			in := mustInput(t, "f:"+filepath.Join(sharedTestdata(t), tc.trapcap))
			defer in.Close()
			want := golden(t, tc.golden)
			out, so := newTestOutput(t, testEnv(t), "u:golden:"+tc.opts)
			// The format must be known before the client connects.
			hello, _ := readTrapcap(t, filepath.Join(sharedTestdata(t), tc.trapcap))
			if err := out.SetDataFormat(hello.Format, hello.Spec); err != nil {
				t.Fatal(err)
			}
			got := recordAll(outputDial(t, so))
			waitClients(t, so, 1)
			repeatBatches(t, in, out)
			if b := <-got; !bytes.Equal(b, want) {
				t.Fatalf("stream differs from %s: got %d bytes, want %d\ngot  % x\nwant % x", tc.golden, len(b), len(want), head(b), head(want))
			}
		})
	}
}

// SendBatch splits a batch into containers exactly where Send one message
// at a time would, drops what no container can hold, and numbers the
// containers the same way.
func TestSendBatchEqualsSendOneByOne(t *testing.T) {
	msgs := manyMessages(300)
	msgs[17] = testMessage(17, 900) // larger than a 600-byte container: dropped
	var wire []byte
	for _, m := range msgs {
		wire = AppendMessage(wire, m)
	}
	b, rest, err := NewBatch(wire)
	if err != nil || len(rest) != 0 || b.Len() != len(msgs) {
		t.Fatalf("NewBatch: %d messages, %d bytes left, %v", b.Len(), len(rest), err)
	}
	for _, opts := range []string{"buffer_size=600", "buffer_size=600:buffer=off", "",
		"buffer_size=600:timeout=HALF_WAIT", "buffer_size=600:buffer_count=1000:timeout=NO_WAIT"} {
		t.Run(opts, func(t *testing.T) {
			stream := func(batch bool) ([]byte, OutputStats) {
				spec := "u:split"
				if opts != "" {
					spec += ":" + opts
				}
				out, so := newTestOutput(t, testEnv(t), spec)
				if err := out.SetDataFormat(FormatRaw, ""); err != nil {
					t.Fatal(err)
				}
				got := recordAll(outputDial(t, so))
				waitClients(t, so, 1)
				ctx := context.Background()
				if batch {
					// In two parts, so that the second starts mid-container.
					cut := 0
					for _, m := range msgs[:len(msgs)/3] {
						cut += 2 + len(m)
					}
					b1, _, err := NewBatch(wire[:cut])
					if err != nil {
						t.Fatal(err)
					}
					if err := out.SendBatch(ctx, b1); err != nil {
						t.Fatal(err)
					}
					b2, _, err := NewBatch(wire[cut:])
					if err != nil {
						t.Fatal(err)
					}
					if err := out.SendBatch(ctx, b2); err != nil {
						t.Fatal(err)
					}
				} else {
					for _, m := range msgs {
						if err := out.Send(ctx, m); err != nil {
							t.Fatal(err)
						}
					}
				}
				st := so.stats()
				if err := out.Close(ctx); err != nil {
					t.Fatal(err)
				}
				return <-got, st
			}
			one, st1 := stream(false)
			batch, st2 := stream(true)
			if !bytes.Equal(one, batch) {
				t.Fatalf("batched stream (%d bytes) differs from one by one (%d bytes)", len(batch), len(one))
			}
			if st1.SentMessages != st2.SentMessages || st1.DroppedMessages != st2.DroppedMessages || st1.Buffers != st2.Buffers {
				t.Errorf("counters: one by one %+v, batched %+v", st1, st2)
			}
		})
	}
}

// Recv and RecvBatch can be mixed: a batch holds what Recv left of the
// buffer, stops before the end of stream, and the counters see every message.
func TestRecvBatchAfterRecv(t *testing.T) {
	path := filepath.Join(sharedTestdata(t), "basic_flows.trapcap")
	_, want := readTrapcap(t, path)
	in := mustInput(t, "f:"+path)
	defer in.Close()
	ctx := context.Background()
	var got [][]byte
	for range 3 {
		m, _, err := in.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(m))
	}
	b, changed, err := in.RecvBatch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if changed {
		t.Error("the format change was reported with the first Recv, not again with the batch")
	}
	if !b.EndOfStream() {
		t.Error("the batch should end at the end-of-stream message")
	}
	for m := range b.All() {
		got = append(got, bytes.Clone(m))
	}
	if b.Len() != len(want)-4 {
		t.Errorf("batch of %d messages, want %d", b.Len(), len(want)-4)
	}
	equalMessages(t, got, want[:len(want)-1])
	if n := in.Stats().Messages; n != uint64(len(want)) {
		t.Errorf("messages counter %d, want %d (EOS included)", n, len(want))
	}
	// The file input's own end (a zero-length message) comes next.
	if b, _, err := in.RecvBatch(ctx); err != nil || !b.EndOfStream() || b.Len() != 0 {
		t.Errorf("after the stream: %d messages, eos %v, %v", b.Len(), b.EndOfStream(), err)
	}
}

// A buffer whose framing breaks yields its good messages first, then the
// error, as Recv would.
func TestRecvBatchFramingError(t *testing.T) {
	payload := AppendMessage(nil, []byte("first"))
	payload = AppendMessage(payload, []byte("second"))
	payload = append(payload, 0, 50, 'x') // claims 50 bytes, has 1
	stream := AppendHello(nil, Hello{Format: FormatRaw})
	hdr := make([]byte, ContainerHeaderSize)
	PutContainerHeader(hdr, uint32(len(payload)), 0, 3)
	stream = append(append(stream, hdr...), payload...)
	e := testEnv(t)
	newFakeOutput(t, "unix", unixSocketPath(e.socketDir, "bad"), stream)
	in, _ := newTestInput(t, e, "u:bad")
	in.SetRequiredFormat(FormatRaw, "")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.WaitTimeout)
	defer cancel()
	b, _, err := in.RecvBatch(ctx)
	if err != nil || b.Len() != 2 || b.EndOfStream() {
		t.Fatalf("first batch: %d messages, eos %v, %v; want the 2 good ones", b.Len(), b.EndOfStream(), err)
	}
	var got []string
	for m := range b.All() {
		got = append(got, string(m))
	}
	if fmt.Sprint(got) != "[first second]" {
		t.Errorf("messages %q", got)
	}
	if _, _, err := in.RecvBatch(ctx); !errors.Is(err, ErrBadFraming) {
		t.Errorf("second call: %v, want ErrBadFraming", err)
	}
}

func TestNewBatch(t *testing.T) {
	tests := []struct {
		name    string
		wire    []byte
		n       int
		eos     bool
		rest    int
		wantErr bool
	}{
		{"empty", nil, 0, false, 0, false},
		{"two", AppendMessage(AppendMessage(nil, []byte("ab")), []byte("cde")), 2, false, 0, false},
		{"eos ends", AppendMessage(AppendMessage(AppendMessage(nil, []byte("ab")), EOS), []byte("zz")), 1, true, 4, false},
		{"zero-length eos", AppendMessage(nil, nil), 0, true, 0, false},
		{"stray byte", append(AppendMessage(nil, []byte("ab")), 7), 0, false, 0, true},
		{"overrun", []byte{0, 9, 1, 2}, 0, false, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, rest, err := NewBatch(tc.wire)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadFraming) {
					t.Errorf("err %v, want ErrBadFraming", err)
				}
				return
			}
			if b.Len() != tc.n || b.EndOfStream() != tc.eos || len(rest) != tc.rest {
				t.Errorf("got %d messages, eos %v, %d bytes left; want %d, %v, %d", b.Len(), b.EndOfStream(), len(rest), tc.n, tc.eos, tc.rest)
			}
		})
	}
}

// RecvBatch from a u: input fed by our own output: whole containers, no
// call per record.
func BenchmarkSocketInputRecvBatch(b *testing.B) {
	e := testEnv(b)
	out, so := newTestOutput(b, e, "u:benchbatch:timeout=HALF_WAIT")
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	in, _ := newTestInput(b, e, "u:benchbatch")
	in.SetRequiredFormat(FormatUniRec, benchSpec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const chunk = 1024
	data := bytes.Repeat(benchRecord, chunk)
	go func() {
		for so.stats().Clients == 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		for ctx.Err() == nil {
			if _, err := out.SendFixed(ctx, data, len(benchRecord)); err != nil {
				return
			}
		}
	}()
	if _, _, err := in.RecvBatch(ctx); err != nil {
		b.Fatal(err)
	}
	records := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		batch, _, err := in.RecvBatch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		records += batch.Len()
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records)/float64(b.N), "records/op")
}

// SendBatch of whole containers into a u: output with one client draining it.
func BenchmarkSocketOutputSendBatch(b *testing.B) {
	out, so := newTestOutput(b, testEnv(b), "u:benchsendbatch")
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	c := outputDial(b, so)
	go io.Copy(io.Discard, c)
	waitClients(b, so, 1)
	var wire []byte
	for len(wire)+2+len(benchRecord) <= MaxPayload {
		wire = AppendMessage(wire, benchRecord)
	}
	batch, _, err := NewBatch(wire)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Fill the ring once: its containers are allocated on first use.
	for range 2 * DefaultBufferCount {
		if err := out.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := out.SendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(batch.Len())/b.Elapsed().Seconds(), "records/s")
}

// Whole containers into a u: output with 1 and 4 clients draining it. The
// cpu-ns/record metric is the process's CPU time (all goroutines: sender,
// per-client writers, and the test's readers) per record.
func BenchmarkSocketOutputFanout(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			out, so := newTestOutput(b, testEnv(b), "u:benchfan")
			if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
				b.Fatal(err)
			}
			for range clients {
				c := outputDial(b, so)
				go io.Copy(io.Discard, c)
			}
			waitClients(b, so, clients)
			var wire []byte
			for len(wire)+2+len(benchRecord) <= MaxPayload {
				wire = AppendMessage(wire, benchRecord)
			}
			batch, _, _ := NewBatch(wire)
			ctx := context.Background()
			for range 2 * DefaultBufferCount {
				if err := out.SendBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			cpu0 := processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := out.SendBatch(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			records := float64(b.N) * float64(batch.Len())
			b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(processCPU()-cpu0)/records, "cpu-ns/record")
		})
	}
}

// FuzzNewBatch splits arbitrary bytes as a container payload: no panic,
// and a batch re-encodes to exactly the bytes it was cut from.
func FuzzNewBatch(f *testing.F) {
	if dir, ok := socketGoldenDir(); ok {
		for _, name := range []string{"basic_flows.trapcap", "strings.trapcap", "arrays.trapcap"} {
			// The payload of the capture's first buffer.
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) > HelloHeaderSize {
				off := HelloHeaderSize + int(binary.BigEndian.Uint32(b[4:8]))
				if off+FileBufferHeaderSize <= len(b) {
					p := b[off+FileBufferHeaderSize:]
					f.Add(p[:min(len(p), int(binary.BigEndian.Uint32(b[off:])))])
				}
			}
		}
	}
	f.Add(AppendMessage(AppendMessage(AppendMessage(nil, []byte("ab")), EOS), []byte("after")))
	f.Add([]byte{0, 9, 1})
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, rest, err := NewBatch(payload)
		if err != nil {
			if b.Len() != 0 || rest != nil {
				t.Fatalf("error %v with a batch of %d and %d bytes left", err, b.Len(), len(rest))
			}
			return
		}
		var wire []byte
		n := 0
		for m := range b.All() {
			if len(m) <= 1 {
				t.Fatalf("end-of-stream message inside the batch")
			}
			wire = AppendMessage(wire, m)
			n++
		}
		if n != b.Len() || !bytes.Equal(wire, b.Wire()) || !bytes.Equal(payload[:len(wire)], wire) {
			t.Fatalf("batch of %d messages re-encodes to %d bytes, counted %d", b.Len(), len(wire), n)
		}
		if !b.EndOfStream() && len(wire) != len(payload) {
			t.Fatalf("%d bytes after the batch without an end of stream", len(payload)-len(wire))
		}
	})
}

// Splitting a full container of basic-flow records into a batch: the walk
// over the length prefixes that RecvBatch does once per container.
func BenchmarkNewBatch(b *testing.B) {
	var wire []byte
	for len(wire)+2+len(benchRecord) <= MaxPayload {
		wire = AppendMessage(wire, benchRecord)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		batch, _, err := NewBatch(wire)
		if err != nil {
			b.Fatal(err)
		}
		n += batch.Len()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// A file output writes a batch exactly as it writes the same messages sent
// one by one.
func TestFileOutputSendBatchEqualsSend(t *testing.T) {
	msgs := manyMessages(3000)
	var wire []byte
	for _, m := range msgs {
		wire = AppendMessage(wire, m)
	}
	batch, _, err := NewBatch(wire)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []string{"", ":buffer=off"} {
		write := func(name string, viaBatch bool) []byte {
			path := filepath.Join(t.TempDir(), name)
			fo := mustOutput(t, "f:"+path+opts, nil)
			out := newOutput(fo, mustSpec(t, "f:"+path+opts))
			if err := out.SetDataFormat(FormatRaw, ""); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if viaBatch {
				if err := out.SendBatch(ctx, batch); err != nil {
					t.Fatal(err)
				}
			} else {
				for _, m := range msgs {
					if err := out.Send(ctx, m); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := out.Close(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if one, batched := write("one.trapcap", false), write("batch.trapcap", true); !bytes.Equal(one, batched) {
			t.Errorf("%q: batched file (%d bytes) differs from one by one (%d bytes)", opts, len(batched), len(one))
		}
	}
}
