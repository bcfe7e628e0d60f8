package ingest

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

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
