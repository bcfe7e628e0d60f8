package flowgen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// Blacklist is a generated pair of bl_downloader list files.
type Blacklist struct {
	V4, V6 string // file contents
}

// BlacklistFlows generates an IPv4 list of /32, /28, /24, /20 and /16
// entries (sorted as bl_downloader sorts them; multi-list bitmaps, some
// adaptive entries, port groups on the last lines when groups is true),
// a small IPv6 list, and 2000 IPv4 and 200 IPv6 flows of which about a
// third touch a listed prefix or its neighbour. No prefix contains
// another: there the C module's search and longest-prefix match differ by
// design. Lines with port groups come last because the C parser lets a
// line without groups inherit the previous line's.
func BlacklistFlows(seed uint64, groups bool) ([]Flow, Blacklist) {
	rng := rand.New(rand.NewPCG(seed, seed^0xa4093822299f31d0))
	type entry struct {
		addr uint32
		bits int
		line string
	}
	firsts := []uint32{5, 23, 45, 62, 91, 185}
	var ents []entry
	used := map[uint32]bool{}
	for i := range 30 + rng.IntN(60) {
		bits := []int{32, 32, 32, 24, 16, 28, 20}[rng.IntN(7)]
		a := (firsts[rng.IntN(len(firsts))]<<24 | uint32(rng.IntN(4))<<16 | uint32(rng.IntN(1<<16))) & (^uint32(0) << (32 - bits))
		if used[a>>16] { // one entry per /16: no nesting
			continue
		}
		used[a>>16] = true
		s := v4String(a)
		if bits != 32 {
			s += fmt.Sprintf("/%d", bits)
		}
		line := fmt.Sprintf("%s,%d", s, uint64(1+rng.IntN(63))|uint64(rng.IntN(2))<<uint(rng.IntN(40)))
		if rng.IntN(10) == 0 {
			line = fmt.Sprintf("%s,999,uuid-%d", s, i)
		}
		ents = append(ents, entry{a, bits, line})
	}
	slices.SortFunc(ents, func(x, y entry) int { return int(int64(x.addr) - int64(y.addr)) })
	for i := len(ents) - 1; groups && i >= 0 && i >= len(ents)-4; i-- {
		if strings.Contains(ents[i].line, ",999,") {
			ents[i].line = strings.Split(ents[i].line, ",")[0] + ",7"
		}
		ents[i].line += fmt.Sprintf(";%d:%d,8080", 1+rng.IntN(6), []int{22, 80, 443}[rng.IntN(3)])
	}
	var bl Blacklist
	for _, e := range ents {
		bl.V4 += e.line + "\n"
	}
	bl.V6 = "2001:0db8:00bb:0000:0000:0000:0000:0000/48,1\n2a10:cc40:0000:0000:0000:0000:0000:0023,4\n"
	if groups { // a line without groups would inherit the last IPv4 line's in C
		bl.V6 = "2a10:cc40:0000:0000:0000:0000:0000:0023,4;3:443\n"
	}

	var flows []Flow
	t := float64(Base)
	at := func(sec float64) unirec.Time {
		s := uint32(sec)
		return unirec.TimeFromSecMsec(s, uint32((sec-float64(s))*1000))
	}
	pick := func() unirec.IP {
		if rng.IntN(3) == 0 && len(ents) > 0 {
			e := ents[rng.IntN(len(ents))]
			a := e.addr | uint32(rng.IntN(1<<(32-e.bits)))
			if rng.IntN(4) == 0 {
				a += 1 << (32 - e.bits) // the neighbour
			}
			return v4(a)
		}
		return v4([]uint32{5, 23, 45, 62, 91, 185, 10}[rng.IntN(7)]<<24 | uint32(rng.IntN(4))<<16 | uint32(rng.IntN(1<<16)))
	}
	for range 2000 {
		t += rng.Float64()
		flows = append(flows, Flow{Src: pick(), Dst: pick(),
			SrcPort: []uint16{22, 80, 443, 8080, 53, uint16(40000 + rng.IntN(1000))}[rng.IntN(6)],
			DstPort: []uint16{22, 80, 443, 8080, 53, 3333}[rng.IntN(6)],
			Proto:   6, Packets: uint32(1 + rng.IntN(100)), Bytes: uint64(40 + rng.IntN(100000)), First: at(t - 3), Last: at(t)})
	}
	src, _ := unirec.ParseIP("2001:db8:3::1")
	for range 200 {
		t += rng.Float64()
		dst, _ := unirec.ParseIP([]string{"2001:db8:bb::5", "2a10:cc40::23", "2a10:cc40::24", "2001:db8:bc::1"}[rng.IntN(4)])
		flows = append(flows, Flow{Src: src, Dst: dst, SrcPort: 40000, DstPort: 443, Proto: 6, Packets: 3, Bytes: 300, First: at(t - 1), Last: at(t)})
	}
	return flows, bl
}

func v4(a uint32) unirec.IP {
	return unirec.IPv4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
}

func v4String(a uint32) string { return fmt.Sprintf("%d.%d.%d.%d", a>>24, a>>16&255, a>>8&255, a&255) }
