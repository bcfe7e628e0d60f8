package unirec

import "testing"

// TestSteadyStateAllocs checks that per-record work does not allocate once
// buffers are warm: decoding and printing golden records, and parsing rows.
func TestSteadyStateAllocs(t *testing.T) {
	for _, name := range []string{"basic_flows", "strings", "arrays"} {
		t.Run(name, func(t *testing.T) {
			tm, msgs := goldenRecords(t, name)
			buf := make([]byte, 0, 1024)
			if n := testing.AllocsPerRun(20, func() {
				for _, m := range msgs {
					r, err := tm.Wrap(m)
					if err != nil {
						t.Fatal(err)
					}
					buf = r.AppendText(buf[:0], ',')
				}
			}); n != 0 {
				t.Errorf("Wrap+AppendText: %v allocs per pass", n)
			}
			lines := goldenLines(name + ".csv")
			h, err := ParseCSVHeader(lines[0])
			if err != nil {
				t.Fatal(err)
			}
			rows := make([][]byte, 0, len(lines))
			for _, l := range lines[1:] {
				rows = append(rows, []byte(l))
			}
			rec := h.T.NewRecord()
			if n := testing.AllocsPerRun(20, func() {
				for _, row := range rows {
					if _, err := h.ParseRow(row, &rec); err != nil {
						t.Fatal(err)
					}
				}
			}); n != 0 {
				t.Errorf("ParseRow: %v allocs per pass", n)
			}
		})
	}
}
