package ingest

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/flowgate/flowgate/collector"
	"github.com/flowgate/flowgate/unirec"
)

// countOutput counts records and keeps nothing (safe for concurrent use).
type countOutput struct {
	tmpl *unirec.Template
	n    atomic.Uint64
}

func (o *countOutput) Name() string               { return "count" }
func (o *countOutput) Template() *unirec.Template { return o.tmpl }
func (o *countOutput) Send(context.Context, []byte) error {
	o.n.Add(1)
	return nil
}
func (o *countOutput) SendFixed(_ context.Context, data []byte, size int) (int, error) {
	o.n.Add(uint64(len(data) / size))
	return len(data) / size, nil
}
func (o *countOutput) Flush(context.Context) error { return nil }
func (o *countOutput) Close(context.Context) error { return nil }

// decodePath sets up the decode-and-emit path of a collector source in
// the default biflow template, emitting to the output newOut makes, with
// the capture's templates learnt: it returns the source, its target, the
// exporter and the capture's data-only datagrams.
func decodePath(b *testing.B, pcap string, newOut func(*unirec.Template) Output) (*CollectorSource, *Target, netip.AddrPort, [][]byte) {
	dgrams, _ := capturePayloads(b, filepath.Join(sharedTestdata(b, "netflow"), pcap), false)
	tmpl, err := unirec.ParseTemplate(biflowSpec)
	if err != nil {
		b.Fatal(err)
	}
	tg := NewTarget(tmpl, []Output{newOut(tmpl)}, nil)
	src, err := NewCollector(CollectorConfig{Name: "bench", UDP: []string{"127.0.0.1:0"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := collector.NewDecoder(collector.Config{Output: tmpl, TemplateLifetime: -1},
		&targetSink{ctx: context.Background(), tg: tg})
	if err != nil {
		b.Fatal(err)
	}
	src.decs.Store(&decoderSet{targets: []*Target{tg}, decs: []*collector.Decoder{dec}})
	from := netip.MustParseAddrPort("127.0.0.1:9999")
	for _, d := range dgrams {
		src.decode(from, d, false)
	}
	return src, tg, from, dataOnly(dgrams)
}

// decode path of the collector source: decode, convert into the default
// biflow template, emit to an output.
func BenchmarkCollectorSourceDecode(b *testing.B) {
	var out *countOutput
	src, _, from, dgrams := decodePath(b, "flowgen_ipfix_v4v6_sampled.pcap", func(t *unirec.Template) Output {
		out = &countOutput{tmpl: t}
		return out
	})
	out.n.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src.decode(from, dgrams[i%len(dgrams)], false)
	}
	b.ReportMetric(float64(out.n.Load())/b.Elapsed().Seconds(), "records/s")
}

// the whole UDP path over loopback: send, socket read, decode, emit. The
// records/s figure includes the sender's cost on the same machine.
func BenchmarkCollectorSourceUDP(b *testing.B) {
	dir := sharedTestdata(b, "netflow")
	dgrams, _ := capturePayloads(b, filepath.Join(dir, "flowgen_v9_v4v6_sampled.pcap"), false)
	rc := startCollector(b, CollectorConfig{ReceiveBuffer: 16 << 20}, nil, biflowSpec)
	rc.outs[0].keepNothing()
	c, err := net.Dial("udp", rc.src.UDPAddrs()[0].String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for _, d := range dgrams {
		c.Write(d)
	}
	waitFor(b, func() bool { return rc.src.Totals() != nil && rc.src.Totals().Packets.Load() >= uint64(len(dgrams)) })
	dgrams = dataOnly(dgrams)
	r0 := rc.src.Totals().Records.Load()
	p0 := rc.src.Totals().Packets.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Write(dgrams[i%len(dgrams)])
	}
	waitFor(b, func() bool {
		return rc.src.Totals().Packets.Load()+rc.src.SocketDrops() >= p0+uint64(b.N)
	})
	b.ReportMetric(float64(rc.src.Totals().Records.Load()-r0)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(rc.src.SocketDrops()), "drops")
}

// the decode-and-send path into a real f: TRAP output, as the daemon runs
// it: datagrams decoded into batches, each batch written to the file
// output's buffer in one call. The file lives in a temp dir.
func BenchmarkCollectorSourceToFile(b *testing.B) {
	var out *TrapOutput
	src, tg, from, dgrams := decodePath(b, "flowgen_v9_v4v6_sampled.pcap", func(t *unirec.Template) Output {
		o, err := NewTrapOutput(TrapOutputConfig{Spec: "f:" + filepath.Join(b.TempDir(), "out.trapcap"), Template: t}, nil)
		if err != nil {
			b.Fatal(err)
		}
		out = o
		return o
	})
	defer out.Close(context.Background())
	r0 := tg.Records()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src.decode(from, dgrams[i%len(dgrams)], false)
	}
	n := float64(tg.Records() - r0)
	b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	allocs := testing.AllocsPerRun(100, func() { src.decode(from, dgrams[0], false) })
	b.ReportMetric(allocs/(n/float64(b.N)), "allocs/record") // allocations per datagram / records per datagram
}
