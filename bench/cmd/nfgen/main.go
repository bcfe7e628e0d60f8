// Command nfgen sends deterministic NetFlow v9 flows over UDP, to fill an
// nfcapd with a large, varied nfdump file for bench/nfdump.sh.
//
//	nfgen -addr 127.0.0.1:9995 -n 2000000 -pps 40000
//
// Flow i is IPv6 when i%10 == 9, IPv4 otherwise; addresses, ports,
// protocol, counters, interfaces, AS numbers and times vary with i (see
// flowAt). Packets carry up to 24 flows in one v4 and one v6 data flowset;
// both templates go out in the first packet and then every 500 packets.
// -pps paces the sender so that a loopback nfcapd does not drop packets.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9995", "collector UDP address")
	n := flag.Int("n", 2000000, "number of flows")
	pps := flag.Int("pps", 40000, "packets per second (0: unpaced)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := send(ctx, *addr, *n, *pps); err != nil {
		fmt.Fprintln(os.Stderr, "nfgen:", err)
		os.Exit(1)
	}
}

// send generates n flows and writes them to addr at pps packets/s.
func send(ctx context.Context, addr string, n, pps int) error {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	var (
		b       packetBuilder
		start   = time.Now()
		packets int
	)
	for i := 0; i < n; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		k := min(flowsPerPacket, n-i)
		pkt := b.packet(uint32(packets), i, k, packets%500 == 0)
		if _, err := conn.Write(pkt); err != nil {
			return fmt.Errorf("send packet %d: %w", packets, err)
		}
		packets++
		i += k
		if pps > 0 {
			due := start.Add(time.Duration(packets) * time.Second / time.Duration(pps))
			if d := time.Until(due); d > time.Millisecond {
				time.Sleep(d)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "nfgen: %d flows in %d packets, %.1f s\n", n, packets, time.Since(start).Seconds())
	return nil
}
