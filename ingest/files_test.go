package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/ingest/meter"
	"github.com/flowgate/flowgate/unirec"
)

func runSource(t *testing.T, src Source, specs ...string) []*memOutput {
	t.Helper()
	var outs []Output
	var mems []*memOutput
	for i, s := range specs {
		o := newMemOutput(t, "out"+string(rune('a'+i)), s)
		outs, mems = append(outs, o), append(mems, o)
	}
	p, err := NewPipeline([]Source{src}, outs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return mems
}

// nfcapd's own files replay with the flow count and totals nfdump prints.
func TestNfdumpSourceReplaysNfcapdFiles(t *testing.T) {
	dir := filepath.Join(sharedTestdata(t, "netflow"), "nfcapd171")
	for _, name := range []string{"softflowd_v9", "flowgen_v9_v4v6_sampled"} {
		t.Run(name, func(t *testing.T) {
			src, err := NewNfdump(NfdumpConfig{Name: "nf", Paths: []string{filepath.Join(dir, name+".nf")}})
			if err != nil {
				t.Fatal(err)
			}
			outs := runSource(t, src, biflowSpec)
			flows, pkts, bytes, _, _ := nfcapdTotals(t, filepath.Join(dir, name+".csv"))
			recs := outs[0].records()
			if len(recs) != flows || totals(t, recs, "PACKETS") != pkts || totals(t, recs, "BYTES") != bytes {
				t.Errorf("got %d flows %d pkts %d bytes, nfdump says %d %d %d",
					len(recs), totals(t, recs, "PACKETS"), totals(t, recs, "BYTES"), flows, pkts, bytes)
			}
		})
	}
}

// The pcap source emits what the flow meter exports, converted into the
// output template.
func TestPcapSourceEmitsMeteredFlows(t *testing.T) {
	path := filepath.Join(sharedTestdata(t, "pcap"), "mixed.pcap")
	var want []unirec.Record
	m, err := meter.New(meter.Config{}, func(r unirec.Record) error { want = append(want, r.Clone()); return nil })
	if err != nil {
		t.Fatal(err)
	}
	fs, err := meter.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	src, err := NewPcap(PcapConfig{Name: "pcap", Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	outs := runSource(t, src, meter.BasicSpec, "uint64 BYTES,uint32 PACKETS,uint8 TOS")
	for _, o := range outs {
		got := o.records()
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%s: %d records, meter exported %d", o.name, len(got), len(want))
		}
		if totals(t, got, "BYTES") != totals(t, want, "BYTES") || totals(t, got, "PACKETS") != totals(t, want, "PACKETS") {
			t.Errorf("%s: totals differ from the meter's", o.name)
		}
	}
}

// A logger CSV archive replays record for record, into a narrower template too.
func TestCSVSourceReplaysLoggerArchive(t *testing.T) {
	path := filepath.Join(sharedTestdata(t, "trap"), "basic_flows.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Count(strings.TrimSpace(string(data)), "\n")
	src, err := NewCSV(CSVConfig{Name: "csv", Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	outs := runSource(t, src, biflowSpec, "uint32 PACKETS")
	for _, o := range outs {
		if o.count() != rows {
			t.Errorf("%s: %d records, file has %d rows", o.name, o.count(), rows)
		}
	}
	if a, b := totals(t, outs[0].records(), "PACKETS"), totals(t, outs[1].records(), "PACKETS"); a != b || a == 0 {
		t.Errorf("PACKETS totals %d and %d, want equal and non-zero", a, b)
	}
}

func TestFileSourcesReportBadInput(t *testing.T) {
	dir := t.TempDir()
	badCSV := filepath.Join(dir, "bad.csv")
	os.WriteFile(badCSV, []byte("uint32 PACKETS\n1\nxyz\n"), 0o644)
	noHeader := filepath.Join(dir, "empty.csv")
	os.WriteFile(noHeader, nil, 0o644)
	garbage := filepath.Join(dir, "garbage.nf")
	os.WriteFile(garbage, []byte("this is not nfdump"), 0o644)
	mk := func(f func() (Source, error)) Source {
		s, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		src  Source
		want string
	}{
		{"csv bad row names file and line", mk(func() (Source, error) { return NewCSV(CSVConfig{Name: "c", Paths: []string{badCSV}}) }), "bad.csv:3"},
		{"csv without header", mk(func() (Source, error) { return NewCSV(CSVConfig{Name: "c", Paths: []string{noHeader}}) }), "no header line"},
		{"nfdump garbage", mk(func() (Source, error) { return NewNfdump(NfdumpConfig{Name: "n", Paths: []string{garbage}}) }), "source n: nfdump: " + garbage + ": offset 0: malformed file"},
		{"pcap garbage", mk(func() (Source, error) { return NewPcap(PcapConfig{Name: "p", Paths: []string{garbage}}) }), "pcap source p"},
		{"missing file", mk(func() (Source, error) {
			return NewCSV(CSVConfig{Name: "c", Paths: []string{filepath.Join(dir, "nope")}})
		}), "no such file"},
		{"glob without match", mk(func() (Source, error) {
			return NewCSV(CSVConfig{Name: "c", Paths: []string{filepath.Join(dir, "*.zzz")}})
		}), "matches no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newMemOutput(t, "o", "uint32 PACKETS")
			p, err := NewPipeline([]Source{tc.src}, []Output{o}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestExpandPaths(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"nfcapd.202401010005", "nfcapd.202401010000", "other.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
	}{
		{"directory lists its files by name", []string{dir}, []string{"nfcapd.202401010000", "nfcapd.202401010005", "other.txt"}},
		{"glob sorted", []string{filepath.Join(dir, "nfcapd.*")}, []string{"nfcapd.202401010000", "nfcapd.202401010005"}},
		{"file as given", []string{filepath.Join(dir, "other.txt")}, []string{"other.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expandPaths(tc.paths)
			if err != nil {
				t.Fatal(err)
			}
			var base []string
			for _, g := range got {
				base = append(base, filepath.Base(g))
			}
			if strings.Join(base, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", base, tc.want)
			}
		})
	}
	if _, err := expandPaths(nil); err == nil {
		t.Error("no paths: want an error")
	}
	if _, err := expandPaths([]string{filepath.Join(dir, "sub")}); err == nil {
		t.Error("empty directory: want an error")
	}
}
