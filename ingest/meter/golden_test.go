package meter

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowgate/flowgate/unirec"
)

// meterFile meters a capture with the given plugins and returns logger -t
// style lines (header first, then one line per record), unsorted.
func meterFile(t *testing.T, path string, plugins ...string) ([]string, Stats) {
	t.Helper()
	var lines []string
	m, err := New(Config{Plugins: plugins}, func(r unirec.Record) error {
		lines = append(lines, string(r.AppendText(nil, ',')))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := m.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return append([]string{string(m.Template().AppendHeader(nil, ','))}, lines...), m.Stats()
}

// TestMeterMatchesIpfixprobe compares with ipfixprobe's functional test
// outputs the same way its test script does: sort both and diff.
func TestMeterMatchesIpfixprobe(t *testing.T) {
	dir := pcapTestdata(t)
	tests := []struct {
		pcap, plugin string
	}{
		{"mixed.pcap", "basic"},
		{"http.pcap", "http"},
		{"vlan.pcap", "vlan"},
	}
	for _, tc := range tests {
		t.Run(tc.plugin, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, "expected", tc.plugin))
			if err != nil {
				t.Fatal(err)
			}
			wantLines := strings.Split(strings.TrimRight(string(want), "\n"), "\n")
			got, _ := meterFile(t, filepath.Join(dir, tc.pcap), tc.plugin)
			slices.Sort(got)
			slices.Sort(wantLines)
			missing, extra := diffLines(wantLines, got)
			for _, l := range missing {
				t.Errorf("missing: %s", l)
			}
			for _, l := range extra {
				t.Errorf("extra:   %s", l)
			}
		})
	}
}

// diffLines returns lines only in want and lines only in got (both sorted).
func diffLines(want, got []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j >= len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i >= len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}
