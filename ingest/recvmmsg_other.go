//go:build !linux

package ingest

import (
	"errors"
	"net"
	"net/netip"

	"github.com/flowgate/flowgate/collector"
)

// batchReader reads one datagram per call outside Linux (no recvmmsg).
type batchReader struct {
	conn *net.UDPConn
	buf  []byte
	n    int
	from netip.AddrPort
}

var errTruncated = errors.New("datagram longer than the receive buffer, cut")

func newBatchReader(conn *net.UDPConn) (*batchReader, error) {
	return &batchReader{conn: conn, buf: make([]byte, collector.MaxMessageLen)}, nil
}

func (b *batchReader) Read() (int, error) {
	n, from, err := b.conn.ReadFromUDPAddrPort(b.buf)
	if err != nil {
		return 0, err
	}
	b.n, b.from = n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	return 1, nil
}

func (b *batchReader) Message(int) ([]byte, netip.AddrPort, error) { return b.buf[:b.n], b.from, nil }

func (b *batchReader) Drops(int) (uint32, bool) { return 0, false }
