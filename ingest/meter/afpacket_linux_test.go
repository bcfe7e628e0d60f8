package meter

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flowgate/flowgate/unirec"
)

// openLo opens an AF_PACKET capture on lo, skipping the test where raw
// sockets are not permitted (not root, no CAP_NET_RAW).
func openLo(t *testing.T, o LiveOptions) *AFPacketSource {
	t.Helper()
	o.Interface = "lo"
	src, err := OpenAFPacket(o)
	if errors.Is(err, os.ErrPermission) {
		t.Skipf("AF_PACKET not permitted here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// onlyUDPTo makes src keep only IPv4 UDP frames to dport (a classic BPF
// filter on the socket) and then reads out what lo carried before, so
// that the ring holds the test's own datagrams only: other traffic on lo
// (the rest of the suite, other processes) can neither fill the ring and
// make the kernel drop them nor queue ahead of them.
func onlyUDPTo(t *testing.T, src *AFPacketSource, dport uint16) {
	t.Helper()
	prog := []unix.SockFilter{
		{Code: 0x28, K: 12},                   // ldh [12]: EtherType
		{Code: 0x15, Jf: 5, K: 0x0800},        // jeq IPv4, else drop
		{Code: 0x30, K: 23},                   // ldb [23]: IP protocol
		{Code: 0x15, Jf: 3, K: 17},            // jeq UDP, else drop
		{Code: 0x28, K: 36},                   // ldh [36]: destination port (no IP options on lo)
		{Code: 0x15, Jf: 1, K: uint32(dport)}, // jeq dport, else drop
		{Code: 0x06, K: 1 << 18},              // ret: keep the frame
		{Code: 0x06, K: 0},                    // ret: drop
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(src.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		t.Fatalf("attaching the BPF filter: %v", err)
	}
	// Frames that came before the filter: read until the ring is empty.
	// With the filter on, nothing else arrives, so this ends.
	for {
		_, _, err := src.ReadPacket()
		if errors.Is(err, ErrNoPacket) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// stopAfter passes packets through from a live source and cancels the
// meter's context once it has returned n of them, so a test ends when its
// packets are metered and not on a wall-clock deadline.
type stopAfter struct {
	PacketSource
	n      int
	cancel context.CancelFunc
}

func (s *stopAfter) ReadPacket() ([]byte, time.Time, error) {
	data, ts, err := s.PacketSource.ReadPacket()
	if err == nil {
		if s.n--; s.n == 0 {
			s.cancel()
		}
	}
	return data, ts, err
}

// TestAFPacketMetersLoopbackUDP sends three UDP datagrams over lo and
// expects them metered as one flow of three packets (outgoing copies on the
// loopback are skipped, as libpcap does). Other traffic on lo is metered
// too and ignored.
func TestAFPacketMetersLoopbackUDP(t *testing.T) {
	src := openLo(t, LiveOptions{Timeout: 50 * time.Millisecond})
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	sport := uint16(tx.LocalAddr().(*net.UDPAddr).Port)
	dport := uint16(rx.LocalAddr().(*net.UDPAddr).Port)
	onlyUDPTo(t, src, dport)
	payload := []byte("flowgate af_packet test")
	ids := make([]unirec.FieldID, 4)

	type flow struct {
		packets uint32
		bytes   uint64
	}
	var got []flow
	m, err := New(Config{}, func(r unirec.Record) error {
		if r.Uint16(ids[0]) == sport && r.Uint16(ids[1]) == dport {
			got = append(got, flow{r.Uint32(ids[2]), r.Uint64(ids[3])})
		}
		return nil
	})
	if err == nil {
		err = lookup(m.Template(), "test", []string{"SRC_PORT", "DST_PORT", "PACKETS", "BYTES"}, ids)
	}
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := tx.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	// The deadline only bounds a failing test: Run ends once the three
	// datagrams (the incoming copies; outgoing ones are skipped) are read.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Run(ctx, &stopAfter{PacketSource: src, n: 3, cancel: cancel}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run on a live source ended with %v, want the context's cancellation after 3 packets", err)
	}
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	want := flow{packets: 3, bytes: 3 * uint64(20+8+len(payload))}
	if len(got) != 1 || got[0] != want {
		t.Errorf("flows %d->%d: %+v, want one %+v", sport, dport, got, want)
	}
}

func TestAFPacketSnaplenCutsFrames(t *testing.T) {
	src := openLo(t, LiveOptions{Snaplen: 60, Timeout: 50 * time.Millisecond})
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	onlyUDPTo(t, src, uint16(rx.LocalAddr().(*net.UDPAddr).Port))
	if _, err := rx.WriteToUDP(make([]byte, 500), rx.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // bounds a failing test only
	for time.Now().Before(deadline) {
		data, _, err := src.ReadPacket()
		if errors.Is(err, ErrNoPacket) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		if Parse(src.LinkType(), data, &p) == nil && p.IPLen == 20+8+500 {
			if len(data) != 60 {
				t.Errorf("captured %d bytes, want the snap length 60", len(data))
			}
			return
		}
	}
	t.Fatal("the 500-byte datagram was not captured")
}

func TestAFPacketQuietInterfaceTimesOut(t *testing.T) {
	// A fresh network namespace is not available in every CI, so an
	// interface with no traffic is simulated by reading past whatever lo
	// carries: the read must return ErrNoPacket rather than block.
	src := openLo(t, LiveOptions{Timeout: 20 * time.Millisecond})
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if _, _, err := src.ReadPacket(); errors.Is(err, ErrNoPacket) {
			return
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Skip("lo never went quiet for 20 ms")
}

func TestOpenAFPacketRejects(t *testing.T) {
	tests := []struct {
		name string
		o    LiveOptions
	}{
		{"unknown interface", LiveOptions{Interface: "no-such-ifc0"}},
		{"BPF filter without libpcap", LiveOptions{Interface: "lo", Filter: "udp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if src, err := OpenAFPacket(tc.o); err == nil {
				src.Close()
				t.Fatal("accepted")
			}
		})
	}
}

func TestAFPacketReadDoesNotAllocate(t *testing.T) {
	src := openLo(t, LiveOptions{Timeout: time.Millisecond})
	if n := testing.AllocsPerRun(20, func() { _, _, _ = src.ReadPacket() }); n != 0 {
		t.Errorf("%v allocations per read", n)
	}
}

// A tag the kernel stripped comes back in front of the EtherType, so the
// VLAN id is in the flow key as it is for a pcap of the same traffic.
func TestInsertVLANRestoresStrippedTag(t *testing.T) {
	tagged := frame(l4{proto: protoUDP, sport: 1, dport: 2, src: ipA, dst: ipB, srcMAC: macA, dstMAC: macB, vlans: []uint16{123}})
	untagged := frame(l4{proto: protoUDP, sport: 1, dport: 2, src: ipA, dst: ipB, srcMAC: macA, dstMAC: macB})
	buf := make([]byte, vlanHeadroom+len(untagged))
	copy(buf[vlanHeadroom:], untagged)
	got := insertVLAN(buf, len(untagged), 0x8100, 123)
	if string(got) != string(tagged) {
		t.Fatalf("restored frame\n%x\nwant\n%x", got, tagged)
	}
	var p Packet
	if err := Parse(LinkEthernet, got, &p); err != nil || p.VLANID != 123 {
		t.Errorf("parsed VLAN %d, %v; want 123", p.VLANID, err)
	}
}

// FuzzRingFrame: arbitrary block bytes at any offset never make the frame
// reader return data outside the block.
func FuzzRingFrame(f *testing.F) {
	blk := make([]byte, 256)
	binary.NativeEndian.PutUint32(blk[pktSnaplen:], 60)
	binary.NativeEndian.PutUint16(blk[pktMac:], 82)
	binary.NativeEndian.PutUint32(blk[pktStatus:], unix.TP_STATUS_VLAN_VALID)
	binary.NativeEndian.PutUint32(blk[pktVlanTCI:], 150)
	f.Add(blk, 0)
	f.Add(blk[:100], 0)
	f.Add(blk, 200)
	f.Fuzz(func(t *testing.T, b []byte, off int) {
		fr, ok := ringFrame(b, off)
		if !ok {
			return
		}
		if len(fr.data) > len(b)-off-pktHdrLen {
			t.Fatalf("frame of %d bytes from a %d-byte block at %d", len(fr.data), len(b), off)
		}
	})
}

func TestRingFrameVLAN(t *testing.T) {
	blk := make([]byte, 256)
	binary.NativeEndian.PutUint32(blk[pktNext:], 128)
	binary.NativeEndian.PutUint32(blk[pktSnaplen:], 60)
	binary.NativeEndian.PutUint16(blk[pktMac:], 82)
	binary.NativeEndian.PutUint32(blk[pktStatus:], unix.TP_STATUS_VLAN_VALID|unix.TP_STATUS_VLAN_TPID_VALID)
	binary.NativeEndian.PutUint32(blk[pktVlanTCI:], 7)
	binary.NativeEndian.PutUint16(blk[pktVlanTPID:], 0x88a8)
	fr, ok := ringFrame(blk, 0)
	if !ok || fr.next != 128 || len(fr.data) != 60 || !fr.vlan || fr.tci != 7 || fr.tpid != 0x88a8 {
		t.Errorf("frame %+v, %v", fr, ok)
	}
	binary.NativeEndian.PutUint32(blk[pktSnaplen:], 200) // past the block
	if _, ok := ringFrame(blk, 0); ok {
		t.Error("frame running past the block accepted")
	}
}
