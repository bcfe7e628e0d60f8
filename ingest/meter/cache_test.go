package meter

import (
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// cpkt is a compact packet description for cache tests: A->B when fwd.
type cpkt struct {
	sec   uint32
	fwd   bool
	flags uint8
	sport uint16
	usec  uint32
}

func (c cpkt) packet() *Packet {
	p := &Packet{TsSec: c.sec, TsUsec: c.usec, IPVersion: 4, Proto: protoTCP, SrcPort: 1000 + c.sport, DstPort: 80, TCPFlags: c.flags, IPLen: 100}
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
		{name: "reverse packets join the biflow", pkts: []cpkt{{0, true, 0x02, 0, 0}, {0, false, 0x12, 0, 0}, {1, true, 0x10, 0, 0}},
			flows: 1, packets: []uint32{2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				f := fl[0]
				if f.PacketsRev != 1 || f.BytesRev != 100 || f.TCPFlags != 0x12 || f.TCPFlagsRev != 0x12 {
					t.Errorf("got %+v", f)
				}
				if f.Key.SrcPort != 1000 || f.End != EndForced {
					t.Errorf("key direction or end reason wrong: %+v", f)
				}
			}},
		{name: "idle for the inactive timeout starts a new flow", pkts: []cpkt{{0, true, 0, 0, 0}, {30, true, 0, 0, 0}},
			flows: 2, packets: []uint32{1, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndInactive {
					t.Errorf("end reason %d", fl[0].End)
				}
			}},
		{name: "idle just under the inactive timeout keeps the flow", pkts: []cpkt{{0, true, 0, 0, 0}, {29, false, 0, 0, 0}},
			flows: 1, packets: []uint32{1}},
		{name: "custom inactive timeout", cfg: CacheConfig{Inactive: 5e9}, pkts: []cpkt{{0, true, 0, 0, 0}, {5, true, 0, 0, 0}},
			flows: 2, packets: []uint32{1, 1}},
		{name: "active timeout splits a long flow", cfg: CacheConfig{Active: 10e9, Inactive: 60e9},
			pkts:  []cpkt{{0, true, 0, 0, 0}, {5, true, 0, 0, 0}, {9, true, 0, 0, 0}, {10, true, 0, 0, 0}, {15, true, 0, 0, 0}},
			flows: 2, packets: []uint32{3, 2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndActive {
					t.Errorf("end reason %d", fl[0].End)
				}
			}},
		{name: "SYN after FIN starts a new flow", pkts: []cpkt{{0, true, 0x02, 0, 0}, {1, true, 0x11, 0, 0}, {1, false, 0x10, 0, 0}, {2, true, 0x02, 0, 0}},
			flows: 2, packets: []uint32{2, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndEOF || fl[0].PacketsRev != 1 {
					t.Errorf("first flow %+v", fl[0])
				}
			}},
		{name: "SYN after RST starts a new flow", pkts: []cpkt{{0, true, 0x04, 0, 0}, {0, true, 0x02, 0, 0}},
			flows: 2, packets: []uint32{1, 1}},
		{name: "SYN from the side without FIN stays", pkts: []cpkt{{0, true, 0x01, 0, 0}, {0, false, 0x02, 0, 0}},
			flows: 1, packets: []uint32{1}},
		{name: "direction is the first packet's, even a server's", pkts: []cpkt{{0, false, 0x12, 0, 0}, {0, true, 0x10, 0, 0}},
			flows: 1, packets: []uint32{1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].Key.SrcPort != 80 || fl[0].TCPFlags != 0x12 || fl[0].TCPFlagsRev != 0x10 {
					t.Errorf("got %+v", fl[0])
				}
			}},
		{name: "FIN and RST alone never end a flow", pkts: []cpkt{{0, true, 0x11, 0, 0}, {0, false, 0x14, 0, 0}, {1, true, 0x10, 0, 0}, {1, false, 0x10, 0, 0}},
			flows: 1, packets: []uint32{2}},
		{name: "server RST then client SYN stays", pkts: []cpkt{{0, true, 0x02, 0, 0}, {0, false, 0x04, 0, 0}, {1, true, 0x02, 0, 0}},
			flows: 1, packets: []uint32{2}},
		{name: "server SYN-ACK after server RST splits, the server is the new source",
			pkts:  []cpkt{{0, true, 0x02, 0, 0}, {0, false, 0x04, 0, 0}, {1, false, 0x12, 0, 0}},
			flows: 2, packets: []uint32{1, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndEOF || fl[1].Key.SrcPort != 80 || fl[1].TCPFlags != 0x12 {
					t.Errorf("got %+v", fl)
				}
			}},
		{name: "timeouts compare whole seconds", pkts: []cpkt{{sec: 10, fwd: true, usec: 900000}, {sec: 40, fwd: true, usec: 100000}},
			flows: 2, packets: []uint32{1, 1}},
		{name: "idle flow that saw FIN ends as end-of-flow", pkts: []cpkt{{0, true, 0x01, 0, 0}, {30, true, 0x10, 0, 0}},
			flows: 2, packets: []uint32{1, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndEOF {
					t.Errorf("end reason %d, want %d", fl[0].End, EndEOF)
				}
			}},
		{name: "time going backwards never expires, TIME_LAST is the last packet's",
			pkts:  []cpkt{{100, true, 0, 0, 0}, {sec: 200, fwd: true, usec: 1}, {50, true, 0, 0, 0}},
			flows: 2, packets: []uint32{1, 2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[1].FirstSec != 200 || fl[1].LastSec != 50 {
					t.Errorf("got %+v", fl[1])
				}
			}},
		{name: "out of order: TIME_LAST < TIME_FIRST, a later packet expires against the older time",
			pkts:  []cpkt{{100, true, 0, 0, 0}, {50, true, 0, 0, 0}, {80, true, 0, 0, 0}},
			flows: 2, packets: []uint32{2, 1}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				if fl[0].End != EndInactive || fl[0].FirstSec != 100 || fl[0].LastSec != 50 {
					t.Errorf("got %+v", fl[0])
				}
			}},
		{name: "default timeouts: active 300 s", pkts: func() []cpkt {
			var p []cpkt
			for s := uint32(0); s <= 325; s += 25 {
				p = append(p, cpkt{sec: s, fwd: true})
			}
			return p
		}(), flows: 2, packets: []uint32{12, 2}, check: func(t *testing.T, fl []Flow, _ CacheStats) {
			if fl[0].End != EndActive || fl[1].FirstSec != 300 {
				t.Errorf("got %+v", fl)
			}
		}},
		{name: "uniflow: each direction is a flow of its own", cfg: CacheConfig{Uniflow: true},
			pkts:  []cpkt{{0, true, 0x02, 0, 0}, {0, false, 0x12, 0, 0}, {1, true, 0x10, 0, 0}},
			flows: 2, check: func(t *testing.T, fl []Flow, _ CacheStats) {
				for _, f := range fl {
					if f.PacketsRev != 0 || f.Packets != 2 && f.Key.SrcPort == 1000 || f.Packets != 1 && f.Key.SrcPort == 80 {
						t.Errorf("got %+v", f)
					}
				}
			}},
		{name: "duplicates are counted", pkts: []cpkt{{0, true, 0x02, 0, 0}, {0, true, 0x02, 0, 0}, {0, true, 0x02, 0, 0}},
			flows: 1, packets: []uint32{3}},
		{name: "full line exports its last flow", cfg: CacheConfig{Size: 2},
			pkts:  []cpkt{{0, true, 0, 1, 0}, {0, true, 0, 2, 0}, {1, true, 0, 1, 0}, {2, true, 0, 3, 0}},
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

// TestCacheLineEviction fills the single 16-slot line of a 16-flow cache:
// the 17th flow exports the flow in the line's last slot (the most
// recently created one, as nothing was hit) and goes in at slot 8.
func TestCacheLineEviction(t *testing.T) {
	var out []Flow
	c, err := NewCache(CacheConfig{Size: 16}, nil, func(f *Flow) { out = append(out, *f) })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 17; i++ {
		c.Add(cpkt{sec: 0, fwd: true, sport: uint16(i)}.packet())
	}
	if len(out) != 1 || out[0].End != EndEvicted || out[0].Key.SrcPort != 1015 {
		t.Fatalf("exported %+v, want flow 15 evicted", out)
	}
	if got := c.flows[c.table[8]].Key.SrcPort; got != 1016 {
		t.Errorf("slot 8 holds port %d, want the new flow 1016", got)
	}
	c.Add(cpkt{sec: 0, fwd: true, sport: 3}.packet()) // a hit moves flow 3 to the front
	if got := c.flows[c.table[0]].Key.SrcPort; got != 1003 {
		t.Errorf("slot 0 holds port %d after a hit on 1003", got)
	}
	c.Flush()
	if len(out) != 17 || out[1].Key.SrcPort != 1003 {
		t.Errorf("flush order: %d flows, first %d; want slot order starting with 1003", len(out), out[1].Key.SrcPort)
	}
}

// TestCacheSweepExportsIdleFlows: each packet checks the next 8 slots, so
// in a 16-slot cache two packets sweep everything.
func TestCacheSweepExportsIdleFlows(t *testing.T) {
	var out []Flow
	c, err := NewCache(CacheConfig{Size: 16}, nil, func(f *Flow) { out = append(out, *f) })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		c.Add(cpkt{sec: 0, fwd: true, sport: uint16(i)}.packet())
	}
	out = nil
	c.Add(cpkt{sec: 100, fwd: true, sport: 50}.packet())
	c.Add(cpkt{sec: 100, fwd: true, sport: 50}.packet())
	if len(out) != 4 || out[0].End != EndInactive {
		t.Errorf("sweep exported %d flows (%+v), want the 4 idle ones", len(out), out)
	}
	if c.Len() != 1 {
		t.Errorf("%d flows left", c.Len())
	}
}

func TestFragmentsGetTheFirstFragmentsPorts(t *testing.T) {
	first := frame(l4{proto: protoUDP, sport: 5000, dport: 6000, src: ipA, dst: ipB, payload: make([]byte, 16)})
	first[14+6] = 0x20 // MF, offset 0
	first[14+4], first[14+5] = 0xab, 0xcd
	later := append([]byte{}, first...)
	later[14+6], later[14+7] = 0, 3 // offset 24 bytes, last fragment
	m := newTestMeter(t, Config{})
	m.packet(t0, first)
	m.packet(t0.Add(3*time.Second), later)
	m.packet(t0.Add(3*time.Second), first)
	m.packet(t0.Add(7*time.Second), later) // 4 s after the (second) first fragment: ports 0
	recs := m.flush()
	if len(recs) != 2 {
		t.Fatalf("%d flows, want 2: %v", len(recs), recs)
	}
	for _, r := range recs {
		switch r.rec["SRC_PORT"] {
		case "5000":
			checkFields(t, r.rec, map[string]string{"PACKETS": "3", "DST_PORT": "6000"})
		case "0":
			checkFields(t, r.rec, map[string]string{"PACKETS": "1", "DST_PORT": "0"})
		default:
			t.Errorf("unexpected flow %v", r.rec)
		}
	}
}

// TestFragmentTimeoutIsMicrosecondExact: a later fragment gets the ports
// if its time is at most 3 s after the first fragment's, to the
// microsecond.
func TestFragmentTimeoutIsMicrosecondExact(t *testing.T) {
	first := frame(l4{proto: protoUDP, sport: 5000, dport: 6000, src: ipA, dst: ipB, payload: make([]byte, 16)})
	first[14+6] = 0x20 // MF, offset 0
	later := append([]byte{}, first...)
	later[14+6], later[14+7] = 0, 3
	for _, tc := range []struct {
		after time.Duration
		flows int // 1: the later fragment joined the first's flow
	}{{3 * time.Second, 1}, {3*time.Second + time.Microsecond, 2}} {
		m := newTestMeter(t, Config{})
		start := t0.Add(500 * time.Millisecond)
		m.packet(start, first)
		m.packet(start.Add(tc.after), later)
		if recs := m.flush(); len(recs) != tc.flows {
			t.Errorf("later fragment %v after the first: %d flows, want %d", tc.after, len(recs), tc.flows)
		}
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

// actionPlugin answers with fixed actions for packets from the given source
// port, to test the cache's handling of plugin flushes.
type actionPlugin struct {
	noHooks
	sport     uint16
	pre, post Action
}

func (*actionPlugin) Name() string                     { return "action" }
func (*actionPlugin) Spec() string                     { return "" }
func (*actionPlugin) Init(int)                         {}
func (*actionPlugin) Bind(*unirec.Template) error      { return nil }
func (*actionPlugin) Fill(*Flow, *unirec.Record) error { return nil }
func (a *actionPlugin) PreUpdate(_ *Flow, p *Packet, _ bool) Action {
	if p.SrcPort != a.sport {
		return Continue
	}
	return a.pre
}
func (a *actionPlugin) PostUpdate(_ *Flow, p *Packet, _ bool) Action {
	if p.SrcPort != a.sport {
		return Continue
	}
	return a.post
}

// TestCachePluginFlushes: a Flush from PreUpdate exports the flow without
// the packet (which is dropped), one from PostUpdate with it; either skips
// that packet's sweep.
func TestCachePluginFlushes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pre, post Action
		packets   uint32 // of the flushed flow
	}{{"pre_update flush", Flush, Continue, 1}, {"post_update flush", Continue, Flush, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			pl := &actionPlugin{sport: 1002, pre: tc.pre, post: tc.post}
			var out []Flow
			c, err := NewCache(CacheConfig{Size: 16}, []Plugin{pl}, func(f *Flow) { out = append(out, *f) })
			if err != nil {
				t.Fatal(err)
			}
			c.Add(cpkt{sec: 0, fwd: true, sport: 1}.packet())   // flow A, slot 0; sweep 0-7
			c.Add(cpkt{sec: 100, fwd: true, sport: 2}.packet()) // flow B, slot 1; sweep 8-15
			c.Add(cpkt{sec: 100, fwd: true, sport: 2}.packet()) // B flushed; no sweep of 0-7 (A idle)
			if len(out) != 1 || out[0].Key.SrcPort != 1002 || out[0].Packets != tc.packets || out[0].End != EndForced {
				t.Fatalf("after the flush: %+v", out)
			}
			c.Add(cpkt{sec: 100, fwd: true, sport: 3}.packet()) // flow C; sweep 0-7 exports A
			if len(out) != 2 || out[1].Key.SrcPort != 1001 || out[1].End != EndInactive {
				t.Fatalf("after the next packet: %+v", out)
			}
			if c.Len() != 1 {
				t.Errorf("%d flows in the cache, want C only", c.Len())
			}
		})
	}
}
