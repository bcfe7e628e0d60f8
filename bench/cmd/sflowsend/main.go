// Command sflowsend sends synthetic sFlow v5 datagrams over UDP at a fixed
// sample rate, for load tests of sFlow collectors (bench/sflow.sh).
//
//	sflowsend -rate SAMPLES_PER_S -d DURATION [-per N] [-sampling N] HOST:PORT
//
// Each datagram (agent 192.0.2.1) carries -per flow samples, each with a
// raw packet header record of 128 bytes (Ethernet, 802.1Q, IPv4, TCP or
// UDP, varied addresses and ports) and an extended switch record, as
// switches send them. Datagrams are built once; only the datagram sequence
// number is patched while sending. At the end sflowsend prints "sent
// SAMPLES samples in DATAGRAMS datagrams in SECONDS s (RATE samples/s)".
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/flowgate/flowgate/internal/sflowgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "sflowsend: %v\n", err)
		os.Exit(2)
	}
}

// datagram builds datagram i of the ring.
func datagram(i, per int, sampling uint32) []byte {
	d := sflowgen.Datagram{Agent: netip.MustParseAddr("192.0.2.1")}
	for j := range per {
		n := i*per + j
		proto := uint8(6)
		if n%4 == 0 {
			proto = 17
		}
		src := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
		dst := netip.AddrFrom4([4]byte{172, 16, byte(n >> 8), byte(n % 251)})
		fr := sflowgen.Frame(sflowgen.Packet{VLAN: uint16(1 + n%100), Src: src, Dst: dst, Proto: proto,
			SrcPort: uint16(1024 + n%50000), DstPort: uint16(1 + n%1000), TCPFlags: 0x18, TTL: 64, Payload: 40 + n%1400})
		d.Samples = append(d.Samples, sflowgen.FlowSample{Sequence: uint32(n), SourceIDIndex: 3, SamplingRate: sampling,
			SamplePool: uint32(n) * sampling, Input: 3, Output: 4}.Flow(
			sflowgen.RawHeader(1, uint32(len(fr)+4), 4, fr[:min(len(fr), 128)]),
			sflowgen.ExtSwitch(uint32(1+n%100), 0, uint32(1+n%100), 0)))
	}
	return d.Bytes()
}

func run(args []string) error {
	fs := flag.NewFlagSet("sflowsend", flag.ContinueOnError)
	rate := fs.Float64("rate", 100000, "flow samples per second")
	dur := fs.Duration("d", 2*time.Second, "how long to send")
	per := fs.Int("per", 8, "flow samples per datagram")
	sampling := fs.Uint("sampling", 1, "sampling rate announced in every flow sample")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: sflowsend [-rate N] [-d DURATION] [-per N] [-sampling N] HOST:PORT")
	}
	if *rate <= 0 || *per < 1 || *per > 200 || *sampling < 1 {
		return fmt.Errorf("-rate must be > 0, -per from 1 to 200 and -sampling at least 1")
	}
	conn, err := net.Dial("udp", fs.Arg(0))
	if err != nil {
		return err
	}
	defer conn.Close()
	const ring = 256
	msgs := make([][]byte, ring)
	for i := range msgs {
		msgs[i] = datagram(i, *per, uint32(*sampling))
	}
	// The sequence number follows the 4-byte agent address type and
	// address and the sub-agent id.
	const seqOff = 16
	dgRate := *rate / float64(*per)
	start := time.Now()
	end := start.Add(*dur)
	var sent int
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		due := int(now.Sub(start).Seconds()*dgRate) + 1
		if sent >= due {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		for n := 0; sent < due && n < 64; n++ {
			msg := msgs[sent%ring]
			binary.BigEndian.PutUint32(msg[seqOff:], uint32(sent+1))
			if _, err := conn.Write(msg); err != nil {
				var ne *net.OpError
				if !errors.As(err, &ne) {
					return err
				}
			}
			sent++
		}
	}
	secs := time.Since(start).Seconds()
	samples := sent * *per
	fmt.Printf("sent %d samples in %d datagrams in %.3f s (%.0f samples/s)\n", samples, sent, secs, float64(samples)/secs)
	return nil
}
