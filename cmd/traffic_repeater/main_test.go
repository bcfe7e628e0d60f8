package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/trap"
)

// As with the C traffic_repeater -i f:A,f:B, B comes out identical to A.
func TestRepeaterFileToFileIsIdentity(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	for _, name := range []string{"basic_flows.trapcap", "strings.trapcap", "arrays.trapcap"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(dir, name)
			dst := filepath.Join(t.TempDir(), "copy.trapcap")
			var o bytes.Buffer
			if code := run(context.Background(), []string{"traffic_repeater", "-i", "f:" + src + ",f:" + dst}, &o, &o); code != 0 {
				t.Fatalf("exit %d: %s", code, o.String())
			}
			got, _ := os.ReadFile(dst)
			want, _ := os.ReadFile(src)
			if !bytes.Equal(got, want) {
				t.Errorf("copy has %d bytes, original %d", len(got), len(want))
			}
		})
	}
}

// Into a blackhole every data message is accepted and counted.
func TestRepeaterIntoBlackhole(t *testing.T) {
	dir := testutil.SharedTestdata(t, "trap")
	var o bytes.Buffer
	args := []string{"traffic_repeater", "-v", "-i", "f:" + filepath.Join(dir, "basic_flows.trapcap") + ",b:"}
	if code := run(context.Background(), args, &o, &o); code != 0 {
		t.Fatalf("exit %d: %s", code, o.String())
	}
	if o.String() != "20 messages forwarded\n" {
		t.Errorf("output %q, want the 20 records of basic_flows counted", o.String())
	}
}

// The repeater forwards whole buffers but stops at the end-of-stream
// message even in the middle of one: what follows it is not forwarded, the
// end of stream is (unless -n), and only data messages are counted.
func TestRepeaterStopsAtEndOfStreamInsideABuffer(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.trapcap")
	// One buffer: two records, the end of stream, one more record.
	writeTrapcapBuffer(t, src, "uint16 SRC_PORT", [][]byte{{1, 0}, {2, 0}, trap.EOS, {3, 0}})
	for _, tc := range []struct {
		name string
		args []string
		want [][]byte
	}{
		{"end of stream forwarded", nil, [][]byte{{1, 0}, {2, 0}, trap.EOS}},
		{"-n keeps it back", []string{"-n"}, [][]byte{{1, 0}, {2, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "out.trapcap")
			var o bytes.Buffer
			args := append([]string{"traffic_repeater", "-v", "-i", "f:" + src + ",f:" + dst}, tc.args...)
			if code := run(context.Background(), args, &o, &o); code != 0 {
				t.Fatalf("exit %d: %s", code, o.String())
			}
			if o.String() != "2 messages forwarded\n" {
				t.Errorf("output %q, want 2 messages forwarded", o.String())
			}
			raw, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			want := trap.AppendHello(nil, trap.Hello{Format: trap.FormatUniRec, Spec: "uint16 SRC_PORT"})
			var payload []byte
			for _, m := range tc.want {
				payload = trap.AppendMessage(payload, m)
			}
			want = binary.BigEndian.AppendUint32(want, uint32(len(payload)))
			want = append(want, payload...)
			if !bytes.Equal(raw, want) {
				t.Errorf("output file\n% x\nwant\n% x", raw, want)
			}
		})
	}
}

// writeTrapcapBuffer writes a .trapcap holding msgs in one buffer.
func writeTrapcapBuffer(t *testing.T, path, spec string, msgs [][]byte) {
	t.Helper()
	b := trap.AppendHello(nil, trap.Hello{Format: trap.FormatUniRec, Spec: spec})
	var payload []byte
	for _, m := range msgs {
		payload = trap.AppendMessage(payload, m)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	if err := os.WriteFile(path, append(b, payload...), 0o644); err != nil {
		t.Fatal(err)
	}
}
