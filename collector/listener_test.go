package collector

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// lockedSink counts records from several reader goroutines.
type lockedSink struct {
	mu sync.Mutex
	n  int
}

func (s *lockedSink) Record(Exporter, unirec.Record) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
}

func (s *lockedSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestListenerLoopback replays the golden captures over loopback UDP
// (IPv4 and IPv6, two SO_REUSEPORT sockets) and the IPFIX TCP stream, then
// cancels the context and checks that every reader stops.
func TestListenerLoopback(t *testing.T) {
	dir := filepath.Join(testdataDir(t), "netflow")
	tmpl, err := unirec.ParseTemplate(goldenTemplate)
	if err != nil {
		t.Fatal(err)
	}
	sink := &lockedSink{}
	d, err := NewDecoder(Config{Output: tmpl}, sink)
	if err != nil {
		t.Fatal(err)
	}
	var errMu sync.Mutex
	var errs []error
	l := NewListener(ListenerConfig{UDP: []string{"127.0.0.1:0", "[::1]:0"}, TCP: []string{"127.0.0.1:0"}, Sockets: 2, ReadBuffer: 1 << 20}, d,
		func(err error) { errMu.Lock(); errs = append(errs, err); errMu.Unlock() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.Start(ctx); err != nil {
		if _, statErr := os.Stat("/proc/net/if_inet6"); statErr != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		t.Fatal(err)
	}
	udpAddrs := l.UDPAddrs()
	if len(udpAddrs) != 4 || udpAddrs[0].Port() != udpAddrs[1].Port() {
		t.Fatalf("UDP sockets %v: want 2 per address sharing a port", udpAddrs)
	}
	want := 0
	for i, name := range []string{"flowgen_v9_v4v6_sampled", "softflowd_ipfix"} {
		pkts, _, _ := readPcap(t, filepath.Join(dir, name+".pcap"))
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(udpAddrs[2*i]))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			if _, err := c.Write(p.payload); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond) // templates first; loopback does not reorder, but avoid drops
		}
		c.Close()
		want += map[string]int{"flowgen_v9_v4v6_sampled": 60, "softflowd_ipfix": 74}[name]
	}
	_, _, stream := readPcap(t, filepath.Join(dir, "flowgen_ipfix_tcp.pcap"))
	tc, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(l.TCPAddrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	for len(stream) > 0 { // odd-sized writes: message boundaries must come from the length field
		n := min(len(stream), 333)
		if _, err := tc.Write(stream[:n]); err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
	}
	want += 40
	waitFor(t, "all records", func() bool { return sink.count() >= want })
	tc.Close()
	cancel()
	done := make(chan struct{})
	go func() { l.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("readers did not stop after cancel")
	}
	if got := sink.count(); got != want {
		t.Errorf("%d records, want %d", got, want)
	}
	errMu.Lock()
	defer errMu.Unlock()
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

func TestListenerReportsBindErrors(t *testing.T) {
	d, _ := newTestDecoder(t, Config{})
	l := NewListener(ListenerConfig{UDP: []string{"256.0.0.1:1"}}, d, nil)
	if err := l.Start(context.Background()); err == nil {
		t.Fatal("bound an invalid address")
	}
}

func TestListenerConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  ListenerConfig
		ok   bool
	}{
		{"default", DefaultListenerConfig(), true},
		{"nothing to listen on", ListenerConfig{}, false},
		{"negative sockets", ListenerConfig{UDP: []string{":2055"}, Sockets: -1}, false},
		{"negative read buffer", ListenerConfig{UDP: []string{":2055"}, ReadBuffer: -1}, false},
		{"address without port", ListenerConfig{TCP: []string{"127.0.0.1"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
