package ingest

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

// One recvmmsg call returns several queued datagrams with their senders
// (IPv4 on a dual-stack socket comes out unmapped), and reading allocates
// nothing.
func TestBatchReaderReadsQueuedDatagrams(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Skipf("no dual-stack UDP socket: %v", err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	br, err := newBatchReader(conn)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		from netip.AddrPort
		msg  string
	}
	var want []sent
	for _, network := range []string{"udp4", "udp6"} {
		host := "127.0.0.1"
		if network == "udp6" {
			host = "::1"
		}
		s, err := net.Dial(network, net.JoinHostPort(host, fmt.Sprint(port)))
		if err != nil {
			t.Logf("%s: %v", network, err)
			continue
		}
		defer s.Close()
		from := netip.MustParseAddrPort(s.LocalAddr().String())
		for i := range 3 {
			m := fmt.Sprintf("%s message %d", network, i)
			if _, err := s.Write([]byte(m)); err != nil {
				t.Fatal(err)
			}
			want = append(want, sent{from, m})
		}
	}
	conn.SetReadDeadline(time.Now().Add(testutil.WaitTimeout))
	var got []sent
	for len(got) < len(want) {
		n, err := br.Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			msg, from, err := br.Message(i)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sent{from, string(msg)})
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}

	s, err := net.Dial("udp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := make([]byte, 1200)
	allocs := testing.AllocsPerRun(50, func() {
		s.Write(msg)
		if n, err := br.Read(); err != nil || n < 1 {
			t.Fatalf("read %d: %v", n, err)
		}
		_, _, _ = br.Message(0)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per batch read, want 0", allocs)
	}
}
