package ingest

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/internal/sflowgen"
)

var sflowClock = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

type runningSflow struct {
	src *SflowSource
	out *memOutput
	runningPipeline
}

func startSflow(t testing.TB, cfg SflowConfig) *runningSflow {
	t.Helper()
	cfg.Name = "sflow-test"
	if cfg.UDP == nil {
		cfg.UDP = []string{"127.0.0.1:0"}
	}
	cfg.Now = func() time.Time { return sflowClock }
	src, err := NewSflow(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := src.Listen(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	out := newMemOutput(t, "out", converters.SflowTemplate)
	p, err := NewPipeline([]Source{src}, []Output{out}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rs := &runningSflow{src: src, out: out}
	rs.run(ctx, t, cancel, p)
	waitFor(t, func() bool { return src.set.Load() != nil })
	return rs
}

func (rs *runningSflow) agent(addr netip.Addr, sub uint32) *SflowAgentCounters {
	var out *SflowAgentCounters
	rs.src.Agents(func(a netip.Addr, s uint32, c *SflowAgentCounters) {
		if a == addr && s == sub {
			out = c
		}
	})
	return out
}

var (
	sfTestAgent = netip.MustParseAddr("192.0.2.10")
	sfTestA     = netip.MustParseAddr("10.1.0.1")
	sfTestB     = netip.MustParseAddr("10.1.0.2")
)

func sflowTestDatagram(seq uint32, flows int) []byte {
	d := sflowgen.Datagram{Agent: sfTestAgent, SubAgentID: 1, Sequence: seq}
	for i := range flows {
		fr := sflowgen.Frame(sflowgen.Packet{VLAN: 5, Src: sfTestA, Dst: sfTestB, Proto: 17, SrcPort: uint16(1000 + i), DstPort: 53, Payload: 100})
		d.Samples = append(d.Samples, sflowgen.FlowSample{Sequence: seq*10 + uint32(i), SamplingRate: 100, Input: 2, Output: 3}.Flow(
			sflowgen.RawHeader(sflow.HeaderEthernet, uint32(len(fr)+4), 4, fr)))
	}
	d.Samples = append(d.Samples, sflowgen.Counters(seq, 0, 2,
		sflowgen.IfCounters{Index: 2, InOctets: uint64(seq) * 1000, InUcast: 5, InMulticast: 1, InErrors: 2, OutDiscards: 3}.Record()))
	return d.Bytes()
}

// Flow samples arrive as records; counter samples, datagram sequence gaps
// and malformed datagrams show in the agent's counters; the source keeps
// running after bad input.
func TestSflowSourceDecodesAndCounts(t *testing.T) {
	rs := startSflow(t, SflowConfig{})
	to := rs.src.UDPAddrs()[0].String()
	bad := sflowTestDatagram(9, 1)
	bad = bad[:len(bad)-10]
	sendUDP(t, to, [][]byte{sflowTestDatagram(1, 3), sflowTestDatagram(2, 2), sflowTestDatagram(5, 1), bad, {1, 2, 3}})
	waitFor(t, func() bool {
		a := rs.agent(sfTestAgent, 1)
		return a != nil && a.Datagrams.Load() == 4
	})
	a := rs.agent(sfTestAgent, 1)
	// The damaged datagram's flow sample, before the damage, is delivered.
	if a.FlowSamples.Load() != 7 || a.Records.Load() != 7 || a.CounterSamples.Load() != 3 || a.DecodeErrors.Load() != 1 {
		t.Errorf("flow samples %d, records %d, counter samples %d, errors %d; want 7, 7, 3, 1",
			a.FlowSamples.Load(), a.Records.Load(), a.CounterSamples.Load(), a.DecodeErrors.Load())
	}
	// 1, 2, 5 (2 lost), 9 (3 lost)
	if a.SequenceErrors.Load() != 2 || a.SequenceLost.Load() != 5 {
		t.Errorf("sequence errors %d, lost %d; want 2, 5", a.SequenceErrors.Load(), a.SequenceLost.Load())
	}
	waitFor(t, func() bool {
		g := rs.agent(netip.MustParseAddr("127.0.0.1"), 0)
		return g != nil && g.DecodeErrors.Load() == 1
	})
	recs := rs.out.records()
	if len(recs) != 7 {
		t.Fatalf("%d records, want 7", len(recs))
	}
	tm := rs.out.tmpl
	get := func(name string) (v uint64) {
		id, _ := tm.Lookup(name)
		switch tm.Field(id).Type.Size() {
		case 2:
			return uint64(recs[0].Uint16(id))
		case 4:
			return uint64(recs[0].Uint32(id))
		}
		return recs[0].Uint64(id)
	}
	id, _ := tm.Lookup("SRC_IP")
	if recs[0].IP(id).String() != "10.1.0.1" || get("SRC_PORT") != 1000 || get("PACKETS") != 100 || get("BYTES") != 15000 ||
		get("SRC_VLAN") != 5 || get("INPUT_INTERFACE") != 2 || get("SAMPLING_INTERVAL") != 100 {
		t.Errorf("first record: %s", recs[0].AppendText(nil, ','))
	}
	tid, _ := tm.Lookup("TIME_FIRST")
	if recs[0].Time(tid).Go() != sflowClock {
		t.Errorf("TIME_FIRST %v, want the receive time %v", recs[0].Time(tid).Go(), sflowClock)
	}
	var ifs []sflow.IfCounters
	rs.src.Interfaces(func(k SflowInterfaceKey, c *sflow.CounterSample) {
		if k.Agent == sfTestAgent && k.IfIndex == 2 {
			ifs = append(ifs, c.If)
		}
	})
	if len(ifs) != 1 || ifs[0].InOctets != 5000 || ifs[0].InErrors != 2 || ifs[0].OutDiscards != 3 {
		t.Errorf("interface counters %+v, want the last sample's (sequence 5)", ifs)
	}
}

// Datagrams already queued when the source is told to stop are decoded.
func TestSflowSourceDrainsOnStop(t *testing.T) {
	rs := startSflow(t, SflowConfig{ReceiveBuffer: 1 << 20})
	var dgrams [][]byte
	for i := range 200 {
		dgrams = append(dgrams, sflowTestDatagram(uint32(i+1), 4))
	}
	sendUDP(t, rs.src.UDPAddrs()[0].String(), dgrams)
	rs.stop(t)
	if n, drops := rs.out.count(), rs.src.SocketDrops(); uint64(n)+4*drops != 800 {
		t.Errorf("%d records and %d socket drops after stop, want 800 records in all", n, drops)
	}
}

func TestNewSflowRejects(t *testing.T) {
	for _, cfg := range []SflowConfig{{Name: "none"}, {Name: "neg", UDP: []string{":0"}, Sockets: -1}} {
		if _, err := NewSflow(cfg, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestSflowSourceAllocatesNothingPerDatagram(t *testing.T) {
	rs := startSflow(t, SflowConfig{ReceiveBuffer: 4 << 20})
	rs.out.keepNothing()
	c, err := net.Dial("udp", rs.src.UDPAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := sflowTestDatagram(1, 6)
	count := func() uint64 {
		var n uint64
		rs.src.Agents(func(_ netip.Addr, _ uint32, a *SflowAgentCounters) { n += a.Datagrams.Load() })
		return n
	}
	c.Write(msg)
	waitFor(t, func() bool { return count() == 1 })
	const rounds = 2000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range rounds {
		c.Write(msg)
	}
	waitFor(t, func() bool { return count()+rs.src.SocketDrops() >= 1+rounds })
	runtime.ReadMemStats(&after)
	n := count() - 1
	if per := float64(after.Mallocs-before.Mallocs) / float64(n); per > 0.2 {
		t.Errorf("%.2f allocations per datagram (%d datagrams), want 0", per, n)
	}
}

// BenchmarkSflowDatagram is the source's per-datagram work after the
// socket read: decode, convert and emit every flow sample to a target.
func BenchmarkSflowDatagram(b *testing.B) {
	src, err := NewSflow(SflowConfig{Name: "bench", UDP: []string{"127.0.0.1:0"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := newMemOutput(b, "out", converters.SflowTemplate)
	out.discard = true
	set, err := src.newSet([]*Target{NewTarget(out.tmpl, []Output{out}, nil)})
	if err != nil {
		b.Fatal(err)
	}
	src.set.Store(set)
	h := &sflowHandler{src: src, ctx: context.Background()}
	const samples = 8
	msg := sflowTestDatagram(1, samples)
	from := netip.MustParseAddrPort("127.0.0.1:9999")
	b.ReportAllocs()
	for b.Loop() {
		h.datagram(from, msg)
	}
	b.ReportMetric(float64(b.N*samples)/b.Elapsed().Seconds(), "records/s")
}

// Agents beyond MaxAgents are counted together, not dropped.
func TestSflowAgentTableOverflow(t *testing.T) {
	src := &SflowSource{}
	a := &src.agents
	a.m, a.max = map[sflowAgentKey]*SflowAgentCounters{}, 2
	first := a.get(netip.MustParseAddr("192.0.2.1"), 0)
	if a.get(netip.MustParseAddr("::ffff:192.0.2.1"), 0) != first {
		t.Error("an IPv4-mapped agent address is a second agent")
	}
	a.get(netip.MustParseAddr("192.0.2.1"), 1) // another sub-agent
	third := a.get(netip.MustParseAddr("192.0.2.3"), 0)
	if third != &a.overflow || a.get(netip.MustParseAddr("192.0.2.4"), 0) != &a.overflow {
		t.Error("agents beyond the limit do not share the overflow counters")
	}
	third.Datagrams.Add(1)
	var n int
	var other bool
	src.Agents(func(addr netip.Addr, _ uint32, c *SflowAgentCounters) {
		n++
		other = other || !addr.IsValid()
	})
	if n != 3 || !other {
		t.Errorf("%d series (overflow listed: %v), want 2 agents and the overflow", n, other)
	}
}

// Retarget swaps the targets of a running source without closing its
// socket: later datagrams go to the new targets only.
func TestSflowSourceRetarget(t *testing.T) {
	rs := startSflow(t, SflowConfig{})
	to := rs.src.UDPAddrs()[0].String()
	sendUDP(t, to, [][]byte{sflowTestDatagram(1, 1)})
	waitFor(t, func() bool { return rs.out.count() == 1 })
	next := newMemOutput(t, "next", "ipaddr SRC_IP,uint16 SRC_VLAN,uint32 PACKETS")
	if err := rs.src.Retarget([]*Target{NewTarget(next.tmpl, []Output{next}, nil)}); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, to, [][]byte{sflowTestDatagram(2, 2)})
	waitFor(t, func() bool { return next.count() == 2 })
	if rs.out.count() != 1 {
		t.Errorf("the old target got %d records after the retarget", rs.out.count()-1)
	}
	if got := string(next.records()[0].AppendText(nil, ',')); got != "10.1.0.1,100,5" {
		t.Errorf("record %q", got)
	}
}

// The golden captures of pmacctd's sfprobe, replayed over loopback, yield
// one record per flow sample with the declared rate applied, and the
// agent's counters see every datagram and counter sample.
func TestSflowSourceReplaysGoldenCaptures(t *testing.T) {
	for _, tc := range []struct {
		name                                string
		flows, counters, datagrams, packets int
	}{
		// flow samples and counter samples from testdata/README.md; packets = samples × rate
		{"mixed-r1", 153, 0, 24, 153},
		{"mixed-r4", 35, 1, 7, 140},
		{"counters-http-r2", 23, 2, 22, 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("..", "collector", "sflow", "testdata", tc.name+".pcap")
			if _, err := os.Stat(path); err != nil {
				t.Skipf("no %s", path)
			}
			dgrams, _ := capturePayloads(t, path, false)
			rs := startSflow(t, SflowConfig{ReceiveBuffer: 1 << 20})
			sendUDP(t, rs.src.UDPAddrs()[0].String(), dgrams)
			agent := netip.MustParseAddr("192.0.2.10")
			waitFor(t, func() bool { a := rs.agent(agent, 0); return a != nil && a.Datagrams.Load() == uint64(len(dgrams)) })
			waitFor(t, func() bool { return rs.out.count() == tc.flows })
			a := rs.agent(agent, 0)
			if len(dgrams) != tc.datagrams || a.FlowSamples.Load() != uint64(tc.flows) || a.CounterSamples.Load() != uint64(tc.counters) ||
				a.DecodeErrors.Load() != 0 || a.SequenceErrors.Load() != 0 || a.UnknownRecords.Load() != 0 {
				t.Errorf("%d datagrams, agent counters: flow samples %d, counter samples %d, errors %d, sequence errors %d, unknown records %d",
					len(dgrams), a.FlowSamples.Load(), a.CounterSamples.Load(), a.DecodeErrors.Load(), a.SequenceErrors.Load(), a.UnknownRecords.Load())
			}
			if got := totals(t, rs.out.records(), "PACKETS"); got != uint64(tc.packets) {
				t.Errorf("PACKETS sum %d, want %d", got, tc.packets)
			}
		})
	}
}

// Agents beyond MaxAgents share the overflow series, whose datagrams come
// from several agents with sequences of their own: it counts them but no
// sequence errors or losses from their interleaving.
func TestSflowOverflowSeriesTracksNoSequence(t *testing.T) {
	src, err := NewSflow(SflowConfig{Name: "sf", UDP: []string{"127.0.0.1:0"}, MaxAgents: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(&sflowSet{})
	h := &sflowHandler{src: src, ctx: context.Background()}
	from := netip.MustParseAddrPort("127.0.0.1:6343")
	for _, dg := range []struct {
		agent string
		seq   uint32
	}{{"192.0.2.1", 1}, {"192.0.2.2", 1000}, {"192.0.2.3", 5}, {"192.0.2.2", 1001}, {"192.0.2.1", 3}} {
		d := sflowgen.Datagram{Agent: netip.MustParseAddr(dg.agent), Sequence: dg.seq}
		h.datagram(from, d.Bytes())
	}
	tot := src.Totals()
	if tot.Datagrams != 5 || tot.SequenceErrors != 1 || tot.SequenceLost != 1 {
		t.Errorf("totals %+v: want 5 datagrams and the first agent's one gap (1 lost)", tot)
	}
	if o := &src.agents.overflow; o.Datagrams.Load() != 3 || o.SequenceErrors.Load() != 0 {
		t.Errorf("overflow series: %d datagrams, %d sequence errors", o.Datagrams.Load(), o.SequenceErrors.Load())
	}
}

// The drops a data source reports are cumulative and start again from 0
// when the agent restarts: the reported value follows the agent (down to
// 0), the total adds the increases and, after a restart, the new count
// whole, and a datagram the network delayed changes neither.
func TestSflowAgentDropsAcrossRestarts(t *testing.T) {
	src, err := NewSflow(SflowConfig{Name: "sf", UDP: []string{"127.0.0.1:0"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.set.Store(&sflowSet{})
	h := &sflowHandler{src: src, ctx: context.Background()}
	from := netip.MustParseAddrPort("127.0.0.1:6343")
	key := SflowSourceKey{Agent: sfTestAgent, SourceIDIndex: 3}
	fr := sflowgen.Frame(sflowgen.Packet{Src: sfTestA, Dst: sfTestB, Proto: 6, SrcPort: 1, DstPort: 2})
	var dgSeq uint32
	send := func(sampleSeq, uptime, drops uint32, index uint32) {
		dgSeq++
		d := sflowgen.Datagram{Agent: sfTestAgent, Sequence: dgSeq, Uptime: uptime, Samples: []sflowgen.Sample{
			sflowgen.FlowSample{Sequence: sampleSeq, SourceIDIndex: index, SamplingRate: 1, Drops: drops}.Flow(
				sflowgen.RawHeader(sflow.HeaderEthernet, uint32(len(fr)+4), 4, fr)),
		}}
		h.datagram(from, d.Bytes())
	}
	get := func() (SflowDrops, bool) {
		var out SflowDrops
		found := false
		src.AgentDrops(func(k SflowSourceKey, d SflowDrops) {
			if k == key {
				out, found = d, true
			}
		})
		return out, found
	}
	send(1, 59000, 0, 3) // no drop yet: no series
	if _, ok := get(); ok {
		t.Fatal("a data source that never reported a drop has a series")
	}
	for _, step := range []struct {
		what                     string
		sampleSeq, uptime, drops uint32
		reported                 uint32
		total                    uint64
	}{
		{"first report", 2, 60000, 5, 5, 5},
		{"increase", 3, 61000, 8, 8, 8},
		{"agent restart reports 0", 1, 1000, 0, 0, 8},
		{"drops again after the restart", 2, 2000, 3, 3, 11},
		{"lower count, sequence forward: a reset", 3, 3000, 1, 1, 12},
		{"ahead", 5, 5000, 6, 6, 17},
		{"late datagram (sequence back, uptime 100 ms back)", 4, 4900, 4, 6, 17},
		{"restart with more drops than before", 1, 100, 20, 20, 37},
		{"data source reset (sequence back, uptime forward)", 1, 6000, 2, 2, 39},
		{"no sequence numbers (always the same) still follow", 1, 6000, 2, 2, 39},
		{"and add", 1, 7000, 4, 4, 41},
	} {
		send(step.sampleSeq, step.uptime, step.drops, 3)
		got, ok := get()
		if !ok || got.Reported != step.reported || got.Total != step.total {
			t.Errorf("%s: %+v (found %v), want reported %d, total %d", step.what, got, ok, step.reported, step.total)
		}
	}
	// Another data source of the agent has its own count.
	send(1, 8000, 7, 9)
	n := 0
	src.AgentDrops(func(k SflowSourceKey, d SflowDrops) {
		n++
		if k.SourceIDIndex == 9 && (d.Reported != 7 || d.Total != 7) {
			t.Errorf("second data source: %+v", d)
		}
	})
	if n != 2 {
		t.Errorf("%d data sources, want 2", n)
	}
}
