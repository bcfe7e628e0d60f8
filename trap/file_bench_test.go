package trap

import (
	"context"
	"path/filepath"
	"testing"
)

func BenchmarkFileOutputSend(b *testing.B) {
	o := mustOutput(b, "f:"+filepath.Join(b.TempDir(), "bench.trapcap"), nil)
	o.setFormat(Hello{Format: FormatUniRec, Spec: "uint64 BYTES"})
	out := newOutput(o, IfcSpec{Raw: "f:bench"})
	out.hello, out.hasFmt = o.hello, true
	ctx := context.Background()
	rec := make([]byte, 66)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := out.Send(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := out.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkFileInputRecv(b *testing.B) {
	const records = 200000
	path := filepath.Join(b.TempDir(), "bench.trapcap")
	o := mustOutput(b, "f:"+path, nil)
	o.setFormat(Hello{Format: FormatUniRec, Spec: "uint64 BYTES"})
	rec := make([]byte, 66)
	ctx := context.Background()
	for i := 0; i < records; i++ {
		if err := o.send(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := o.close(ctx); err != nil {
		b.Fatal(err)
	}
	in := mustInput(b, "f:"+path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		msg, _, err := in.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(msg) == 0 { // end of the file: start it again
			b.StopTimer()
			in.Close()
			in = mustInput(b, "f:"+path)
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
