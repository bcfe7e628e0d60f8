package unirec

import (
	"bytes"
	"strings"
	"testing"
)

// TestLoggerTextGolden decodes every record of NAME.trapcap and checks that
// AppendHeader + AppendText reproduce the C logger's NAME.logger.txt byte
// for byte.
func TestLoggerTextGolden(t *testing.T) {
	for _, name := range []string{"basic_flows", "strings", "arrays"} {
		t.Run(name, func(t *testing.T) {
			tm, recs := goldenRecords(t, name)
			want := readGolden(t, name+".logger.txt")
			var out []byte
			out = tm.AppendHeader(out, ',')
			out = append(out, '\n')
			for i, m := range recs {
				r, err := tm.Wrap(m)
				if err != nil {
					t.Fatalf("record %d: %v", i+1, err)
				}
				out = r.AppendText(out, ',')
				out = append(out, '\n')
			}
			if !bytes.Equal(out, want) {
				gl, wl := strings.Split(string(out), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("line %d\n got %s\nwant %s", i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("output has %d lines, want %d", len(gl), len(wl))
			}
		})
	}
}
