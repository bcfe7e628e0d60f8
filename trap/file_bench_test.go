package trap

import (
	"context"
	"os"
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

// BenchmarkFileOutputSendFixed sends 90-byte records (a collector's flow
// records) to a buffered f: output in runs of 32 (one datagram's worth)
// through Output.SendFixed, as the flowgate daemon does; one op is one
// record, so ns/op is ns per record. "file" writes a temporary file (the
// kernel's write path included), "devnull" /dev/null (the output's own
// work, nearly).
func BenchmarkFileOutputSendFixed(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"file", ""},
		{"devnull", os.DevNull},
	} {
		b.Run(bc.name, func(b *testing.B) {
			path := bc.path
			if path == "" {
				path = filepath.Join(b.TempDir(), "bench.trapcap")
			}
			benchSendFixed(b, path)
		})
	}
}

func benchSendFixed(b *testing.B, path string) {
	const size, run = 90, 32
	out, err := OpenOutput(IfcSpec{Kind: KindFile, Raw: "f:" + path, Params: []string{path}, Buffer: true, Autoflush: DefaultAutoflush}, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := out.SetDataFormat(FormatUniRec, "uint64 BYTES"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, size*run)
	for i := range data {
		data[i] = byte(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		k := min(run, b.N-sent)
		n, err := out.SendFixed(ctx, data[:k*size], size)
		if err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	if err := out.Close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
