package ingest

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowgate/flowgate/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// readTrapFile returns the data format and the records of a trapcap file.
func readTrapFile(t *testing.T, path string) (string, [][]byte) {
	t.Helper()
	specs, err := trap.ParseIFCSpec("f:" + path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := trap.OpenInput(specs[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var recs [][]byte
	for {
		msg, _, err := in.Recv(context.Background())
		if errors.Is(err, io.EOF) || (err == nil && trap.IsEOS(msg)) {
			_, spec := in.DataFormat()
			return spec, recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, append([]byte(nil), msg...))
	}
}

// Records sent from several goroutines at once all arrive whole, under the
// announced UniRec template, followed by the end of stream.
func TestTrapOutputSerialisesConcurrentSenders(t *testing.T) {
	tmpl, err := unirec.ParseTemplate("uint32 PACKETS,uint64 BYTES")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.trapcap")
	out, err := NewTrapOutput(TrapOutputConfig{Spec: "f:" + path, Template: tmpl, DefaultTimeout: trap.HalfWait}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := tmpl.Lookup("PACKETS")
	const senders, each = 4, 500
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := tmpl.NewRecord()
			for i := 0; i < each; i++ {
				rec.SetUint32(pk, uint32(g*each+i))
				if err := out.Send(context.Background(), rec.Data); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ctx := context.Background()
	if err := out.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.EndStream(ctx); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	spec, recs := readTrapFile(t, path)
	if spec != tmpl.Spec() {
		t.Errorf("announced %q, want %q", spec, tmpl.Spec())
	}
	if len(recs) != senders*each {
		t.Fatalf("%d records, want %d", len(recs), senders*each)
	}
	seen := make([]bool, senders*each)
	for _, b := range recs {
		r, err := tmpl.Wrap(b)
		if err != nil {
			t.Fatal(err)
		}
		seen[r.Uint32(pk)] = true
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("record %d missing", i)
		}
	}
	if out.Name() != "f:"+path || out.Template() != tmpl || out.Stats().SentMessages == 0 {
		t.Errorf("name %q, stats %+v", out.Name(), out.Stats())
	}
}

func TestNewTrapOutputRejects(t *testing.T) {
	tmpl, _ := unirec.ParseTemplate("uint32 PACKETS")
	for _, tc := range []struct {
		name string
		cfg  TrapOutputConfig
		want string
	}{
		{"no template", TrapOutputConfig{Spec: "b:"}, "no template"},
		{"bad spec", TrapOutputConfig{Spec: "q:1", Template: tmpl}, `trap output "q:1"`},
		{"two interfaces", TrapOutputConfig{Spec: "b:,b:", Template: tmpl}, "exactly one interface"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewTrapOutput(tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Emitting through a target into a TRAP output costs no allocation per record.
func BenchmarkTargetEmitTrapOutput(b *testing.B) {
	tmpl, err := unirec.ParseTemplate(biflowSpec)
	if err != nil {
		b.Fatal(err)
	}
	out, err := NewTrapOutput(TrapOutputConfig{Spec: "b:", Template: tmpl}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close(context.Background())
	tg := NewTarget(tmpl, []Output{out}, nil)
	rec := tmpl.NewRecord()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tg.Emit(ctx, rec.Data)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// An output with a filter sends only the records that pass and counts
// the others.
func TestTrapOutputFilter(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Send", true: "SendFixed"}[batch], func(t *testing.T) { testTrapOutputFilter(t, batch) })
	}
}

func testTrapOutputFilter(t *testing.T, batch bool) {
	tmpl, err := unirec.ParseTemplate("uint16 DST_PORT,uint8 PROTOCOL")
	if err != nil {
		t.Fatal(err)
	}
	e, err := filter.Parse("PROTOCOL == 6 && DST_PORT in [22, 3389]")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.trapcap")
	out, err := NewTrapOutput(TrapOutputConfig{Spec: "f:" + path, Template: tmpl, DefaultTimeout: trap.HalfWait, Filter: e}, nil)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := tmpl.Lookup("DST_PORT")
	proto, _ := tmpl.Lookup("PROTOCOL")
	r := tmpl.NewRecord()
	ctx := context.Background()
	var all []byte
	for _, v := range []struct {
		port  uint16
		proto uint8
	}{{22, 6}, {22, 17}, {80, 6}, {3389, 6}} {
		r.SetUint16(port, v.port)
		r.SetUint8(proto, v.proto)
		if batch {
			all = append(all, r.Data...)
		} else if err := out.Send(ctx, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if batch {
		if n, err := out.SendFixed(ctx, all, tmpl.StaticSize()); n != 4 || err != nil {
			t.Fatalf("SendFixed: %d, %v; want 4 records dealt with", n, err)
		}
	}
	out.EndStream(ctx)
	if err := out.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, recs := readTrapFile(t, path)
	if len(recs) != 2 || out.Filtered() != 2 {
		t.Fatalf("%d records sent, %d filtered; want 2 and 2", len(recs), out.Filtered())
	}
	for _, b := range recs {
		rec, _ := tmpl.Wrap(b)
		if p := rec.Uint16(port); p != 22 && p != 3389 {
			t.Errorf("record with DST_PORT %d passed", p)
		}
	}
}
