// Command flowsend sends synthetic NetFlow v9 or IPFIX export over UDP at a
// fixed flow rate, for load tests of collectors (bench/collector.sh).
//
//	flowsend -v 9|10 -rate FLOWS_PER_S -d DURATION [-per N] [-exporters N] HOST:PORT
//
// Each message carries -per IPv4 flow records of one 13-field template
// (addresses, ports, protocol, TCP flags, TOS, packets, bytes, start/end
// time, input/output interface). The template is sent first and then every
// 1000 messages. Messages are built once and only their header (sequence
// number, export time) is patched, so the sender spends its time in the
// socket call. At the end flowsend prints "sent FLOWS flows in MESSAGES
// messages in SECONDS s (RATE flows/s)" on stdout.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

// field is one template field: element id and length.
type field struct{ id, length uint16 }

// IPv4 flow fields shared by v9 and IPFIX; the times differ (v9:
// sysUptime-relative FIRST/LAST_SWITCHED, IPFIX: flowStart/EndMilliseconds).
var common = []field{
	{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {6, 1}, {5, 1}, {2, 4}, {1, 4}, {10, 2}, {14, 2},
}

const templateID = 256

type sender struct {
	version uint16
	per     int
	fields  []field
	recLen  int
	seq     uint32 // v9: messages; IPFIX: data records
	domain  uint32 // v9 source id / IPFIX observation domain
	boot    time.Time
}

func newSender(version uint16, per int) *sender {
	s := &sender{version: version, per: per, domain: 1, boot: time.Now().Add(-time.Hour)}
	s.fields = append([]field(nil), common...)
	if version == 9 {
		s.fields = append(s.fields, field{22, 4}, field{21, 4})
	} else {
		s.fields = append(s.fields, field{152, 8}, field{153, 8})
	}
	for _, f := range s.fields {
		s.recLen += int(f.length)
	}
	return s
}

func (s *sender) headerLen() int {
	if s.version == 9 {
		return 20
	}
	return 16
}

// templateSet returns the template (flow)set.
func (s *sender) templateSet() []byte {
	setID := uint16(0)
	if s.version == 10 {
		setID = 2
	}
	b := binary.BigEndian.AppendUint16(nil, setID)
	b = binary.BigEndian.AppendUint16(b, uint16(8+4*len(s.fields)))
	b = binary.BigEndian.AppendUint16(b, templateID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(s.fields)))
	for _, f := range s.fields {
		b = binary.BigEndian.AppendUint16(b, f.id)
		b = binary.BigEndian.AppendUint16(b, f.length)
	}
	return b
}

// dataMessage builds one message of s.per records (header left to patch),
// with flows numbered from first.
func (s *sender) dataMessage(first int, withTemplate bool) []byte {
	b := make([]byte, s.headerLen())
	if withTemplate {
		b = append(b, s.templateSet()...)
	}
	b = binary.BigEndian.AppendUint16(b, templateID)
	b = binary.BigEndian.AppendUint16(b, uint16(4+s.per*s.recLen))
	now := time.Now()
	for i := first; i < first+s.per; i++ {
		b = append(b, 10, byte(i>>16), byte(i>>8), byte(i))
		b = append(b, 192, 168, byte(i>>8), byte(i))
		b = binary.BigEndian.AppendUint16(b, uint16(1024+i%60000))
		b = binary.BigEndian.AppendUint16(b, uint16([]int{80, 443, 53, 22}[i%4]))
		b = append(b, []byte{6, 17}[i%2], byte(i%64), byte(i%4)<<2)
		b = binary.BigEndian.AppendUint32(b, uint32(1+i%100))
		b = binary.BigEndian.AppendUint32(b, uint32(40+i%1500))
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint16(b, 2)
		if s.version == 9 {
			up := uint32(now.Sub(s.boot).Milliseconds())
			b = binary.BigEndian.AppendUint32(b, up-1000)
			b = binary.BigEndian.AppendUint32(b, up)
		} else {
			ms := uint64(now.UnixMilli())
			b = binary.BigEndian.AppendUint64(b, ms-1000)
			b = binary.BigEndian.AppendUint64(b, ms)
		}
	}
	return b
}

// patch writes the header for the next message.
func (s *sender) patch(msg []byte, now time.Time, hasTemplate bool) {
	be := binary.BigEndian
	if s.version == 9 {
		count := uint16(s.per)
		if hasTemplate {
			count++
		}
		be.PutUint16(msg[0:], 9)
		be.PutUint16(msg[2:], count)
		be.PutUint32(msg[4:], uint32(now.Sub(s.boot).Milliseconds()))
		be.PutUint32(msg[8:], uint32(now.Unix()))
		be.PutUint32(msg[12:], s.seq)
		be.PutUint32(msg[16:], s.domain)
		s.seq++
		return
	}
	be.PutUint16(msg[0:], 10)
	be.PutUint16(msg[2:], uint16(len(msg)))
	be.PutUint32(msg[4:], uint32(now.Unix()))
	be.PutUint32(msg[8:], s.seq)
	be.PutUint32(msg[12:], s.domain)
	s.seq += uint32(s.per)
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "flowsend: %v\n", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("flowsend", flag.ContinueOnError)
	version := fs.Uint("v", 10, "export version: 9 (NetFlow v9) or 10 (IPFIX)")
	rate := fs.Float64("rate", 100000, "flows per second")
	dur := fs.Duration("d", 2*time.Second, "how long to send")
	per := fs.Int("per", 30, "flow records per message")
	exporters := fs.Int("exporters", 1, "number of exporters (1-250)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: flowsend [-v 9|10] [-rate N] [-d DURATION] [-per N] HOST:PORT")
	}
	if *version != 9 && *version != 10 {
		return fmt.Errorf("-v %d: want 9 or 10", *version)
	}
	if *rate <= 0 || *per < 1 || *per > 1000 || *exporters < 1 || *exporters > 250 {
		return fmt.Errorf("-rate must be > 0, -per from 1 to 1000 and -exporters from 1 to 250")
	}
	raddr, err := net.ResolveUDPAddr("udp", fs.Arg(0))
	if err != nil {
		return err
	}
	conns := make([]*net.UDPConn, *exporters)
	senders := make([]*sender, *exporters)
	for i := range conns {
		var laddr *net.UDPAddr
		if *exporters > 1 && raddr.IP.IsLoopback() && raddr.IP.To4() != nil {
			laddr = &net.UDPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}
		}
		if conns[i], err = net.DialUDP("udp", laddr, raddr); err != nil {
			return err
		}
		defer conns[i].Close()
		senders[i] = newSender(uint16(*version), *per)
		senders[i].domain = uint32(i + 1)
	}
	s := senders[0]
	if (*per)*s.recLen+s.headerLen()+len(s.templateSet())+4 > 65507 {
		return fmt.Errorf("-per %d: message too large for UDP", *per)
	}
	// A ring of prebuilt messages: varied flows, no allocation while sending.
	const ring = 256
	msgs := make([][]byte, ring)
	for i := range msgs {
		msgs[i] = s.dataMessage(i**per, false)
	}
	withTmpl := s.dataMessage(0, true)

	msgRate := *rate / float64(*per)
	start := time.Now()
	end := start.Add(*dur)
	var sent, flows int
	perExp := make([]int, *exporters) // messages sent by each exporter
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		// Send what the schedule says is due by now, in a burst of at most
		// 64 messages, then yield if ahead of schedule.
		due := int(now.Sub(start).Seconds()*msgRate) + 1
		if sent >= due {
			time.Sleep(50 * time.Microsecond)
			continue
		}
		for n := 0; sent < due && n < 64; n++ {
			e := sent % *exporters
			msg := msgs[sent%ring]
			tmpl := perExp[e]%1000 == 0
			if tmpl {
				msg = withTmpl
			}
			perExp[e]++
			senders[e].patch(msg, now, tmpl)
			if _, err := conns[e].Write(msg); err != nil {
				// ECONNREFUSED from an earlier ICMP: the collector is not
				// up yet or gone; the datagram is lost and counted as sent.
				var ne *net.OpError
				if !errors.As(err, &ne) {
					return err
				}
			}
			sent++
			flows += *per
		}
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent %d flows in %d messages in %.3f s (%.0f flows/s)\n", flows, sent, secs, float64(flows)/secs)
	return nil
}
