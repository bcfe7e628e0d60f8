package flowgen

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// BruteForceFlows generates login attempts on SSH, RDP and Telnet over one
// to three hours: per attacker (some IPv6) a protocol, a few victims, a
// pace, a share of attempts that fit the failed-login signatures (the
// rest: scans, long sessions, random sizes and flags) and, for most, the
// server's answers too; plus background on other ports and protocols.
// Attacks start, go on past report and attack timeouts, fade and end.
func BruteForceFlows(seed uint64) []Flow {
	rng := rand.New(rand.NewPCG(seed, seed^0xb7e151628aed2a6b))
	var flows []Flow
	at := func(sec float64) unirec.Time {
		s := uint32(sec)
		return unirec.TimeFromSecMsec(Base+s, uint32((sec-float64(s))*1000))
	}
	span := 3600 * (1 + rng.Float64()*2)
	for a := range 3 + rng.IntN(8) {
		att := V4(185, a<<8|rng.IntN(200))
		v6 := rng.IntN(5) == 0
		if v6 {
			att = V6(0x1000 + a)
		}
		port := []uint16{22, 3389, 23}[rng.IntN(3)]
		victims := make([]unirec.IP, 1+rng.IntN(3))
		for i := range victims {
			victims[i] = V4(192, 168<<16|30<<8|rng.IntN(250))
			if v6 {
				victims[i] = V6(0x3000 + rng.IntN(50))
			}
		}
		start := rng.Float64() * span * 0.6
		gap := 0.5 + rng.Float64()*15
		both := rng.IntN(3) != 0
		matchRate := rng.Float64()
		for i := range 10 + rng.IntN(250) {
			t := start + float64(i)*gap + rng.Float64()
			v := victims[rng.IntN(len(victims))]
			var p uint32
			var b uint64
			var fl uint8
			if rng.Float64() < matchRate {
				p, b = loginAttempt(rng, port, true)
				fl = 0x1A | []uint8{0, 1, 4, 0x1F}[rng.IntN(4)]
			} else {
				switch rng.IntN(4) {
				case 0: // scanner SYNs and resets, dropped before the host's lists
					p, b, fl = uint32(1+rng.IntN(4)), uint64(40+rng.IntN(200)), []uint8{2, 0x12, 0x14, 6, 0x10}[rng.IntN(5)]
				case 1: // a real session
					p, b, fl = uint32(150+rng.IntN(3000)), uint64(20000+rng.IntN(400000)), 0x1B
				default:
					p, b, fl = uint32(1+rng.IntN(60)), uint64(40+rng.IntN(12000)), uint8(rng.IntN(64))
				}
			}
			cport := uint16(30000 + rng.IntN(30000))
			flows = append(flows, Flow{Src: att, Dst: v, SrcPort: cport, DstPort: port, Proto: 6, Flags: fl, Packets: p, Bytes: b, First: at(t - 2), Last: at(t)})
			if !both {
				continue
			}
			op, ob := p, b
			if rng.Float64() < matchRate {
				op, ob = loginAttempt(rng, port, false)
			}
			ofl := fl
			if port == 23 && rng.IntN(2) == 0 {
				ofl = 0x1B
			}
			flows = append(flows, Flow{Src: v, Dst: att, SrcPort: port, DstPort: cport, Proto: 6, Flags: ofl, Packets: op, Bytes: ob, First: at(t - 2), Last: at(t + 0.01)})
		}
	}
	for range 300 {
		t := rng.Float64() * span * 1.3
		flows = append(flows, Flow{Src: V4(10, rng.IntN(250)), Dst: V4(10, 1<<8|rng.IntN(250)), SrcPort: 40000,
			DstPort: []uint16{443, 22, 53, 80}[rng.IntN(4)], Proto: []uint8{6, 17}[rng.IntN(2)], Flags: 0x1B, Packets: 10, Bytes: 1000,
			First: at(t - 1), Last: at(t)})
	}
	return flows
}

// loginAttempt returns packets and bytes of a failed login in one
// direction (inside the C module's signatures, with RDP's three rules and
// Telnet's server-side profile in mind).
func loginAttempt(rng *rand.Rand, port uint16, incoming bool) (uint32, uint64) {
	r := func(lo, n int) int { return lo + rng.IntN(n) }
	switch {
	case port == 22 && incoming:
		return uint32(r(11, 20)), uint64(r(1000, 4001))
	case port == 22:
		return uint32(r(11, 40)), uint64(r(1000, 10001))
	case port == 3389 && incoming:
		switch rng.IntN(3) {
		case 0:
			return 3, uint64(r(100, 101))
		case 1:
			return uint32(r(7, 5)), uint64(r(1500, 501))
		}
		return uint32(r(20, 81)), uint64(r(2200, 5802))
	case port == 3389:
		switch rng.IntN(3) {
		case 0:
			return 2, uint64(r(81, 38))
		case 1:
			return 7, uint64(r(1700, 501))
		}
		return uint32(r(30, 161)), uint64(r(3000, 177001))
	case incoming:
		return uint32(r(9, 42)), uint64(r(450, 2551))
	}
	return uint32(r(6, 20)), uint64(r(300, 2000))
}

// BruteForceConfig returns a random brute_force_detector configuration
// file (thresholds, list sizes around the 50-record switch, timeouts;
// sometimes empty) and whitelist ("" for none).
func BruteForceConfig(seed uint64) (config, whitelist string) {
	rng := rand.New(rand.NewPCG(seed, seed^0x243f6a8885a308d3))
	var c []string
	if rng.IntN(2) == 0 {
		for _, p := range []string{"SSH", "RDP", "TELNET"} {
			if rng.IntN(2) == 0 {
				c = append(c, fmt.Sprintf("%s_LIST_SIZE = %d", p, 20+rng.IntN(100)))
			}
			if rng.IntN(2) == 0 {
				c = append(c, fmt.Sprintf("%s_LIST_THRESHOLD = %d", p, 5+rng.IntN(40)))
			}
			if rng.IntN(3) == 0 {
				c = append(c, fmt.Sprintf("%s_REPORT_TIMEOUT = %d", p, 60+rng.IntN(400)), fmt.Sprintf("%s_ATTACK_TIMEOUT = %d", p, 100+rng.IntN(900)))
			}
			if rng.IntN(3) == 0 {
				c = append(c, fmt.Sprintf("%s_RECORD_TIMEOUT = %d", p, 100+rng.IntN(1800)), fmt.Sprintf("%s_HOST_TIMEOUT = %d", p, 200+rng.IntN(4000)))
			}
		}
		if rng.IntN(3) == 0 {
			c = append(c, fmt.Sprintf("GENERAL_ATTACK_MIN_EVENTS_TO_REPORT = %d", 1+rng.IntN(20)),
				fmt.Sprintf("GENERAL_ATTACK_MIN_RATIO_TO_KEEP_TRACKING_HOST = %d.5", rng.IntN(60)))
		}
		if rng.IntN(4) == 0 {
			c = append(c, fmt.Sprintf("GENERAL_CHECK_FOR_REPORT_TIMEOUT = %d", 10+rng.IntN(200)),
				fmt.Sprintf("GENERAL_CHECK_FOR_DELETE_TIMEOUT = %d", 10+rng.IntN(200)))
		}
		if rng.IntN(6) == 0 {
			c = append(c, "GENERAL_IGNORE_FIRST_SEND = 1")
		}
	}
	if rng.IntN(3) == 0 {
		whitelist = []string{"dst 192.168.30.0/25/22", "src 185.1.0.0/16", "192.168.30.128/26/3389,23",
			"dst 2001:db8::3000/120", "src 185.0.0.0/24/30000-45000"}[rng.IntN(5)] + "\n"
	}
	return strings.Join(c, "\n") + "\n", whitelist
}
