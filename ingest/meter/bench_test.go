package meter

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/flowgate/flowgate/unirec"
)

// benchFrames builds 4 packets (2 each way) for each of nFlows TCP flows.
func benchFrames(nFlows int) [][]byte {
	out := make([][]byte, 0, 4*nFlows)
	payload := make([]byte, 64)
	for i := 0; i < nFlows; i++ {
		src := []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		dst := []byte{192, 0, 2, byte(i % 7)}
		sport := uint16(1024 + i%50000)
		a := frame(l4{proto: protoTCP, sport: sport, dport: 443, flags: 0x18, payload: payload, src: src, dst: dst, srcMAC: macA, dstMAC: macB, vlans: []uint16{10}})
		b := frame(l4{proto: protoTCP, sport: 443, dport: sport, flags: 0x10, payload: payload, src: dst, dst: src, srcMAC: macB, dstMAC: macA, vlans: []uint16{10}})
		out = append(out, a, b, a, b)
	}
	// Interleave flows so that consecutive packets hit different flows.
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkParseCache measures parsing plus flow cache accounting over a
// working set of 50,000 flows (all resident, so this is the steady state).
func BenchmarkParseCache(b *testing.B) {
	frames := benchFrames(50000)
	c, err := NewCache(CacheConfig{}, nil, func(*Flow) {})
	if err != nil {
		b.Fatal(err)
	}
	var p Packet
	for _, f := range frames { // warm: create every flow once
		_ = Parse(LinkEthernet, f, &p)
		c.Add(&p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if err := Parse(LinkEthernet, frames[i%len(frames)], &p); err != nil {
			b.Fatal(err)
		}
		c.Add(&p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "packets/cpu-s")
	}
}

// BenchmarkMeterRecords meters packets into basic+http+vlan records: each
// 50,000-flow round is flushed, so flows are created, filled and exported
// continuously. records/s counts exported records.
func BenchmarkMeterRecords(b *testing.B) {
	frames := benchFrames(50000)
	var recs int
	m, err := New(Config{Plugins: []string{"basic", "http", "vlan"}}, func(r unirec.Record) error {
		recs++
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for _, f := range frames { // warm the slots' lazily allocated state
		_ = m.Packet(LinkEthernet, f, ts)
	}
	_ = m.Flush()
	recs = 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		k := i % len(frames)
		if k == 0 && i > 0 {
			_ = m.Flush()
		}
		if err := m.Packet(LinkEthernet, frames[k], ts); err != nil {
			b.Fatal(err)
		}
	}
	_ = m.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "packets/cpu-s")
	}
}

func TestMeterSteadyStateDoesNotAllocate(t *testing.T) {
	frames := benchFrames(500)
	// Flows that exercise every plugin's parser and Fill.
	frames = append(frames,
		tcp(true, 50001, 80, 0x18, []byte("GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\n\r\n")),
		tcp(false, 80, 50001, 0x18, []byte("HTTP/1.1 200 OK\r\nServer: s\r\nSet-Cookie: a=1\r\n\r\n")),
		tcp(true, 50001, 80, 0x18, []byte("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")),
		udp(true, 40000, 53, dnsMsg(9, false)), udp(false, 53, 40000, dnsMsg(9, true)),
		tcp(true, 50002, 443, 0x18, clientHello()), tcp(false, 443, 50002, 0x18, serverHello()),
		udp(true, 1900, 1900, []byte("NOTIFY * HTTP/1.1\r\nNT: x\r\nLOCATION: http://h:5/\r\n\r\n")),
	)
	var recs int
	m, err := New(Config{Plugins: PluginNames(), Cache: CacheConfig{Size: 1024}}, func(unirec.Record) error { recs++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	round := func() {
		for _, f := range frames {
			_ = m.Packet(LinkEthernet, f, ts)
		}
		_ = m.Flush()
	}
	round()
	if recs != 500+6 {
		t.Fatalf("%d records in the first round, want 506 (http splits at its second request, dns query and response are flows of their own)", recs)
	}
	if n := testing.AllocsPerRun(5, round); n != 0 {
		t.Errorf("%v allocations per round of %d packets", n, len(frames))
	}
}

// BenchmarkPluginFlows meters application traffic through every plugin:
// per round of 1000 flows each of TLS (client and server hello), HTTP
// (request and response), DNS (query and response) and SSDP (NOTIFY), then
// a flush. records/s counts exported records.
func BenchmarkPluginFlows(b *testing.B) {
	var frames [][]byte
	ch, sh := chrome13().bytes(), hello{server: true, exts: []tlsExt{extServerVersion(0x0304)}}.bytes()
	for i := 0; i < 1000; i++ {
		p := uint16(20000 + i)
		frames = append(frames,
			tcp(true, p, 443, 0x18, ch), tcp(false, 443, p, 0x18, sh),
			tcp(true, p, 80, 0x18, httpReq("/x", "Host: h.example", "User-Agent: bench/1")),
			tcp(false, 80, p, 0x18, httpResp("200", "Server: s", "Set-Cookie: a=1")),
			udp(true, p, 53, dnsMsg(uint16(i), false)), udp(false, 53, p, dnsMsg(uint16(i), true)),
			udp(true, p, 1900, []byte(notifyMsg("NT: urn:schemas-upnp-org:device:X:1", "LOCATION: http://10.0.0.1:80/d.xml"))),
		)
	}
	var recs int
	m, err := New(Config{Plugins: PluginNames()}, func(unirec.Record) error { recs++; return nil })
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for _, f := range frames {
		_ = m.Packet(LinkEthernet, f, ts)
	}
	_ = m.Flush()
	recs = 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(frames)
		if k == 0 && i > 0 {
			_ = m.Flush()
		}
		if err := m.Packet(LinkEthernet, frames[k], ts); err != nil {
			b.Fatal(err)
		}
	}
	_ = m.Flush()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(recs)/b.Elapsed().Seconds(), "records/s")
}
