package trap

import (
	"bytes"
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// benchProducer stands in for the Kafka client: it keeps the produced
// records, and the benchmark acknowledges them between sends (a promise
// must not run under the output's lock, as franz-go runs it in its own
// goroutine).
type benchProducer struct {
	recs     []*kgo.Record
	promises []func(*kgo.Record, error)
	bytes    int
}

func (p *benchProducer) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	p.recs = append(p.recs, r)
	p.promises = append(p.promises, promise)
	p.bytes += len(r.Value)
}

func (p *benchProducer) ack() {
	for i, r := range p.recs {
		p.promises[i](r, nil)
	}
	p.recs, p.promises = p.recs[:0], p.promises[:0]
}

func (p *benchProducer) Flush(context.Context) error { return nil }
func (p *benchProducer) Close()                      {}

// benchKafkaOutput is a k: output over benchProducer with parts partitions.
func benchKafkaOutput(b testing.TB, spec string, parts int) (*Output, *benchProducer) {
	sp := kSpec(b, spec)
	ks, err := parseKafkaSpec(sp)
	if err != nil {
		b.Fatal(err)
	}
	o := newKafkaOutputWith(ks, sp, zap.NewNop())
	p := &benchProducer{}
	o.prod = p
	o.meta = func(context.Context) (int, error) { return parts, nil }
	out := newOutput(o, sp)
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { out.Close(context.Background()) })
	return out, p
}

// benchRecords are 64 basic-flow records from 64 source addresses.
func benchRecords() []byte {
	var all []byte
	for i := range 64 {
		r := bytes.Clone(benchRecord)
		r[16+11] = byte(i) // SRC_IP follows DST_IP: 10.0.0.i
		all = append(all, r...)
	}
	return all
}

// The producer path of a k: output: records into per-partition
// containers, each container into a Kafka record, without the network.
// One op is one record.
func BenchmarkKafkaProducerSend(b *testing.B) {
	for _, tc := range []struct{ name, spec string }{
		{"keyed", "k:flows:127.0.0.1:9092:key=SRC_IP"},
		{"round-robin", "k:flows:127.0.0.1:9092"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			out, p := benchKafkaOutput(b, tc.spec, 8)
			recs := benchRecords()
			n := len(benchRecord)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if err := out.Send(ctx, recs[i*n:(i+1)*n]); err != nil {
					b.Fatal(err)
				}
				i = (i + 1) & 63
				if len(p.recs) > 0 {
					p.ack()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// SendFixed in batches of 64 records (one lock per batch). One op is one
// batch; allocs/op is therefore per 64 records.
func BenchmarkKafkaProducerSendFixed(b *testing.B) {
	out, p := benchKafkaOutput(b, "k:flows:127.0.0.1:9092:key=SRC_IP", 8)
	recs := benchRecords()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := out.SendFixed(ctx, recs, len(benchRecord)); err != nil {
			b.Fatal(err)
		}
		if len(p.recs) > 0 {
			p.ack()
		}
	}
	b.ReportMetric(float64(b.N)*64/b.Elapsed().Seconds(), "records/s")
}

// Steady-state sends allocate nothing: containers, their Kafka records and
// promises are reused once acknowledged.
func TestKafkaProducerPathAllocatesNothing(t *testing.T) {
	out, p := benchKafkaOutput(t, "k:flows:127.0.0.1:9092:key=SRC_IP", 8)
	recs := benchRecords()
	ctx := context.Background()
	send := func() {
		if _, err := out.SendFixed(ctx, recs, len(benchRecord)); err != nil {
			t.Fatal(err)
		}
		if len(p.recs) > 0 {
			p.ack()
		}
	}
	for range 20000 { // warm up: every partition's containers and the pools exist
		send()
	}
	if a := testing.AllocsPerRun(2000, send); a != 0 {
		t.Errorf("%.2f allocations per 64 records", a)
	}
}
