package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowgate/flowgate/converters"
	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/nfdump"
	"github.com/flowgate/flowgate/nfdump/filter"
	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// blackholeSender is a sender into a b: output with the given options.
func blackholeSender(t testing.TB, o options, flt string) *sender {
	t.Helper()
	sp, err := trap.ParseIFCSpec("b:")
	if err != nil {
		t.Fatal(err)
	}
	out, err := trap.OpenOutput(sp[0], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close(context.Background()) })
	tmpl, err := unirec.ParseTemplate(o.templText)
	if err != nil {
		t.Fatal(err)
	}
	if err := out.SetDataFormat(trap.FormatUniRec, tmpl.Spec()); err != nil {
		t.Fatal(err)
	}
	conv, err := converters.NewNfdumpConverter(tmpl, converters.NfdumpOptions{LinkBitField: o.linkMask, DirFromInput: o.dirBits})
	if err != nil {
		t.Fatal(err)
	}
	var f *filter.Filter
	if flt != "" {
		if f, err = filter.Compile(flt); err != nil {
			t.Fatal(err)
		}
	}
	return newSender(out, conv, f, o, io.Discard, io.Discard)
}

// Sending a record (convert, -T, -D, pacing, dots, TRAP send) allocates
// nothing, for both templates.
func TestSendAllocatesNothing(t *testing.T) {
	r := &nfdump.Record{FirstMs: 1700000000010, LastMs: 1700000001999, Packets: 3, Bytes: 300, Proto: 6, Input: 2}
	for _, tc := range []struct {
		name  string
		templ string
	}{{"basic", converters.NfreaderTemplate}, {"rich", converters.NfdumpRichTemplate}} {
		t.Run(tc.name, func(t *testing.T) {
			o := options{limit: -1, linkMask: 1, templText: tc.templ, nowTimes: true, dirBits: true, dotEvery: 10, rate: 1 << 40}
			s := blackholeSender(t, o, "")
			ctx := context.Background()
			if a := testing.AllocsPerRun(1000, func() {
				if err := s.send(ctx, r, nil); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				t.Errorf("send allocates %v per record", a)
			}
		})
	}
}

// -r and -R ask the pacer for the delays their schedule needs.
func TestPacerSchedules(t *testing.T) {
	base := time.Unix(1700000000, 0)
	tests := []struct {
		name     string
		rate     int64
		realTime bool
		firstMs  []int64         // per record
		elapsed  []time.Duration // clock when each record is due to be sent
		want     []time.Duration // requested sleeps
	}{
		{"unpaced never sleeps", 0, false, []int64{0, 0, 0}, []time.Duration{0, 0, 0}, nil},
		{"rate 100 spaces records by 10 ms", 100, false, []int64{0, 0, 0, 0}, []time.Duration{0, 0, 0, 25 * time.Millisecond},
			[]time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 5 * time.Millisecond}},
		{"rate behind schedule does not sleep", 1000, false, []int64{0, 0}, []time.Duration{0, time.Second}, nil},
		{"real time follows start times", 0, true, []int64{1000, 1500, 1200, 4000}, []time.Duration{0, 0, 0, time.Second},
			[]time.Duration{500 * time.Millisecond, 200 * time.Millisecond, 2 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPacer(tc.rate, tc.realTime)
			var clock time.Duration
			var slept []time.Duration
			p.now = func() time.Time { return base.Add(clock) }
			p.sleep = func(_ context.Context, d time.Duration) error {
				slept = append(slept, d)
				return nil
			}
			for i := range tc.firstMs {
				clock = tc.elapsed[i]
				if err := p.wait(context.Background(), int64(i), tc.firstMs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if len(slept) != len(tc.want) {
				t.Fatalf("slept %v, want %v", slept, tc.want)
			}
			for i := range slept {
				if slept[i] != tc.want[i] {
					t.Errorf("sleep %d = %v, want %v", i, slept[i], tc.want[i])
				}
			}
		})
	}
}

func TestPacerStopsWhenCancelled(t *testing.T) {
	p := newPacer(0, true)
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.wait(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.wait(ctx, 1, 3600_000); err == nil {
		t.Error("wait for a record an hour ahead returned nil after cancel")
	}
}

func BenchmarkNfreaderSend(b *testing.B) {
	// NFREADER_BENCH_FILE selects another nfdump file, e.g. the one
	// bench/nfdump.sh generates.
	path := os.Getenv("NFREADER_BENCH_FILE")
	if path == "" {
		path = filepath.Join(testutil.SharedTestdata(b, "nfdump"), "gen_ipfix_multiblock_lz4.nf")
	}
	for _, tc := range []struct {
		name, templ, filter string
	}{
		{"basic", converters.NfreaderTemplate, ""},
		{"rich", converters.NfdumpRichTemplate, ""},
		{"basic_filtered", converters.NfreaderTemplate, "proto tcp and dst port 443"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := blackholeSender(b, options{limit: -1, linkMask: 1, templText: tc.templ}, tc.filter)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.sendFile(ctx, path); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.sent)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
