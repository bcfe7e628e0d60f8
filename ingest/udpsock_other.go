//go:build !linux

package ingest

import (
	"net"
	"net/netip"
	"time"
)

// udpSocket is a collector's UDP socket; outside Linux it is read through
// the runtime poller.
type udpSocket struct{ conn *net.UDPConn }

func newUDPSocket(conn *net.UDPConn) (*udpSocket, error) { return &udpSocket{conn: conn}, nil }

// LocalAddr returns the bound address.
func (s *udpSocket) LocalAddr() netip.AddrPort { return s.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// SetReadDeadline makes reads fail with os.ErrDeadlineExceeded from t on.
func (s *udpSocket) SetReadDeadline(t time.Time) { s.conn.SetReadDeadline(t) }

// Close closes the socket; reads fail with net.ErrClosed.
func (s *udpSocket) Close() error { return s.conn.Close() }

// discardQueued would count the datagrams left queued at a stop; through
// the runtime poller a read past the deadline fails before it looks, so
// outside Linux they are not counted.
func (s *udpSocket) discardQueued() (int, uint32, bool) { return 0, 0, false }

// reader returns a batch reader of the socket.
func (s *udpSocket) reader() (*batchReader, error) { return newBatchReader(s.conn) }
