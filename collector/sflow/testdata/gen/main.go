// Command gen is the generator behind the sFlow golden files in the parent
// directory (see ../README.md and ../make.sh). It is not part of Flowgate: it
// lives under testdata so `go build ./...` skips it, and it is run with
// `go run ./collector/sflow/testdata/gen SUBCOMMAND ...` from the repo root.
//
// Subcommands:
//
//	capture -out F.pcap -portfile P   receive UDP datagrams on 127.0.0.1:0 (port
//	                                  written to P) and store them in a pcap until
//	                                  SIGINT/SIGTERM
//	goflow2 -in F.pcap -out F.json    decode every datagram with goflow2's sFlow
//	                                  decoder and proto producer, JSON line per
//	                                  flow sample
//	goflow2raw -in F.pcap -out F.json goflow2's raw producer: one JSON line per
//	                                  datagram with every sample (flow and counter)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/netsampler/goflow2/v2/decoders/sflow"
	_ "github.com/netsampler/goflow2/v2/format/json"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
	rawproducer "github.com/netsampler/goflow2/v2/producer/raw"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gen capture|goflow2|goflow2raw [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "capture":
		err = capture(os.Args[2:])
	case "goflow2":
		err = decode(os.Args[2:], false)
	case "goflow2raw":
		err = decode(os.Args[2:], true)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// capture stores each received datagram as an Ethernet/IPv4/UDP frame (zero
// MACs, like Linux lo) with the real source and destination address and port
// and the receive time as the pcap timestamp.
func capture(args []string) error {
	fs := flag.NewFlagSet("capture", flag.ExitOnError)
	out := fs.String("out", "", "pcap file to write")
	portfile := fs.String("portfile", "", "file that receives the UDP port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	if err := os.WriteFile(*portfile, []byte(strconv.Itoa(local.Port)+"\n"), 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); conn.SetReadDeadline(time.Now()) }()
	buf := make([]byte, 65535)
	n := 0
	for {
		l, src, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("read: %w", err)
		}
		now := time.Now()
		frame, err := encapsulate(buf[:l], src, netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(local.Port)))
		if err != nil {
			return err
		}
		ci := gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(frame), Length: len(frame)}
		if err := w.WritePacket(ci, frame); err != nil {
			return err
		}
		n++
	}
	fmt.Fprintf(os.Stderr, "gen capture: %d datagrams to %s\n", n, *out)
	return nil
}

func encapsulate(payload []byte, src, dst netip.AddrPort) ([]byte, error) {
	eth := &layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolUDP,
		SrcIP: src.Addr().Unmap().AsSlice(), DstIP: dst.Addr().AsSlice()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	sb := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload))
	return sb.Bytes(), err
}

type datagram struct {
	ts      time.Time
	src     netip.AddrPort
	dst     netip.AddrPort
	payload []byte
}

func readPcap(path string) ([]datagram, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []datagram
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || p.NetworkLayer() == nil {
			return nil, fmt.Errorf("%s: packet %d is not UDP", path, len(out)+1)
		}
		s, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Src().Raw())
		d, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Dst().Raw())
		out = append(out, datagram{ts: ci.Timestamp, src: netip.AddrPortFrom(s, uint16(udp.SrcPort)),
			dst: netip.AddrPortFrom(d, uint16(udp.DstPort)), payload: udp.Payload})
	}
}

// decode runs goflow2 the way its collector does for sFlow: DecodeMessageVersion
// on the UDP payload, then the producer with the packet's source address and
// pcap timestamp as receive time; each produced message is one JSON line.
func decode(args []string, raw bool) error {
	fs := flag.NewFlagSet("goflow2", flag.ExitOnError)
	in := fs.String("in", "", "pcap of sFlow datagrams")
	out := fs.String("out", "", "JSON lines output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dgs, err := readPcap(*in)
	if err != nil {
		return err
	}
	var prod producer.ProducerInterface
	if raw {
		prod = &rawproducer.RawProducer{}
	} else {
		var cfg *protoproducer.ProducerConfig
		cm, err := cfg.Compile()
		if err != nil {
			return err
		}
		if prod, err = protoproducer.CreateProtoProducer(cm, protoproducer.CreateSamplingSystem); err != nil {
			return err
		}
	}
	var w bytes.Buffer
	for i, dg := range dgs {
		var pkt sflow.Packet
		if err := sflow.DecodeMessageVersion(bytes.NewBuffer(dg.payload), &pkt); err != nil {
			return fmt.Errorf("datagram %d: %w", i+1, err)
		}
		msgs, err := prod.Produce(&pkt, &producer.ProduceArgs{Src: dg.src, Dst: dg.dst,
			SamplerAddress: dg.src.Addr(), TimeReceived: dg.ts.UTC()})
		if err != nil {
			return fmt.Errorf("datagram %d: %w", i+1, err)
		}
		for _, m := range msgs {
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("datagram %d: %w", i+1, err)
			}
			w.Write(b)
			w.WriteByte('\n')
		}
		prod.Commit(msgs)
	}
	return os.WriteFile(*out, w.Bytes(), 0o644)
}
