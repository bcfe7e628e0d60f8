package flowgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/flowgate/flowgate/unirec"
)

// DDoSFlows generates 20 to 50 minutes of traffic to a few IPv4
// destinations: per destination a baseline from a few sources (some
// minutes missing, some flows spanning several 60-s windows) and a flood
// of many sources for some minutes; sometimes a jump of 1000 s in the
// middle (the C module re-initialises). Minute boundaries are those of
// the flow clock.
func DDoSFlows(seed uint64) []Flow {
	rng := rand.New(rand.NewPCG(seed, seed^0x452821e638d01377))
	var flows []Flow
	t0 := float64(Base + uint32(rng.IntN(60)))
	minutes := 20 + rng.IntN(30)
	jump := rng.IntN(3) == 0
	at := func(sec float64) unirec.Time {
		if jump && sec > t0+float64(minutes*30) {
			sec += 1000
		}
		s := uint32(sec)
		return unirec.TimeFromSecMsec(s, uint32((sec-float64(s))*1000))
	}
	for range 2 + rng.IntN(6) {
		dst := V4(192, 168<<16|(50+rng.IntN(2))<<8|(1+rng.IntN(30)))
		base := 1000 + rng.IntN(1200000)
		nsrc := 1 + rng.IntN(8)
		fstart, flen := rng.IntN(minutes), 1+rng.IntN(10)
		fbytes, fsrc := 2000000+rng.IntN(20000000), 5+rng.IntN(50)
		for m := range minutes {
			if rng.IntN(10) == 0 {
				continue
			}
			for s := range nsrc {
				end := t0 + float64(m*60) + rng.Float64()*60
				dur := rng.Float64() * 30
				if rng.IntN(8) == 0 {
					dur = rng.Float64() * 300
				}
				flows = append(flows, Flow{Src: V4(10, s<<8|rng.IntN(2)), Dst: dst, Proto: 6, Bytes: uint64(base / nsrc), First: at(end - dur), Last: at(end)})
			}
			if m < fstart || m >= fstart+flen {
				continue
			}
			for s := range fsrc {
				end := t0 + float64(m*60) + rng.Float64()*60
				dur := rng.Float64() * 20
				if rng.IntN(6) == 0 {
					dur = rng.Float64() * 200
				}
				flows = append(flows, Flow{Src: V4(172, (16+s%16)<<16|s<<8|9), Dst: dst, Proto: 17, Bytes: uint64(fbytes/fsrc + rng.IntN(1000)), First: at(end - dur), Last: at(end)})
			}
		}
	}
	return flows
}

// DDoSParams returns random ddos_detector options: masks, thresholds and
// factors around their defaults.
func DDoSParams(seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, seed^0x13198a2e03707344))
	var p []string
	add := func(opt string, v int) { p = append(p, opt, fmt.Sprint(v)) }
	if rng.IntN(2) == 0 {
		add("-d", []int{32, 24, 28, 16}[rng.IntN(4)])
	}
	if rng.IntN(2) == 0 {
		add("-s", []int{24, 16, 32, 8}[rng.IntN(4)])
	}
	if rng.IntN(2) == 0 {
		add("-m", 100+rng.IntN(1500))
	}
	if rng.IntN(2) == 0 {
		add("-t", 2+rng.IntN(4))
		add("-c", 1+rng.IntN(5))
	}
	if rng.IntN(3) == 0 {
		add("-b", rng.IntN(50))
		add("-p", 1+rng.IntN(60))
	}
	return p
}
