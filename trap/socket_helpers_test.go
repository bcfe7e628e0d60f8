package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/flowgate/flowgate/internal/testutil"
)

// readTrapcap splits a .trapcap file into its hello and its messages.
func readTrapcap(t testing.TB, path string) (Hello, [][]byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	h, err := ReadHello(r)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var msgs [][]byte
	for r.Len() > 0 {
		var p [FileBufferHeaderSize]byte
		if _, err := io.ReadFull(r, p[:]); err != nil {
			t.Fatalf("%s: buffer header: %v", path, err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(p[:]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("%s: buffer payload: %v", path, err)
		}
		for len(payload) > 0 {
			var m []byte
			if m, payload, err = NextMessage(payload); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			msgs = append(msgs, m)
		}
	}
	return h, msgs
}

// decodeStream splits a socket byte stream (hello, containers) into its
// hello, messages and container sequence numbers.
func decodeStream(t testing.TB, raw []byte) (Hello, [][]byte, []uint64) {
	t.Helper()
	r := bytes.NewReader(raw)
	h, err := ReadHello(r)
	if err != nil {
		t.Fatalf("stream hello: %v", err)
	}
	var msgs [][]byte
	var seqs []uint64
	for r.Len() > 0 {
		var hdr [ContainerHeaderSize]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("container header: %v", err)
		}
		p, seq, count := ParseContainerHeader(hdr[:])
		seqs = append(seqs, seq)
		payload := make([]byte, p)
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("container payload: %v", err)
		}
		n := 0
		for len(payload) > 0 {
			var m []byte
			if m, payload, err = NextMessage(payload); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
			n++
		}
		if n != int(count) {
			t.Fatalf("container count %d, holds %d messages", count, n)
		}
	}
	return h, msgs, seqs
}

// testEnv gives each test its own short socket directory (a UNIX socket
// path must stay below 108 bytes, which t.TempDir names can exceed).
func testEnv(t testing.TB) env {
	t.Helper()
	return env{socketDir: testutil.ShortDir(t), log: zap.NewNop()}
}

func mustSpec(t testing.TB, s string) IfcSpec {
	t.Helper()
	sps, err := ParseIFCSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return sps[0]
}

// newTestOutput opens a socket output and closes it when the test ends.
func newTestOutput(t testing.TB, e env, spec string) (*Output, *socketOutput) {
	t.Helper()
	sp := mustSpec(t, spec)
	ifc, err := newSocketOutput(sp, e)
	if err != nil {
		t.Fatal(err)
	}
	so := ifc.(*socketOutput)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		so.close(ctx)
	})
	return newOutput(ifc, sp), so
}

// newTestInput opens a socket input with a short reconnect pause.
func newTestInput(t testing.TB, e env, spec string) (*Input, *socketInput) {
	t.Helper()
	sp := mustSpec(t, spec)
	ifc, err := newSocketInput(sp, e)
	if err != nil {
		t.Fatal(err)
	}
	si := ifc.(*socketInput)
	si.retryInterval = 10 * time.Millisecond
	t.Cleanup(func() { si.close() })
	return newInput(ifc, sp), si
}

// outputDial connects a raw client to a socket output.
func outputDial(t testing.TB, so *socketOutput) net.Conn {
	t.Helper()
	c, err := net.Dial(so.addr().Network(), so.addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recordAll reads c until EOF in the background.
func recordAll(c net.Conn) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		ch <- b
	}()
	return ch
}

// waitClients waits until the output has n registered clients.
func waitClients(t testing.TB, so *socketOutput, n int) {
	t.Helper()
	if !testutil.Eventually(testutil.WaitTimeout, func() bool { return so.stats().Clients == n }) {
		t.Fatalf("output never had %d clients (has %d)", n, so.stats().Clients)
	}
}

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedTestdata(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testMessage(i, size int) []byte {
	m := make([]byte, size)
	copy(m, fmt.Sprintf("message %08d ", i))
	for j := 16; j < size; j++ {
		m[j] = byte(i + j)
	}
	return m
}
