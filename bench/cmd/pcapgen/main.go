// Command pcapgen writes a synthetic capture for metering benchmarks: a
// little-endian microsecond pcap of Ethernet/IPv4 frames, N packets spread
// evenly over F concurrent flows (TCP, and UDP for every fourth flow).
//
//	pcapgen -n 2000000 -f 50000 -o bench.pcap
//
// The packets go round-robin over the flows in a scrambled order (packet k
// belongs to flow k*7919 mod F within each round of F packets), so that
// consecutive packets hit different flows as on a busy link, and directions
// alternate by round: every flow is a biflow. TCP flows open with SYN and
// SYN+ACK and carry ACK|PSH afterwards. Packets are 5 µs apart, so no flow
// reaches an inactive or active timeout. Payloads are 0-47 zero bytes; IPv4
// header checksums are valid, TCP/UDP checksums are left 0. Everything is a
// function of (k, F) alone, so the file is the same on every run.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 2_000_000, "number of packets")
	f := flag.Int("f", 50_000, "number of flows")
	out := flag.String("o", "", "output pcap file (- for standard output)")
	flag.Parse()
	if err := run(*n, *f, *out); err != nil {
		fmt.Fprintf(os.Stderr, "pcapgen: %v\n", err)
		os.Exit(1)
	}
}

func run(n, flows int, path string) error {
	if path == "" {
		return errors.New("-o FILE is required")
	}
	if n < 1 || flows < 1 || flows > 1<<24 {
		return fmt.Errorf("need -n >= 1 and 1 <= -f <= %d", 1<<24)
	}
	w := io.Writer(os.Stdout)
	if path != "-" {
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := write(bw, n, flows); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// start is the capture time of the first packet.
var start = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

const gap = 5 * time.Microsecond

func write(w io.Writer, n, flows int) error {
	le := binary.LittleEndian
	var hdr [24]byte
	le.PutUint32(hdr[0:], 0xa1b2c3d4)
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // Ethernet
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write pcap header: %w", err)
	}
	buf := make([]byte, 16+14+20+20+64)
	for k := 0; k < n; k++ {
		round := k / flows
		flow := int(uint64(k%flows) * 7919 % uint64(flows))
		frame := packet(buf[16:], flow, round)
		ts := start.Add(time.Duration(k) * gap)
		le.PutUint32(buf[0:], uint32(ts.Unix()))
		le.PutUint32(buf[4:], uint32(ts.Nanosecond()/1000))
		le.PutUint32(buf[8:], uint32(len(frame)))
		le.PutUint32(buf[12:], uint32(len(frame)))
		if _, err := w.Write(buf[:16+len(frame)]); err != nil {
			return fmt.Errorf("write packet %d: %w", k, err)
		}
	}
	return nil
}

// packet builds the frame of flow i in the given round into b.
func packet(b []byte, i, round int) []byte {
	be := binary.BigEndian
	udp := i%4 == 3
	fwd := round%2 == 0
	payload := (i*31 + round*17) % 48
	l4 := 20
	if udp {
		l4 = 8
	}
	total := 20 + l4 + payload
	b = b[:14+total]
	clear(b)

	client := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
	server := [4]byte{192, 168, byte(i % 200), byte(1 + i%250)}
	cport := uint16(1024 + i%60000)
	sport := [...]uint16{80, 443, 8080, 53, 25, 22, 993, 123}[i%8]
	cmac := [6]byte{0x02, 0, byte(i >> 16), byte(i >> 8), byte(i), 1}
	smac := [6]byte{0x02, 0, 0, 0, 0, 0xfe}
	src, dst, sp, dp, smacb, dmacb := client, server, cport, sport, cmac, smac
	if !fwd {
		src, dst, sp, dp, smacb, dmacb = server, client, sport, cport, smac, cmac
	}

	copy(b[0:6], dmacb[:])
	copy(b[6:12], smacb[:])
	be.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	be.PutUint16(ip[2:], uint16(total))
	be.PutUint16(ip[4:], uint16(round))
	ip[8] = 64
	ip[9] = 6
	if udp {
		ip[9] = 17
	}
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	be.PutUint16(ip[10:], ipChecksum(ip[:20]))

	l := ip[20:]
	be.PutUint16(l[0:], sp)
	be.PutUint16(l[2:], dp)
	if udp {
		be.PutUint16(l[4:], uint16(8+payload))
		return b
	}
	be.PutUint32(l[4:], uint32(round)*1000)
	l[12] = 5 << 4
	switch round {
	case 0:
		l[13] = 0x02 // SYN
	case 1:
		l[13] = 0x12 // SYN+ACK
	default:
		l[13] = 0x18 // ACK|PSH
	}
	be.PutUint16(l[14:], 65535)
	return b
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
