package meter

import (
	"testing"
)

// cpkt is a compact packet description for cache tests: A->B when fwd.
type cpkt struct {
	sec   uint32
	fwd   bool
	flags uint8
	sport uint16
}

func (c cpkt) packet() *Packet {
	p := &Packet{TsSec: c.sec, IPVersion: 4, Proto: protoTCP, SrcPort: 1000 + c.sport, DstPort: 80, TCPFlags: c.flags, IPLen: 100}
	p.SrcIP, p.DstIP = ipv4Layout(ipA), ipv4Layout(ipB)
	if !c.fwd {
		p.SrcIP, p.DstIP = p.DstIP, p.SrcIP
		p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
	}
	return p
}

func runCache(t *testing.T, cfg CacheConfig, pkts []cpkt) ([]Flow, CacheStats) {
	t.Helper()
	var out []Flow
	c, err := NewCache(cfg, nil, func(f *Flow) { out = append(out, *f) })
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		c.Add(p.packet())
	}
	c.Flush()
	if c.Len() != 0 {
		t.Errorf("%d flows left after Flush", c.Len())
	}
	return out, c.Stats()
}

func TestCache(t *testing.T) {
	tests := []struct {
		name    string
		cfg     CacheConfig
		pkts    []cpkt
		flows   int
		packets []uint32 // forward packets per exported flow, in export order
		check   func(t *testing.T, fl []Flow, st CacheStats)
	}{
		{name: "reverse packets join the biflow", pkts: []cpkt{{0, true, 0x02, 0}, {0, false, 0x12, 0}, {1, true, 0x10, 0}},
			flows: 1, packets: []uint32{2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				f := fl[0]
				if f.PacketsRev != 1 || f.BytesRev != 100 || f.TCPFlags != 0x12 || f.TCPFlagsRev != 0x12 {
					t.Errorf("got %+v", f)
				}
				if f.Key.SrcPort != 1000 || f.End != EndForced {
					t.Errorf("key direction or end reason wrong: %+v", f)
				}
			}},
		{name: "idle for the inactive timeout starts a new flow", pkts: []cpkt{{0, true, 0, 0}, {30, true, 0, 0}},
			flows: 2, packets: []uint32{1, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndInactive {
					t.Errorf("end reason %d", fl[0].End)
				}
			}},
		{name: "idle just under the inactive timeout keeps the flow", pkts: []cpkt{{0, true, 0, 0}, {29, false, 0, 0}},
			flows: 1, packets: []uint32{1}},
		{name: "custom inactive timeout", cfg: CacheConfig{Inactive: 5e9}, pkts: []cpkt{{0, true, 0, 0}, {5, true, 0, 0}},
			flows: 2, packets: []uint32{1, 1}},
		{name: "active timeout splits a long flow", cfg: CacheConfig{Active: 10e9, Inactive: 60e9},
			pkts:  []cpkt{{0, true, 0, 0}, {5, true, 0, 0}, {9, true, 0, 0}, {10, true, 0, 0}, {15, true, 0, 0}},
			flows: 2, packets: []uint32{3, 2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndActive {
					t.Errorf("end reason %d", fl[0].End)
				}
			}},
		{name: "SYN after FIN starts a new flow", pkts: []cpkt{{0, true, 0x02, 0}, {1, true, 0x11, 0}, {1, false, 0x10, 0}, {2, true, 0x02, 0}},
			flows: 2, packets: []uint32{2, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndEOF || fl[0].PacketsRev != 1 {
					t.Errorf("first flow %+v", fl[0])
				}
			}},
		{name: "SYN after RST starts a new flow", pkts: []cpkt{{0, true, 0x04, 0}, {0, true, 0x02, 0}},
			flows: 2, packets: []uint32{1, 1}},
		{name: "SYN from the side without FIN stays", pkts: []cpkt{{0, true, 0x01, 0}, {0, false, 0x02, 0}},
			flows: 1, packets: []uint32{1}},
		{name: "full cache evicts the least recently used flow", cfg: CacheConfig{Size: 2},
			pkts:  []cpkt{{0, true, 0, 1}, {0, true, 0, 2}, {1, true, 0, 1}, {2, true, 0, 3}},
			flows: 3, packets: []uint32{1, 2, 1}, check: func(t *testing.T, fl []Flow, st CacheStats) {
				if st.Evicted != 1 || fl[0].End != EndEvicted || fl[0].Key.SrcPort != 1002 {
					t.Errorf("evicted %d, first export %+v", st.Evicted, fl[0])
				}
				if st.Created != 3 || st.Exported != 3 {
					t.Errorf("stats %+v", st)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fl, st := runCache(t, tc.cfg, tc.pkts)
			if len(fl) != tc.flows {
				t.Fatalf("%d flows exported, want %d: %+v", len(fl), tc.flows, fl)
			}
			for i, want := range tc.packets {
				if fl[i].Packets != want {
					t.Errorf("flow %d: %d forward packets, want %d", i, fl[i].Packets, want)
				}
			}
			if tc.check != nil {
				tc.check(t, fl, st)
			}
		})
	}
}

func TestCacheRejectsBadConfig(t *testing.T) {
	for _, cfg := range []CacheConfig{{Size: -1}, {Active: 1}, {Inactive: 5e8}, {Size: 1 << 27}} {
		if _, err := NewCache(cfg, nil, func(*Flow) {}); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestICMPPortsOption(t *testing.T) {
	echo := frame(l4{proto: protoICMP, icmpType: 8, src: ipA, dst: ipB})
	reply := frame(l4{proto: protoICMP, icmpType: 0, src: ipB, dst: ipA})
	frames := []capturedFrame{{t0, echo}, {t0, reply}}
	if recs := meterFrames(t, Config{}, frames); len(recs) != 1 || recs[0]["DST_PORT"] != "0" {
		t.Errorf("default: %v, want one biflow with DST_PORT 0 (ipfixprobe golden behaviour)", recs)
	}
	recs := meterFrames(t, Config{ICMPPorts: true}, frames)
	if len(recs) != 2 || recs[0]["DST_PORT"] != "2048" {
		t.Errorf("ICMPPorts: %v, want two flows, echo with DST_PORT 2048", recs)
	}
}
