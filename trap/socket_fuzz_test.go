package trap

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// bytesConn is a net.Conn that plays a fixed byte stream and then EOF.
type bytesConn struct {
	r *bytes.Reader
}

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return 0, errors.New("input must not write") }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzSocketInput feeds arbitrary bytes as an output's stream into a socket
// input and splits what it yields into messages (Recv) or batches
// (RecvBatch): errors are fine, panics and writes to the socket are not.
func FuzzSocketInput(f *testing.F) {
	if dir, ok := socketGoldenDir(); ok {
		for _, name := range []string{
			"sock_basic_flows_bufon.server_to_client.bin",
			"sock_strings_bufoff.server_to_client.bin",
			"sock_arrays_bufon.server_to_client.bin",
			"output_fmt_unknown.server_to_client.bin",
			"fmtchange_first_conn.server_to_client.bin",
		} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 'x', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1})
	f.Add([]byte{9, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, stream []byte) {
		dials := 0
		si := &socketInput{
			ep:  socketEndpoint{kind: KindUNIX, network: "unix", id: "fuzz"},
			log: zap.NewNop(),
			dial: func(context.Context) (net.Conn, error) {
				dials++
				if dials > 1 {
					return nil, errors.New("connection refused")
				}
				return &bytesConn{r: bytes.NewReader(stream)}, nil
			},
		}
		in := newInput(si, IfcSpec{Kind: KindUNIX, Raw: "u:fuzz", Timeout: NoWait})
		in.SetRequiredFormat(FormatUniRec, "")
		ctx := context.Background()
		// Odd-length streams go through RecvBatch, the others through Recv.
		batches := len(stream)%2 == 1
		for range len(stream) + 4 {
			if batches {
				b, _, err := in.RecvBatch(ctx)
				if errors.Is(err, ErrTimeout) {
					return
				}
				if err == nil && len(b.Wire()) > MaxPayload {
					t.Fatalf("batch of %d bytes", len(b.Wire()))
				}
				continue
			}
			m, _, err := in.Recv(ctx)
			if errors.Is(err, ErrTimeout) {
				return
			}
			if err == nil && len(m) > MaxMessage {
				t.Fatalf("message of %d bytes", len(m))
			}
		}
	})
}

// socketGoldenDir finds the shared golden folder without a testing.T.
func socketGoldenDir() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "testdata", "trap")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}
