// Package flowgen generates synthetic flows for the detector tests and
// benchmarks: scanners among near misses over small address and port
// spaces, and reflection attacks among ordinary DNS/NTP traffic. Seeded
// and deterministic.
package flowgen

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/flowgate/flowgate/unirec"
)

// Base is the generators' first second (2024-03-14T09:00:00Z).
const Base = uint32(1710406800)

// Flow is one synthetic flow of the scan generators.
type Flow struct {
	Src, Dst         unirec.IP
	SrcPort, DstPort uint16
	Proto, Flags     uint8
	Packets          uint32
	Bytes            uint64
	First, Last      unirec.Time
}

// FlowSpec is the template the generated records carry: a typical
// exporter superset of what the detectors read.
const FlowSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PACKETS,uint64 BYTES,uint8 TCP_FLAGS,time TIME_FIRST,time TIME_LAST"

// Records turns flows (sorted by TIME_LAST) into records of spec, which
// must hold the fields the flows set that it names.
func Records(spec string, flows []Flow) ([]unirec.Record, error) {
	tm, err := unirec.ParseTemplate(spec)
	if err != nil {
		return nil, fmt.Errorf("flowgen: %w", err)
	}
	slices.SortStableFunc(flows, func(a, b Flow) int {
		if a.Last < b.Last {
			return -1
		}
		if a.Last > b.Last {
			return 1
		}
		return 0
	})
	id := func(name string) (unirec.FieldID, bool) { return tm.Lookup(name) }
	recs := make([]unirec.Record, len(flows))
	for i, f := range flows {
		r := tm.NewRecord()
		if x, ok := id("SRC_IP"); ok {
			r.SetIP(x, f.Src)
		}
		if x, ok := id("DST_IP"); ok {
			r.SetIP(x, f.Dst)
		}
		if x, ok := id("SRC_PORT"); ok {
			r.SetUint16(x, f.SrcPort)
		}
		if x, ok := id("DST_PORT"); ok {
			r.SetUint16(x, f.DstPort)
		}
		if x, ok := id("PROTOCOL"); ok {
			r.SetUint8(x, f.Proto)
		}
		if x, ok := id("TCP_FLAGS"); ok {
			r.SetUint8(x, f.Flags)
		}
		if x, ok := id("PACKETS"); ok {
			r.SetUint32(x, f.Packets)
		}
		if x, ok := id("BYTES"); ok {
			r.SetUint64(x, f.Bytes)
		}
		if x, ok := id("TIME_FIRST"); ok {
			r.SetTime(x, f.First)
		}
		if x, ok := id("TIME_LAST"); ok {
			r.SetTime(x, f.Last)
		}
		recs[i] = r
	}
	return recs, nil
}

// V4 returns 10.a.b.c-style IPv4 addresses from an index.
func V4(prefix byte, i int) unirec.IP {
	return unirec.IPv4([4]byte{prefix, byte(i >> 16), byte(i >> 8), byte(i)})
}

// V6 returns 2001:db8::i.
func V6(i int) unirec.IP {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[14], b[15] = byte(i>>8), byte(i)
	return unirec.IPv6(b)
}

// ScanFlows generates n flows of scanners and background over small
// address and port spaces, so that the scan thresholds are crossed, with
// the near-miss variations (packet counts, flags, protocols, IPv6,
// repeats) mixed in.
func ScanFlows(seed uint64, n, srcs, dsts, ports int) []Flow {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	flows := make([]Flow, n)
	base := Base
	for i := range flows {
		f := Flow{
			Src: V4(198, rng.IntN(srcs)), Dst: V4(10, rng.IntN(dsts)),
			SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: uint16(1 + rng.IntN(ports)),
			Proto: 6, Flags: 0x02, Packets: 1, Bytes: 60,
		}
		switch r := rng.IntN(100); {
		case r < 3:
			f.Src = V6(rng.IntN(srcs))
		case r < 5:
			f.Dst = V6(rng.IntN(dsts))
		case r < 8:
			f.Proto = 17
		case r < 12:
			f.Flags = []uint8{0x12, 0x06, 0xc2, 0x1b, 0x10}[rng.IntN(5)]
		case r < 20:
			f.Packets = uint32(rng.IntN(7))
		}
		ms := uint32(i) * 37
		first := unirec.TimeFromSecMsec(base+ms/1000, ms%1000)
		f.First = first
		f.Last = first + unirec.Time(uint64(rng.IntN(3000))<<32/1000)
		flows[i] = f
	}
	return flows
}

// AmplificationSpec is amplification_detection's C input template: the C
// module requires exactly these fixed-size fields.
const AmplificationSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 SRC_PORT,uint16 DST_PORT,uint8 PROTOCOL,uint32 PACKETS,uint64 BYTES,time TIME_FIRST,time TIME_LAST"

// AmplificationFlows generates reflection attacks on port among ordinary
// query/response traffic over about an hour: per (server, victim) pair a
// random mix of response sizes (a few values, some above the histogram
// range), query rates (none, sparse, one per response, bursts) and
// durations, so that pairs are evaluated, trimmed, re-reported, expired
// and missed by one condition or another.
func AmplificationFlows(seed uint64, port uint16, base uint32) []Flow {
	rng := rand.New(rand.NewPCG(seed, seed*0x2545f4914f6cdd1d+1))
	var flows []Flow
	at := func(sec float64) unirec.Time {
		s := uint32(sec)
		return unirec.TimeFromSecMsec(base+s, uint32((sec-float64(s))*1000))
	}
	add := func(src, dst unirec.IP, sp, dp uint16, pk uint32, by uint64, t float64) {
		d := rng.Float64() * 0.5
		flows = append(flows, Flow{Src: src, Dst: dst, SrcPort: sp, DstPort: dp, Proto: 17, Packets: pk, Bytes: by, First: at(t), Last: at(t + d)})
	}
	for s := range 4 {
		server := V4(198, 50+s)
		if s == 3 {
			server = V6(0x53)
		}
		for v := range 4 {
			victim := V4(203, 7+v)
			if s == 3 {
				victim = V6(0x700 + v)
			}
			start := rng.Float64() * 900
			dur := 600 + rng.Float64()*2400
			gap := 1.5 + rng.Float64()*3
			sizes := make([]uint64, 1+rng.IntN(4))
			for i := range sizes {
				sizes[i] = uint64(1800 + rng.IntN(3300))
			}
			pkts := uint32(1 + rng.IntN(5))
			qEvery := []int{0, 1, 1, 3, 20, 1000}[rng.IntN(6)]
			qBytes := uint64(50 + rng.IntN(350))
			big := rng.IntN(6) == 0
			n := 0
			for t := start; t < start+dur; t += gap * (0.5 + rng.Float64()) {
				by := sizes[rng.IntN(len(sizes))]
				if big && n%50 == 0 {
					by = 150000
				}
				add(server, victim, port, uint16(1024+rng.IntN(60000)), pkts, by, t)
				if qEvery > 0 && n%qEvery == 0 && n/qEvery < 400 {
					qp := uint32(1)
					if big {
						qp = 2
					}
					add(victim, server, uint16(1024+rng.IntN(60000)), port, qp, qBytes, t-0.1)
				}
				n++
			}
		}
	}
	// Background: ordinary clients, the symmetric port<->port case, other ports.
	for i := range 3000 {
		t := rng.Float64() * 3600
		client, srv := V4(10, rng.IntN(200)), V4(198, 50+rng.IntN(4))
		switch i % 3 {
		case 0:
			add(client, srv, uint16(1024+rng.IntN(60000)), port, 1, uint64(60+rng.IntN(30)), t)
			add(srv, client, port, uint16(1024+rng.IntN(60000)), 1, uint64(90+rng.IntN(400)), t+0.01)
		case 1:
			add(client, srv, port, port, 1, 76, t)
		default:
			add(client, srv, uint16(1024+rng.IntN(60000)), 443, 10, 9000, t)
		}
	}
	return flows
}
