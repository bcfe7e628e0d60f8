package ingest

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/flowgate/flowgate/internal/testutil"
)

func newTestSocket(t *testing.T) *udpSocket {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := newUDPSocket(conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// socketWithThree returns a test socket, its reader and a connected
// sender that has sent it the datagrams "one", "two" and "three".
func socketWithThree(t *testing.T) (*udpSocket, *batchReader, net.Conn) {
	t.Helper()
	s := newTestSocket(t)
	br, err := s.reader()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", s.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, m := range []string{"one", "two", "three"} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	return s, br, c
}

// Close wakes a reader blocked in the kernel, which reports net.ErrClosed
// (not the empty datagram the shutdown makes the call return).
func TestUDPSocketCloseWakesReader(t *testing.T) {
	s := newTestSocket(t)
	br, err := s.reader()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := br.Read(); done <- err }()
	time.Sleep(10 * time.Millisecond) // let it block (the outcome is the same if it has not)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(testutil.WaitTimeout):
		t.Fatal("Read still blocked after Close")
	}
}

// Datagrams are read in batches with their sender; a read deadline ends a
// wait with os.ErrDeadlineExceeded.
func TestUDPSocketReadsAndTimesOut(t *testing.T) {
	s, br, c := socketWithThree(t)
	var got []string
	for len(got) < 3 {
		n, err := br.Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			msg, from, err := br.Message(i)
			if err != nil || from.String() != c.LocalAddr().String() {
				t.Fatalf("datagram %q from %v: %v", msg, from, err)
			}
			got = append(got, string(msg))
		}
	}
	if got[0] != "one" || got[2] != "three" {
		t.Errorf("got %q", got)
	}
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := br.Read(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	x := []byte("x")
	if a := testing.AllocsPerRun(10, func() { c.Write(x); br.Read() }); a > 0 {
		t.Errorf("%.1f allocations per read", a)
	}
}

// Pacing halves the pause when the datagrams that came during one filled
// more than a quarter of the receive buffer, doubles it back when they
// took little, and leaves it alone while batches come full.
func TestUDPSocketPaceAdapts(t *testing.T) {
	s := &udpSocket{rcvbuf: 64 * (1000 + skbOverhead)} // 64 datagrams of 1000 bytes fill it
	b := newBatchBuffers(sockBatch)
	b.sock, b.pause = s, maxPause
	fill := func(n, size int) {
		for i := range n {
			b.hdrs[i].n = uint32(size)
		}
	}
	b.pace(3) // a partial batch: sleeps, and the next run is measured
	if !b.paused || b.pause != maxPause {
		t.Fatalf("after a drained socket: paused %v, pause %v", b.paused, b.pause)
	}
	fill(sockBatch, 1000)
	b.pace(sockBatch) // full: read on, nothing decided yet
	if b.pause != maxPause || b.runMem != sockBatch*(1000+skbOverhead) {
		t.Fatalf("after a full batch: pause %v, run %d bytes", b.pause, b.runMem)
	}
	b.pace(2) // the run held more than the whole buffer: halve
	if b.pause != maxPause/2 {
		t.Fatalf("pause %v after a run of a buffer's worth, want %v", b.pause, maxPause/2)
	}
	for range 20 {
		fill(sockBatch, 1000)
		b.pace(sockBatch)
		b.pace(1)
	}
	if b.pause != minPause {
		t.Fatalf("pause %v under a flood, want the minimum %v", b.pause, minPause)
	}
	fill(1, 10)
	for range 20 {
		b.pace(1) // trickle: back up
	}
	if b.pause != maxPause {
		t.Fatalf("pause %v for a trickle, want %v", b.pause, maxPause)
	}
}

// A reader that first runs after its deadline has passed still gets the
// datagrams already queued (a stop right after they arrived must not leave
// them unread), and only then os.ErrDeadlineExceeded, without waiting.
func TestUDPSocketPastDeadlineReadsWhatIsQueued(t *testing.T) {
	s, br, _ := socketWithThree(t)
	s.SetReadDeadline(time.Unix(1, 0)) // long past
	got := 0
	for {
		n, err := br.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	if got != 3 {
		t.Errorf("read %d queued datagrams past the deadline, want 3", got)
	}
}
