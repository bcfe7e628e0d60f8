package ipblacklist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/internal/testutil"
	"github.com/flowgate/flowgate/internal/testutil/trapcap"
	"github.com/flowgate/flowgate/unirec"
)

func TestGoldenScenarios(t *testing.T) {
	dir := testutil.SharedTestdata(t, "detectors/ipblacklistfilter")
	cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
	if len(cmds) == 0 {
		t.Fatal("no scenarios")
	}
	for _, c := range cmds {
		name := strings.TrimSuffix(filepath.Base(c), ".cmd")
		for _, cs := range []bool{false, true} {
			t.Run(name, func(t *testing.T) {
				lists, warns, err := LoadFiles(filepath.Join(dir, name+".ip4.blist"), filepath.Join(dir, name+".ip6.blist"))
				if err != nil {
					t.Fatal(err)
				}
				for _, w := range warns {
					t.Errorf("warning: %v", w)
				}
				f, err := New(lists, Options{CSearch: cs})
				if err != nil {
					t.Fatal(err)
				}
				in := trapcap.Read(t, filepath.Join(dir, name+".trapcap"))
				if err := f.Bind(in.Tmpl); err != nil {
					t.Fatal(err)
				}
				ot, _ := unirec.ParseTemplate(OutputSpec)
				got := string(ot.AppendHeader(nil, ',')) + "\n"
				emit := func(a unirec.Record) error {
					got += string(a.AppendText(nil, ',')) + "\n"
					return nil
				}
				for _, r := range in.Records {
					if err := f.Process(r, emit); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(filepath.Join(dir, name+".logger.txt"))
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Fatalf("csearch %v: output differs from the C filter's\n--- got\n%s--- want\n%s", cs, got, want)
				}
			})
		}
	}
}
