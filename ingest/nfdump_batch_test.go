package ingest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// A followed directory's files are handed on in batches (a fixed-size
// template), and each file's records arrive while the source waits for
// the next file: none waits for a batch to fill. A template with
// variable-length fields gets every record too, one by one.
func TestNfdumpSourceBatchesAndFlushesWhileFollowing(t *testing.T) {
	golden := filepath.Join(sharedTestdata(t, "netflow"), "nfcapd171")
	flowsA, _, _, _, _ := nfcapdTotals(t, filepath.Join(golden, "softflowd_v9.csv"))
	flowsB, _, _, _, _ := nfcapdTotals(t, filepath.Join(golden, "softflowd_v5.csv"))
	dir := t.TempDir()
	src, err := NewNfdump(NfdumpConfig{Name: "nf", Paths: []string{dir}, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	fixed := &fixedOutput{memOutput: newMemOutput(t, "fixed", biflowSpec)}
	if tm := fixed.tmpl; tm.StaticSize() != tm.FixedSize() || nfdumpBatchLen/tm.StaticSize() <= flowsA+flowsB {
		t.Fatalf("the test needs a fixed-size template and files smaller than a batch (%d bytes a record)", tm.StaticSize())
	}
	variable := newMemOutput(t, "variable", "ipaddr SRC_IP,uint64 BYTES,string LABEL")
	p, err := NewPipeline([]Source{src}, []Output{fixed, variable}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rp runningPipeline
	ctx, cancel := context.WithCancel(context.Background())
	rp.run(ctx, t, cancel, p)
	copyFile(t, filepath.Join(golden, "softflowd_v9.nf"), filepath.Join(dir, "nfcapd.202611221900"))
	waitCount(t, fixed.memOutput, flowsA) // the follower polls for more: the batch must be out
	// fixedOutput counts calls before it locks for the records that
	// waitCount saw, so reading calls now is ordered after the increments.
	if n := fixed.calls; n != 1 {
		t.Errorf("%d records in %d calls, want one batch", flowsA, n)
	}
	copyFile(t, filepath.Join(golden, "softflowd_v5.nf"), filepath.Join(dir, "nfcapd.202611221905"))
	waitCount(t, fixed.memOutput, flowsA+flowsB)
	waitCount(t, variable, flowsA+flowsB)
	if n := fixed.calls; n != 2 {
		t.Errorf("%d calls for two files, want one batch each", n)
	}
	var sent uint64
	for _, st := range p.OutputStats() {
		if st.Name == "fixed" {
			sent = st.Sent
		}
	}
	if sent != uint64(flowsA+flowsB) || fixed.count() != flowsA+flowsB {
		t.Errorf("output counter %d, records %d; want %d", sent, fixed.count(), flowsA+flowsB)
	}
}

// BenchmarkNfdumpSource replays an nfdump file (21000 flows, LZ4, 3 data
// blocks) through the source into one target: read, decompress, convert
// and emit. "count" takes batches and counts them (the source's own cost);
// "file" is a real f: TRAP output in a temp dir, as the daemon would write.
func BenchmarkNfdumpSource(b *testing.B) {
	path := filepath.Join(sharedTestdata(b, "nfdump"), "gen_ipfix_multiblock_lz4.nf")
	tmpl, err := unirec.ParseTemplate(biflowSpec)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		out  func(b *testing.B) Output
	}{
		{"count", func(*testing.B) Output { return &countOutput{tmpl: tmpl} }},
		{"file", func(b *testing.B) Output {
			o, err := NewTrapOutput(TrapOutputConfig{Spec: "f:" + filepath.Join(b.TempDir(), "out.trapcap"), Template: tmpl}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { o.Close(context.Background()) })
			return o
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tg := NewTarget(tmpl, []Output{tc.out(b)}, nil)
			src, err := NewNfdump(NfdumpConfig{Name: "bench", Paths: []string{path}, Workers: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := src.Run(context.Background(), []*Target{tg}); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(tg.Records())
			b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
		})
	}
}
