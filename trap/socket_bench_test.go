package trap

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"
)

// A 66-byte basic-flow record (sessions.md, first record).
var benchRecord = []byte{
	0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xa8, 1, 1, 0xff, 0xff, 0xff, 0xff,
	0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 0xff, 0xff, 0xff, 0xff,
	0xdc, 5, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0x20, 2, 0xa5, 0x65,
	0, 0, 0, 0x80, 0x21, 2, 0xa5, 0x65,
	3, 0, 0, 0, 80, 0, 0x22, 0xc8, 6, 0x1b,
}

const benchSpec = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 PROTOCOL,uint8 TCP_FLAGS"

// warmRing sends twice the ring's worth of containers: the ring's buffers
// are allocated on first use, which is not the steady state measured.
func warmRing(b *testing.B, out *Output) {
	b.Helper()
	data := bytes.Repeat(benchRecord, 1024)
	for range 2 * DefaultBufferCount * (MaxPayload / len(data)) {
		if _, err := out.SendFixed(context.Background(), data, len(benchRecord)); err != nil {
			b.Fatal(err)
		}
	}
}

// Send into a u: output with one client draining it.
func BenchmarkSocketOutputSend(b *testing.B) {
	out, so := newTestOutput(b, testEnv(b), "u:bench")
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	c := outputDial(b, so)
	go io.Copy(io.Discard, c)
	waitClients(b, so, 1)
	ctx := context.Background()
	warmRing(b, out)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := out.Send(ctx, benchRecord); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// SendFixed in batches of 64 records: one lock per batch.
func BenchmarkSocketOutputSendFixed(b *testing.B) {
	out, so := newTestOutput(b, testEnv(b), "u:benchfixed")
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	c := outputDial(b, so)
	go io.Copy(io.Discard, c)
	waitClients(b, so, 1)
	const batch = 64
	data := bytes.Repeat(benchRecord, batch)
	ctx := context.Background()
	warmRing(b, out)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := out.SendFixed(ctx, data, len(benchRecord)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "records/s")
}

// Recv from a u: input fed by our own output.
func BenchmarkSocketInputRecv(b *testing.B) {
	e := testEnv(b)
	out, so := newTestOutput(b, e, "u:benchin:timeout=HALF_WAIT")
	if err := out.SetDataFormat(FormatUniRec, benchSpec); err != nil {
		b.Fatal(err)
	}
	in, _ := newTestInput(b, e, "u:benchin")
	in.SetRequiredFormat(FormatUniRec, benchSpec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for so.stats().Clients == 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		for ctx.Err() == nil {
			if err := out.Send(ctx, benchRecord); err != nil {
				return
			}
		}
	}()
	// The first Recv connects and negotiates.
	if _, _, err := in.Recv(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, _, err := in.Recv(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != len(benchRecord) {
			b.Fatalf("record of %d bytes", len(m))
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
